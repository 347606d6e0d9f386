#!/usr/bin/env bash
# The project's test command (README: `make test`; CI: .ci/run). Lint, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS=False DO_NOT_TRACK=1 SCARF_NO_ANALYTICS=true
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
mkdir -p test-output

echo "== ruff"
$BIN/ruff check .

# The dbt templater and `dbt parse` open the profile's DuckDB file: give them a scratch one.
LINT_DB="$PWD/test-output/lint-warehouse.duckdb"

echo "== sqlfluff"
NARROWCAST_WAREHOUSE="$LINT_DB" $BIN/sqlfluff lint dbt_project/models --disable-progress-bar --processes 2

echo "== dbt manifest (Cosmos renders the transform DAG from it)"
NARROWCAST_WAREHOUSE="$LINT_DB" $BIN/dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet

echo "== pytest"
set +e
# Two workers (the machine has two cores); tests/conftest.py keeps the tests of an expensive session fixture
# (tests/xdist_groups.py), and of each module, on one worker; the groups start in collection order (the DAG and dbt tests, the heaviest, first).
$BIN/pytest -p no:cacheprovider -n "${NARROWCAST_TEST_WORKERS:-2}" --dist loadscope --no-loadscope-reorder --junitxml=test-output/junit.xml "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
