"""A fake HTTP layer for connector tests: a stand-in ``requests.Session`` that answers scripted responses and
records every request, and the fixtures in the real APIs' formats."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class SentRequest:
    method: str
    url: str
    params: dict[str, Any]
    json: Any
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        """Query string as sent: parameters in the URL (e.g. a followed ``next`` href) plus ``params``."""
        merged = dict(parse_qsl(urlsplit(self.url).query))
        merged.update({k: str(v) for k, v in self.params.items()})
        return merged


def reply(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    """A real ``requests.Response`` with a JSON body."""
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
    response.reason = "scripted"
    response.url = "http://fake.invalid/"
    return response


class FakeSession:
    """Stands in for ``requests.Session``: each request takes the next scripted answer (a response or an
    exception to raise) and is recorded in ``sent``."""

    def __init__(self, *answers: requests.Response | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[SentRequest] = []
        self.headers: CaseInsensitiveDict = CaseInsensitiveDict()

    def request(self, method: str, url: str, *, params: Any = None, json: Any = None, data: Any = None,
                headers: Any = None, timeout: Any = None) -> requests.Response:
        self.sent.append(SentRequest(method, url, dict(params or {}), json, {**self.headers, **(headers or {})}))
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {url} {params}: no scripted answer left")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        answer.url = url
        return answer
