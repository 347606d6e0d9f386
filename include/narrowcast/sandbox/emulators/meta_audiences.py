"""Emulator of Meta Custom Audiences users (``/{version}/{audience_id}/users``), the activation destination.

Faithful where the engine depends on it: ``payload`` schema/data, ≤ 10,000 rows per request, the Business SDK's
schema names (single key ``EMAIL_SHA256``/``PHONE_SHA256``/``UID``/``MOBILE_ADVERTISER_ID``, multi-key
``EMAIL``, ``PHONE``, ...), SHA-256 hex required for hashed keys (others counted in ``num_invalid_entries``
with samples), multi-batch sessions (no batch after ``last_batch_flag``), and a DELETE's parameters read from
the query string as the SDK sends them. Meta's "Custom Audience Users" reference documents removal as ``DELETE
/{custom_audience_id}/users`` only, so no POST override and no DELETE body is read. Meta documents no URL length
limit of its own, so the emulator adds none: a request line longer than the HTTP server takes is refused by the
server itself, as any server on the way may refuse one (RFC 9110, 414). Each request's target length is recorded
(``target_bytes``) so a test can see what a client sent. Holds the members per audience for :meth:`snapshot`.

Graph errors ``{"error": {message, type, code, error_subcode, fbtrace_id}}`` with the codes of Meta's "Graph API
error handling" page: 1 unknown error (transient), 17 user request limit reached, 100 invalid parameter,
190 invalid OAuth access token.

The ad account's score (Meta's "Marketing API Rate Limiting", API-level limits): every call adds to it, a read
1 point and a write 3; it decays over 300 s; past the tier's maximum (Standard 9,000, blocked 60 s; development
60, blocked 300 s) every call is refused with code 17, subcode 2446079, and ``X-Business-Use-Case-Usage``
saying when access is regained (``estimated_time_to_regain_access``, minutes; the "Business Use Case Rate
Limits" header). So a sustained pace above 10 writes/s at the Standard tier is refused, as Meta refuses it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.framework import SANDBOX_TOKEN, Emulator

MAX_ROWS = 10_000
HASHED = {"EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "GEN", "DOBY", "DOBM", "DOBD", "FI"}
# CustomAudience.Schema.MultiKeySchema of the Business SDK (plus LOOKALIKE_VALUE for value-based audiences).
KNOWN = HASHED | {"EXTERN_ID", "MADID", "LOOKALIKE_VALUE", "PAGEUID"}
# CustomAudience.Schema: a single key's schema name, and the multi-key column it validates as.
SINGLE_KEYS = {"EMAIL_SHA256": "EMAIL", "PHONE_SHA256": "PHONE", "UID": "EXTERN_ID", "MOBILE_ADVERTISER_ID": "MADID"}
_SHA = re.compile(r"^[0-9a-f]{64}$")
# Marketing API Rate Limiting, API-level limits: (maximum score, seconds blocked) per access tier; the score decays
# over SCORE_DECAY_SECONDS; a read costs 1 point, a write 3.
SCORE_TIERS = {"standard": (9000.0, 60.0), "development": (60.0, 300.0)}
SCORE_DECAY_SECONDS = 300.0
READ_POINTS, WRITE_POINTS = 1.0, 3.0


def graph_error(message: str, code: int, status: int = 400, subcode: int | None = None,
                headers: dict[str, str] | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AsandboxTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _user_request_limit(seconds: float, headers: dict[str, str] | None = None) -> JSONResponse:
    """Code 17, subcode 2446079, with the wait in X-Business-Use-Case-Usage (whole minutes, per business id)."""
    usage = {"0": [{"type": "custom_audience", "call_count": 100, "total_cputime": 0, "total_time": 0,
                    "estimated_time_to_regain_access": max(1, math.ceil(seconds / 60))}]}
    return graph_error("(#17) User request limit reached", 17, subcode=2446079,
                       headers={"X-Business-Use-Case-Usage": json.dumps(usage), **(headers or {})})


class MetaAudiencesEmulator(Emulator):
    name = "meta_audiences"
    prefix = "meta"

    def __init__(self, world_dir: Path | None) -> None:
        super().__init__(world_dir)
        self.audiences: dict[str, dict[str, list[Any]]] = {}
        self.sessions: dict[tuple[str, int], dict[str, Any]] = {}
        self.invalid_values: list[str] = []
        self.requests_by_method: dict[str, int] = {}
        self.duplicate_adds = 0
        self.tier = "standard"
        self.clock: Callable[[], float] = time.monotonic
        self._score, self._scored_at, self._blocked_until = 0.0, 0.0, 0.0

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.audiences.clear()
            self.sessions.clear()
            self.invalid_values.clear()
            self.requests_by_method.clear()
            self.duplicate_adds = 0
            self.tier = "standard"
            self._score, self._scored_at, self._blocked_until = 0.0, 0.0, 0.0

    def _charge(self, points: float) -> Response | None:
        """Add a call to the ad account's score; the refusal Meta answers once the score passed the tier's maximum
        (and while the account is blocked), else None."""
        maximum, blocked_for = SCORE_TIERS[self.tier]
        with self.lock:
            now = self.clock()
            if now < self._blocked_until:
                return _user_request_limit(self._blocked_until - now)
            self._score = max(0.0, self._score - (now - self._scored_at) * maximum / SCORE_DECAY_SECONDS) + points
            self._scored_at = now
            if self._score <= maximum:
                return None
            self._blocked_until = now + blocked_for
            return _user_request_limit(blocked_for)

    def snapshot(self) -> dict[str, Any]:
        return {
            "audiences": {aid: sorted(members) for aid, members in self.audiences.items()},
            "rows": {aid: dict(members) for aid, members in self.audiences.items()},
            "invalid_values": list(self.invalid_values),
            "requests": dict(self.requests_by_method),
            "duplicate_adds": self.duplicate_adds,
        }

    def rate_limited(self, retry_after: float) -> Response:
        # An injected fault also says Retry-After, so a test waits its seconds rather than whole minutes.
        return _user_request_limit(retry_after, {"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return graph_error("An unknown error has occurred.", 1, status=500)

    def unauthorized(self) -> Response:
        return graph_error("Invalid OAuth access token.", 190, status=401)

    def routes(self, router: APIRouter) -> None:
        @router.post("/{version}/{audience_id}/users")
        async def add_users(version: str, audience_id: str, request: Request) -> Response:
            return await self._users(audience_id, request, removing=False)

        @router.delete("/{version}/{audience_id}/users")
        async def remove_users(version: str, audience_id: str, request: Request) -> Response:
            return await self._users(audience_id, request, removing=True)

        @router.get("/{version}/debug_token")
        def debug_token(version: str, request: Request) -> Response:
            # Token introspection (https://developers.facebook.com/docs/graph-api/reference/debug_token): the
            # sandbox token is a system-user token that never expires (expires_at 0) with the ads scopes.
            if request.query_params.get("access_token") != SANDBOX_TOKEN:
                return self.unauthorized()
            if request.query_params.get("input_token") != SANDBOX_TOKEN:
                return JSONResponse({"data": {"is_valid": False, "scopes": [], "error": {
                    "code": 190, "message": "Invalid OAuth access token."}}})
            return JSONResponse({"data": {"app_id": "1048576", "type": "SYSTEM_USER", "application": "Narrowcast",
                                          "is_valid": True, "expires_at": 0, "data_access_expires_at": 0,
                                          "scopes": ["ads_read", "ads_management"], "user_id": "1048577"}})

        @router.get("/{version}/{audience_id}")
        def audience(version: str, audience_id: str, request: Request) -> Response:
            if request.query_params.get("access_token") != SANDBOX_TOKEN:
                return self.unauthorized()
            if (refused := self._charge(READ_POINTS)) is not None:
                return refused
            with self.lock:
                size = len(self.audiences.get(audience_id, {}))
            return JSONResponse({"id": audience_id, "approximate_count_lower_bound": size})

    async def _users(self, audience_id: str, request: Request, *, removing: bool) -> Response:
        if removing:
            # The SDK sends a DELETE's parameters in the query string, objects JSON-encoded.
            query = request.query_params
            try:
                body = {k: json.loads(query[k]) for k in ("payload", "session") if k in query}
            except ValueError:
                return graph_error("(#100) payload and session must be JSON", 100)
            body["access_token"] = query.get("access_token")
        else:
            try:
                body = await request.json()
            except ValueError:
                form = await request.form()
                body = {k: json.loads(str(v)) for k, v in form.items() if k in ("payload", "session")}
                body["access_token"] = form.get("access_token")
        token = request.query_params.get("access_token") or body.get("access_token")
        if token != SANDBOX_TOKEN:
            return self.unauthorized()
        if (refused := self._charge(WRITE_POINTS)) is not None:
            return refused
        payload, session = body.get("payload"), body.get("session")
        if not isinstance(payload, dict) or "schema" not in payload or not isinstance(payload.get("data"), list):
            return graph_error("(#100) The parameter payload is required: {schema, data}", 100)
        if isinstance(payload["schema"], list):
            schema = payload["schema"]
        elif payload["schema"] in SINGLE_KEYS:
            schema = [SINGLE_KEYS[payload["schema"]]]
        else:
            return graph_error(f"(#100) Invalid schema: {payload['schema']}", 100)
        unknown = [k for k in schema if k not in KNOWN]
        if unknown:
            return graph_error(f"(#100) Invalid schema key: {unknown[0]}", 100)
        data = payload["data"]
        if len(data) > MAX_ROWS:
            return graph_error(f"(#100) Too many users: at most {MAX_ROWS} per request, got {len(data)}", 100)
        with self.lock:
            self.requests_by_method[request.method] = self.requests_by_method.get(request.method, 0) + 1
            if session is not None:
                refusal = self._check_session(audience_id, session)
                if refusal is not None:
                    return refusal
            valid, samples = self._validate(schema, data)
            members = self.audiences.setdefault(audience_id, {})
            if removing:
                leaving = [m for m, _ in valid if m in members]
                for member in leaving:
                    del members[member]
            else:
                for member, row in valid:
                    if member in members:
                        self.duplicate_adds += 1
                    members[member] = row
            self.received.append({"audience_id": audience_id, "method": request.method, "rows": len(data),
                                  "session": session, "target_bytes": _target_bytes(request)})
        answer: dict[str, Any] = {"audience_id": audience_id, "num_received": len(data),
                                  "num_invalid_entries": len(data) - len(valid), "invalid_entry_samples": samples}
        if session is not None:
            answer["session_id"] = str(session.get("session_id"))
        return JSONResponse(answer)

    def _check_session(self, audience_id: str, session: dict[str, Any]) -> Response | None:
        try:
            sid, seq = int(session["session_id"]), int(session["batch_seq"])
        except (KeyError, TypeError, ValueError):
            return graph_error("(#100) session needs integer session_id and batch_seq", 100)
        state = self.sessions.setdefault((audience_id, sid), {"closed_at": None, "batches": 0})
        if state["closed_at"] is not None and seq > state["closed_at"]:
            return graph_error(f"(#100) Session {sid} already ended at batch {state['closed_at']}", 100)
        state["batches"] += 1
        if session.get("last_batch_flag"):
            state["closed_at"] = seq
        return None

    def _validate(self, schema: list[str], data: list[Any]) -> tuple[list[tuple[str, list[Any]]], dict[str, str]]:
        valid: list[tuple[str, list[Any]]] = []
        samples: dict[str, str] = {}
        # Column positions are resolved once per request: at 10,000 rows per call the per-row work is what a
        # large sync waits for.
        hashed = [(i, key) for i, key in enumerate(schema) if key in HASHED]
        identities = [i for i, key in enumerate(schema) if key != "LOOKALIKE_VALUE"]
        width = len(schema)
        is_hash = _SHA.match
        for row in data:
            if not isinstance(row, list) or len(row) != width:
                samples[json.dumps(row)[:64]] = "row length does not match schema"
                continue
            problem = None
            for i, key in hashed:
                value = row[i]
                if value != "" and value is not None and not (isinstance(value, str) and is_hash(value)):
                    problem = (str(value), f"{key} is not a SHA-256 hash")
                    break
            if problem:
                self.invalid_values.append(problem[0])
                samples[problem[0]] = problem[1]
                continue
            identity = next((str(row[i]) for i in identities if row[i] != "" and row[i] is not None), None)
            if identity is None:
                samples["<empty>"] = "no identifier in row"
                continue
            valid.append((identity, row))
        return valid, samples


def _target_bytes(request: Request) -> int:
    """The length of the request target as it came on the request line: path, and ``?`` and query when present."""
    query = request.scope.get("query_string") or b""
    return len(request.scope.get("raw_path") or request.url.path.encode()) + (len(query) + 1 if query else 0)


EMULATOR = MetaAudiencesEmulator
