"""Emulator of the Google Data Manager API's audience members (IngestionService), the Google audiences destination.

Follows developers.google.com/data-manager/api/reference/rest/v1: ``audienceMembers:ingest`` / ``:remove`` answer a
``requestId`` and apply later; ``requestStatus:retrieve`` reports the outcome per destination. Validation is
fast-fail as Google documents (…/devguides/concepts/understand-errors): one invalid member refuses the whole
request with HTTP 400, a ``google.rpc.ErrorInfo`` per reason and ``google.rpc.BadRequest`` field violations that
name the member. Every refusal's reason is a documented ``ErrorReason`` (…/reference/rest/v1/ErrorReason).

With ``hold_requests`` set a request stays PROCESSING until :meth:`finish_requests` ends it (SUCCESS applies its
members; a failure reason fails it, nothing applied), as Google processes uploads after answering.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.apis.data_manager import (
    BAD_REQUEST,
    ERROR_INFO,
    MAX_AUDIENCE_MEMBERS,
    MAX_DESTINATIONS,
    MAX_USER_IDENTIFIERS,
    RETRY_INFO,
)
from narrowcast.apis.versions import DATA_MANAGER
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import accepts, bearer

_HEX = re.compile(r"^[0-9a-fA-F]*$")
# AccountType (…/reference/rest/v1/ProductAccount#AccountType) and ConsentStatus (…/reference/rest/v1/Consent).
ACCOUNT_TYPES = frozenset({"GOOGLE_ADS", "DISPLAY_VIDEO_PARTNER", "DISPLAY_VIDEO_ADVERTISER", "DATA_PARTNER"})
CONSENT_STATUSES = frozenset({"CONSENT_STATUS_UNSPECIFIED", "CONSENT_GRANTED", "CONSENT_DENIED"})
ENCODINGS = frozenset({"HEX", "BASE64"})  # …/reference/rest/v1/Encoding
IDENTIFIERS = frozenset({"emailAddress", "phoneNumber", "address"})  # UserIdentifier's union field
# The ErrorReasons the emulator answers with, each listed on …/reference/rest/v1/ErrorReason, with the canonical
# status and HTTP code (google.rpc.Code, googleapis google/rpc/code.proto). The validation reasons are
# INVALID_ARGUMENT, as the fast-fail model answers (…/devguides/concepts/understand-errors).
_STATUS_OF = {
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT"), "REQUIRED_FIELD_MISSING": (400, "INVALID_ARGUMENT"),
    "INVALID_ENUM_VALUE": (400, "INVALID_ARGUMENT"), "INVALID_HEX_ENCODING": (400, "INVALID_ARGUMENT"),
    "INVALID_BASE64_ENCODING": (400, "INVALID_ARGUMENT"), "INVALID_SHA256_FORMAT": (400, "INVALID_ARGUMENT"),
    "TOO_MANY_AUDIENCE_MEMBERS": (400, "INVALID_ARGUMENT"), "TOO_MANY_USER_IDENTIFIERS": (400, "INVALID_ARGUMENT"),
    "TOO_MANY_DESTINATIONS": (400, "INVALID_ARGUMENT"), "INVALID_USER_LIST_ID": (400, "INVALID_ARGUMENT"),
    "TERMS_AND_CONDITIONS_NOT_SIGNED": (400, "INVALID_ARGUMENT"), "NOT_FOUND": (404, "NOT_FOUND"),
    "RESOURCE_EXHAUSTED": (429, "RESOURCE_EXHAUSTED"),
}


def data_manager_error(reason: str, message: str, violations: list[dict[str, str]] | None = None,
                       headers: dict[str, str] | None = None, retry_delay: str | None = None) -> JSONResponse:
    """google.rpc.Status with one ErrorInfo per distinct reason (the first is ``reason``) and the field violations."""
    http, status = _STATUS_OF[reason]
    reasons = list(dict.fromkeys([reason, *(v["reason"] for v in violations or [])]))
    details: list[dict[str, Any]] = [{"@type": ERROR_INFO, "reason": r, "domain": "datamanager.googleapis.com"}
                                     for r in reasons]
    if violations:
        details.append({"@type": BAD_REQUEST, "fieldViolations": violations})
    if retry_delay:
        details.append({"@type": RETRY_INFO, "retryDelay": retry_delay})
    return JSONResponse({"error": {"code": http, "message": message, "status": status, "details": details}},
                        status_code=http, headers=headers)


def rpc_status(http: int, status: str, message: str) -> JSONResponse:
    """A bare google.rpc.Status, as Google's front end answers before the API sees the request (auth, outages)."""
    return JSONResponse({"error": {"code": http, "message": message, "status": status}}, status_code=http)


class DataManagerEmulator(Emulator):
    name = "data_manager"

    def __init__(self, world_dir: Path | None) -> None:
        # Request ids unique across sandbox restarts, as Google's are.
        self._ids = itertools.count(int(time.time() * 1000))
        self.requests: dict[str, dict[str, Any]] = {}
        self.audiences: dict[tuple[str, str], dict[str, list[dict[str, str]]]] = {}
        # Per audience, each identifier value → the members holding it: a removal finds its members by lookup,
        # not by a scan of the audience per removed member (a million-member audience made that quadratic).
        self._holders: dict[tuple[str, str], dict[str, set[str]]] = {}
        self.hold_requests = False
        super().__init__(world_dir)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.requests.clear()
            self.audiences.clear()
            self._holders.clear()
            self.hold_requests = False

    def snapshot(self) -> dict[str, Any]:
        return {"audiences": {f"{a}/{d}": sorted(m) for (a, d), m in self.audiences.items()},
                "requests": {rid: r["status"] for rid, r in self.requests.items()}}

    def finish_requests(self, failure_reason: str | None = None) -> list[str]:
        """End every PROCESSING request: SUCCESS applies it, a ``failure_reason`` (an ErrorReason) fails it."""
        with self.lock:
            processing = [rid for rid, r in self.requests.items() if r["status"] == "PROCESSING"]
            for rid in processing:
                held = self.requests[rid]
                if failure_reason is None:
                    self._apply(held)
                    held["status"] = "SUCCESS"
                else:
                    held["status"], held["failure"] = "FAILED", failure_reason
        return processing

    def rate_limited(self, retry_after: float) -> Response:
        return data_manager_error("RESOURCE_EXHAUSTED", "Quota exceeded.", headers={"Retry-After": f"{retry_after:g}"},
                                  retry_delay=f"{retry_after:g}s")

    def server_error(self) -> Response:
        return rpc_status(503, "UNAVAILABLE", "The service is currently unavailable.")

    def unauthorized(self) -> Response:
        return rpc_status(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")

    def _refused(self, request: Request, version: str) -> Response | None:
        if not accepts(request, "google", bearer(request)):
            return self.unauthorized()
        if version != DATA_MANAGER.default:
            # A path of no API method is refused before the API sees it: a bare NOT_FOUND status, no ErrorInfo
            # (google.rpc.Code NOT_FOUND = HTTP 404, googleapis google/rpc/code.proto; Google's API design guide,
            # "Errors"). No Data Manager page describes an unserved version itself: the doctor only needs the 404.
            return rpc_status(404, "NOT_FOUND", f"Method not found: /{version}/… is not a Data Manager API method.")
        return None

    def routes(self, router: APIRouter) -> None:
        @router.post("/{version}/audienceMembers:ingest")
        async def ingest(version: str, request: Request) -> Response:
            return self._members(version, request, "ingest", await request.json())

        @router.post("/{version}/audienceMembers:remove")
        async def remove(version: str, request: Request) -> Response:
            return self._members(version, request, "remove", await request.json())

        @router.get("/{version}/requestStatus:retrieve")
        async def retrieve(version: str, request: Request) -> Response:
            if (refused := self._refused(request, version)) is not None:
                return refused
            request_id = request.query_params.get("requestId")
            if not request_id:
                return data_manager_error("REQUIRED_FIELD_MISSING", "requestId is required.",
                                          [_violation("request_id", "REQUIRED_FIELD_MISSING")])
            with self.lock:
                held = self.requests.get(request_id)
                if held is None:
                    return data_manager_error("NOT_FOUND", f"Request {request_id} was not found.")
                return JSONResponse({"requestStatusPerDestination": [
                    _status_of(held, destination) for destination in held["destinations"]]})

    def _members(self, version: str, request: Request, method: str, body: Any) -> Response:
        if (refused := self._refused(request, version)) is not None:
            return refused
        body = body if isinstance(body, dict) else {}
        destinations = body.get("destinations") or []
        members = body.get("audienceMembers") or []
        # Request limits (…/devguides/limits): 10 destinations, 10,000 members, 10 identifiers per member.
        if len(destinations) > MAX_DESTINATIONS:
            return data_manager_error("TOO_MANY_DESTINATIONS", f"At most {MAX_DESTINATIONS} destinations.")
        if len(members) > MAX_AUDIENCE_MEMBERS:
            return data_manager_error("TOO_MANY_AUDIENCE_MEMBERS", f"At most {MAX_AUDIENCE_MEMBERS} audience members.")
        violations = _request_violations(body, method)
        for index, member in enumerate(members):
            violations += _member_violations(index, member, body.get("encoding"), method)
        if violations:
            # INVALID_ARGUMENT heads the details; each violation's own reason follows as an ErrorInfo of its own.
            return data_manager_error("INVALID_ARGUMENT", "Request contains an invalid argument.", violations)
        if body.get("validateOnly"):
            return JSONResponse({})
        with self.lock:
            request_id = f"{next(self._ids):x}-sandbox"
            held = {"method": method, "destinations": destinations, "members": members,
                    "encoding": body["encoding"], "status": "PROCESSING", "failure": None}
            self.requests[request_id] = held
            if not self.hold_requests:
                self._apply(held)
                held["status"] = "SUCCESS"
            self.received.append({"method": method, "request_id": request_id, "members": len(members),
                                  "destinations": len(destinations)})
        return JSONResponse({"requestId": request_id})

    def _apply(self, held: dict[str, Any]) -> None:
        for destination in held["destinations"]:
            key = (str(destination["operatingAccount"]["accountId"]), str(destination["productDestinationId"]))
            audience = self.audiences.setdefault(key, {})
            holders = self._holders.setdefault(key, defaultdict(set))
            for member in held["members"]:
                identifiers = [{k: _as_hex(v, held["encoding"]) for k, v in i.items()}
                               for i in member["userData"]["userIdentifiers"]]
                values = [v for i in identifiers for v in i.values()]
                if held["method"] == "ingest":
                    _forget(audience, holders, values[0])
                    audience[values[0]] = identifiers
                    for value in values:
                        holders[value].add(values[0])
                else:
                    # A removal removes every member holding any of its identifiers.
                    for known in {k for v in values for k in holders.get(v, ())}:
                        _forget(audience, holders, known)


def _forget(audience: dict[str, list[dict[str, str]]], holders: dict[str, set[str]], member: str) -> None:
    """Drop ``member`` from the audience and from the holders of each of its identifier values."""
    for identifier in audience.pop(member, ()):
        for value in identifier.values():
            held_by = holders.get(value)
            if held_by is not None:
                held_by.discard(member)
                if not held_by:
                    del holders[value]


def _violation(field: str, reason: str, description: str = "") -> dict[str, str]:
    return {"field": field, "description": description or reason, "reason": reason}


def _request_violations(body: dict[str, Any], method: str) -> list[dict[str, str]]:
    found = []
    if not body.get("destinations"):
        found.append(_violation("destinations", "REQUIRED_FIELD_MISSING"))
    if not body.get("audienceMembers"):
        found.append(_violation("audience_members", "REQUIRED_FIELD_MISSING"))
    # encoding: "Required for UserData uploads" (…/reference/rest/v1/audienceMembers/ingest).
    if not body.get("encoding"):
        found.append(_violation("encoding", "REQUIRED_FIELD_MISSING"))
    elif body["encoding"] not in ENCODINGS:
        found.append(_violation("encoding", "INVALID_ENUM_VALUE"))
    # TermsOfService.customerMatchTermsOfServiceStatus "must be accepted when ingesting UserData"
    # (…/reference/rest/v1/TermsOfService).
    if method == "ingest" and (body.get("termsOfService") or {}).get("customerMatchTermsOfServiceStatus") != "ACCEPTED":
        found.append(_violation("terms_of_service", "TERMS_AND_CONDITIONS_NOT_SIGNED"))
    for index, destination in enumerate(body.get("destinations") or []):
        where = f"destinations[{index}]"
        account = destination.get("operatingAccount") or {}
        if not account.get("accountId"):
            found.append(_violation(f"{where}.operating_account.account_id", "REQUIRED_FIELD_MISSING"))
        if account.get("accountType") not in ACCOUNT_TYPES:
            found.append(_violation(f"{where}.operating_account.account_type", "INVALID_ENUM_VALUE"))
        if not str(destination.get("productDestinationId") or "").isdigit():
            found.append(_violation(f"{where}.product_destination_id", "INVALID_USER_LIST_ID"))
    return found


def _member_violations(index: int, member: Any, encoding: Any, method: str) -> list[dict[str, str]]:
    where = f"audience_members[{index}]"
    identifiers = ((member or {}).get("userData") or {}).get("userIdentifiers") if isinstance(member, dict) else None
    if not identifiers:
        return [_violation(f"{where}.user_data.user_identifiers", "REQUIRED_FIELD_MISSING")]
    if len(identifiers) > MAX_USER_IDENTIFIERS:
        return [_violation(f"{where}.user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS")]
    found = []
    for position, identifier in enumerate(identifiers):
        field = f"{where}.user_data.user_identifiers[{position}]"
        if not isinstance(identifier, dict) or len(identifier) != 1 or not set(identifier) <= IDENTIFIERS:
            found.append(_violation(field, "INVALID_ARGUMENT", "exactly one of emailAddress, phoneNumber, address"))
            continue
        name, value = next(iter(identifier.items()))
        where_value = f"{field}.{'email_address' if name == 'emailAddress' else 'phone_number'}"
        if name != "address" and (problem := _hash_problem(where_value, value, encoding)):
            found.append(problem)
    for name, status in ((member.get("consent") or {}).items() if method == "ingest" else ()):
        if status not in CONSENT_STATUSES:
            found.append(_violation(f"{where}.consent.{name}", "INVALID_ENUM_VALUE"))
    return found


def _hash_problem(field: str, value: Any, encoding: Any) -> dict[str, str] | None:
    """The violation of a hashed identifier that is not a SHA-256 digest in the request's encoding, or None."""
    if not isinstance(value, str) or not value:
        return _violation(field, "INVALID_SHA256_FORMAT")
    if encoding == "BASE64":
        try:
            digest = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return _violation(field, "INVALID_BASE64_ENCODING")
        return None if len(digest) == 32 else _violation(field, "INVALID_SHA256_FORMAT")
    if not _HEX.match(value) or len(value) % 2:
        return _violation(field, "INVALID_HEX_ENCODING")
    return None if len(value) == 64 else _violation(field, "INVALID_SHA256_FORMAT")


def _as_hex(value: str, encoding: str) -> str:
    return base64.b64decode(value).hex() if encoding == "BASE64" else value.lower()


def _status_of(held: dict[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
    """RequestStatusPerDestination (…/reference/rest/v1/requestStatus/retrieve#RequestStatusPerDestination)."""
    counts = {"recordCount": str(len(held["members"])),
              "userIdentifierCount": str(sum(len(m["userData"]["userIdentifiers"]) for m in held["members"]))}
    answer: dict[str, Any] = {"destination": destination, "requestStatus": held["status"]}
    if held["method"] == "ingest":
        answer["audienceMembersIngestionStatus"] = {"userDataIngestionStatus": counts}
    else:
        answer["audienceMembersRemovalStatus"] = {"userDataRemovalStatus": counts}
    if held["failure"]:
        answer["errorInfo"] = {"errorCounts": [{"recordCount": str(len(held["members"])), "reason": held["failure"]}]}
    return answer


EMULATOR = DataManagerEmulator
