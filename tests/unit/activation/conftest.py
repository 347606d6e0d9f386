"""Pytest fixtures for the activation unit tests (defined in activation_fixtures, shared with tests/e2e)."""

from activation_fixtures import connections, emulators, sandbox, warehouse

__all__ = ["connections", "emulators", "sandbox", "warehouse"]
