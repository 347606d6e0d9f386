"""Validation of recorded requests against the compact JSON Schemas the conformance tests write from each
vendor's published specification (the facts only, restated as Draft 2020-12 schemas)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

# An ISO 8601 / RFC 3339 instant in UTC with a Z suffix, optional fraction.
UTC_INSTANT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"
# Headers whose names start with x-amz- (case-insensitive), which a pre-signed S3 URL has not signed.
NO_AMZ_HEADERS = {"propertyNames": {"not": {"pattern": "^[xX]-[aA][mM][zZ]-"}}}


def violations(schema: dict[str, Any], instance: Any) -> list[str]:
    """Every way ``instance`` breaks ``schema``, as readable lines (empty when it conforms)."""
    validator = Draft202012Validator(schema)
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))]


def lower_keys(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
