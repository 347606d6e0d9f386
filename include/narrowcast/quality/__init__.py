"""The quality gate: Great Expectations suites per raw table, quarantine of failing rows."""
