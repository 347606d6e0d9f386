"""Google audiences (Customer Match user lists) through the Data Manager API: ``audienceMembers:ingest`` and
``audienceMembers:remove``, one request per batch, the request id as the row's asynchronous job.

Connection ``narrowcast_google_data_manager`` (see ``narrowcast.apis.data_manager``). Target: ``account_id`` (the
Google Ads account that owns the user list, the Destination's ``operatingAccount``), ``user_list_id`` (its
``productDestinationId``), optional ``login_account_id`` (a manager account access goes through) and ``encoding``
(``HEX``, the default, or ``BASE64``: how the SHA-256 digests are written).

Identifiers arrive normalised and SHA-256-hashed by the mart, as Google asks (e-mail trimmed and lowercased, phone
in E.164; developers.google.com/data-manager/api/devguides/concepts/formatting); consent travels per member
(``adUserData`` / ``adPersonalization`` from the member's consent columns). Google's Customer Match terms are
sent as accepted: a merchant enabling a Google audience sync uploads under those terms.

The API fails fast: one invalid member fails the whole request and nothing in it is applied
(…/devguides/concepts/understand-errors). The members named by the error's field violations are rejected and the
rest sent again once. Ingestion is asynchronous: the answer is only a ``requestId``, whose outcome
``requestStatus:retrieve`` reports later (PROCESSING, then SUCCESS, PARTIAL_SUCCESS or FAILED per destination), so
each accepted row names its request and the engine asks for it on later runs.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Destination,
    JobStatus,
    Limits,
    ObjectSpec,
    RowResult,
    chunks,
)
from narrowcast.apis import data_manager
from narrowcast.apis.google_ads import digits
from narrowcast.http import FatalApiError

# UserIdentifier fields (…/reference/rest/v1/UserData#UserIdentifier): hashed e-mail and phone.
IDENTIFIERS = ("emailAddress", "phoneNumber")
# Consent fields (…/reference/rest/v1/Consent), ConsentStatus CONSENT_GRANTED / CONSENT_DENIED.
CONSENT_FIELDS = ("adUserData", "adPersonalization")
ENCODINGS = frozenset({"HEX", "BASE64"})  # …/reference/rest/v1/Encoding
# RequestStatusPerDestination.RequestStatus (…/reference/rest/v1/requestStatus/retrieve#RequestStatus).
# PARTIAL_SUCCESS names no record, so nothing can be re-planned from it: the rows count as confirmed and the
# reasons Google counted are logged by the engine only when the request failed as a whole.
_REQUEST_STATES = {"SUCCESS": "succeeded", "PARTIAL_SUCCESS": "succeeded", "FAILED": "failed"}
_MEMBER_INDEX = re.compile(r"^audience_?[mM]embers\[(\d+)\]")


class GoogleAudiences(Destination):
    name = "google_audiences"
    connection_id = data_manager.CONNECTION_ID
    client_class = data_manager.DataManagerApi
    objects = {
        "audience": ObjectSpec(
            optional_fields=frozenset(IDENTIFIERS) | frozenset(CONSENT_FIELDS),
            required_target=frozenset({"account_id", "user_list_id"}),
            hashed_fields=frozenset(IDENTIFIERS),
            default_mode="mirror",
        )
    }
    # 10,000 members per request; 300 requests per minute per Cloud project (= 5 per second).
    limits = Limits(max_batch_size=data_manager.MAX_AUDIENCE_MEMBERS,
                    default_rps=data_manager.REQUESTS_PER_MINUTE / 60, default_burst=5.0, max_concurrency=2)

    @classmethod
    def check_declaration(cls, object_name: str, target: Any, fields: set[str]) -> str | None:
        encoding = str(target.get("encoding", "HEX")).upper()
        if encoding not in ENCODINGS:
            return f"target encoding {target.get('encoding')!r} is not one of {', '.join(sorted(ENCODINGS))}"
        if not fields & set(IDENTIFIERS):
            return f"fields name no identifier ({', '.join(IDENTIFIERS)})"
        return None

    @property
    def _encoding(self) -> str:
        return str(self.target.get("encoding", "HEX")).upper()

    def _destination(self) -> dict[str, Any]:
        # Destination (…/reference/rest/v1/Destination): operatingAccount receives the data, productDestinationId
        # is the user list; loginAccount only when access goes through a manager account.
        destination: dict[str, Any] = {
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": digits(self.target["account_id"])},
            "productDestinationId": str(self.target["user_list_id"]),
        }
        if self.target.get("login_account_id"):
            destination["loginAccount"] = {"accountType": "GOOGLE_ADS",
                                           "accountId": digits(self.target["login_account_id"])}
        return destination

    def _member(self, payload: Any, with_consent: bool) -> dict[str, Any] | None:
        identifiers = [{name: _encode(str(payload[name]), self._encoding)}
                       for name in IDENTIFIERS if payload and payload.get(name)]
        if not identifiers:
            return None
        member: dict[str, Any] = {"userData": {"userIdentifiers": identifiers}}
        consent = {name: status for name in CONSENT_FIELDS if (status := _consent(payload.get(name))) is not None}
        if with_consent and consent:
            member["consent"] = consent
        return member

    def send(self, batch: Batch) -> list[RowResult]:
        results: dict[str, RowResult] = {}
        ingest: list[tuple[str, dict[str, Any]]] = []
        remove: list[tuple[str, dict[str, Any]]] = []
        for change in batch.changes:
            # RemoveAudienceMembersRequest has no consent (…/reference/rest/v1/audienceMembers/remove).
            member = self._member(change.payload, with_consent=change.op != "remove")
            if member is None:
                results[change.key] = RowResult(change.key, "rejected", "no e-mail or phone identifier", sent=False)
                continue
            if change.op == "remove":
                remove.append((change.key, member))
                continue
            previous = self._member(change.previous, with_consent=False) if change.op == "change" else None
            kept = member["userData"]["userIdentifiers"]
            stale = [i for i in previous["userData"]["userIdentifiers"] if i not in kept] if previous else []
            if stale:
                # Google processes requests in no promised order: a kept identifier sent for removal could undo
                # the ingest it races with, so only the identifiers the member no longer has are removed.
                remove.append(("", {"userData": {"userIdentifiers": stale}}))
            ingest.append((change.key, member))
        for method, members in (("remove", remove), ("ingest", ingest)):
            for group in chunks(members, data_manager.MAX_AUDIENCE_MEMBERS):
                results.update(self._send(method, group))
        return [results.get(c.key) or RowResult(c.key, "rejected", "not answered") for c in batch.changes]

    def _send(self, method: str, group: list[tuple[str, dict[str, Any]]]) -> dict[str, RowResult]:
        """One ``audienceMembers:{method}`` call; when Google refuses named members, those are rejected and the
        others sent once more (nothing of a refused request was applied)."""
        results: dict[str, RowResult] = {}
        for attempt in (1, 2):
            body: dict[str, Any] = {"destinations": [self._destination()],
                                    "audienceMembers": [member for _, member in group], "encoding": self._encoding}
            if method == "ingest":
                body["termsOfService"] = {"customerMatchTermsOfServiceStatus": "ACCEPTED"}
            try:
                answer = self.client.post_json(self.client.path(f"audienceMembers:{method}"), body) or {}
            except FatalApiError as exc:
                refused = _refused_members(exc) if attempt == 1 else {}
                if not refused:
                    raise
                for index, reason in refused.items():
                    key = group[index][0]
                    if key:
                        results[key] = RowResult(key, "rejected", f"Google refused the member: {reason}")
                group = [entry for i, entry in enumerate(group) if i not in refused]
                if not group:
                    return results
                continue
            request_id = str(answer.get("requestId") or "") or None
            for key, _ in group:
                if key:
                    results[key] = RowResult(key, "accepted", job=request_id)
            return results
        return results

    def job_statuses(self, jobs: list[str]) -> dict[str, JobStatus]:
        """SUCCESS / PARTIAL_SUCCESS → succeeded, FAILED → failed (with the error reasons Google counted),
        PROCESSING → asked again later; a request id Google does not know → failed."""
        statuses: dict[str, JobStatus] = {}
        for job in jobs:
            try:
                answer = self.client.get_json(self.client.path("requestStatus:retrieve"),
                                              params={"requestId": job}) or {}
            except FatalApiError as exc:
                if exc.status != 404:
                    raise
                statuses[job] = JobStatus("failed", "request id not found at the Data Manager API")
                continue
            per_destination = answer.get("requestStatusPerDestination") or []
            states = [str(d.get("requestStatus", "REQUEST_STATUS_UNKNOWN")) for d in per_destination]
            if any(_REQUEST_STATES.get(s) is None for s in states) or not states:
                statuses[job] = JobStatus("pending")
            elif any(s == "FAILED" for s in states):
                reasons = sorted({str(c.get("reason")) for d in per_destination
                                  for c in (d.get("errorInfo") or {}).get("errorCounts") or [] if c.get("reason")})
                statuses[job] = JobStatus("failed", f"FAILED ({', '.join(reasons) or 'no reason given'})")
            else:
                statuses[job] = JobStatus("succeeded")
        return statuses


def _encode(sha256_hex: str, encoding: str) -> str:
    """The digest as the request's ``encoding`` says: lowercase hex, or base64 of the 32 digest bytes."""
    if encoding == "BASE64":
        return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")
    return sha256_hex.lower()


def _consent(value: Any) -> str | None:
    """A consent column (boolean, or already a ConsentStatus) as ConsentStatus; unknown stays unspecified."""
    if value is None:
        return None
    if isinstance(value, str) and value.upper() in {"CONSENT_GRANTED", "CONSENT_DENIED"}:
        return value.upper()
    if isinstance(value, str):
        value = value.strip().lower() in {"true", "1", "yes", "granted"}
    return "CONSENT_GRANTED" if value else "CONSENT_DENIED"


def _refused_members(exc: FatalApiError) -> dict[int, str]:
    """{member index: reason} from a refused request's BadRequest field violations; empty when the refusal is
    about the request itself (destination, auth, terms), which re-sending without some members cannot fix."""
    if exc.status != 400 or not isinstance(exc.body, dict):
        return {}
    error = exc.body.get("error") if isinstance(exc.body.get("error"), dict) else {}
    refused: dict[int, str] = {}
    for violation in data_manager.field_violations(error):
        match = _MEMBER_INDEX.match(str(violation.get("field", "")))
        if match:
            refused.setdefault(int(match.group(1)), str(violation.get("reason") or violation.get("description")))
    return refused
