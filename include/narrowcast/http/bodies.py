"""Reading an API's JSON answer defensively: an error page may be HTML, a list or empty."""

from __future__ import annotations

from typing import Any

import requests


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response body when it is a JSON object, else ``{}`` (an HTML error page, a list, nothing)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_objects(response: requests.Response, key: str = "errors") -> list[dict[str, Any]]:
    """The error objects of a JSON error body's ``key`` list (the envelope most REST APIs use), or ``[]``."""
    errors = json_object(response).get(key)
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
