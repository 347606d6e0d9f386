"""Recording of what the connectors put on the wire in the conformance tests, and connections to the emulators."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from narrowcast.activation.destinations.base import SendContext
from narrowcast.contracts.connections import Connection
from narrowcast.http import TokenBucket
from narrowcast.sandbox.framework import SANDBOX_TOKEN
from narrowcast.sandbox.server import SandboxServer


@dataclass
class Sent:
    """One request as it left the client: method, path, query, headers (session defaults merged) and body; and
    the answer it got (status, headers, decoded body), so a test can hold the emulator's answers to the document
    too."""

    method: str
    url: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int | None = None
    answer_headers: dict[str, str] | None = None
    answer: Any = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def decoded(data: Any) -> Any:
    if isinstance(data, bytes | str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


def connection(sandbox: SandboxServer, conn_id: str, prefix: str, **extra: Any) -> Connection:
    options = {"retry_base_delay": 0.01, "retry_max_delay": 0.05, "poll_interval_seconds": 0.01,
               "timeout_seconds": 5.0, **extra}
    return Connection(conn_id, f"{sandbox.url}/{prefix}", password=SANDBOX_TOKEN, extra=options)


def send_context(conn: Connection, target: dict[str, Any], obj: str) -> SendContext:
    return SendContext(conn, target, obj, TokenBucket(1_000.0, 1_000.0))
