"""Google Ads Customer Match through OfflineUserDataJobService: create job → addOperations → run.

Connection ``narrowcast_google_ads``: ``password`` = OAuth access token; extra ``developer_token`` (required),
``login_customer_id`` (manager account, optional), ``api_version`` (default v18). One job per engine batch:
adds/changes become ``create`` operations (a change first removes the previously confirmed identifiers),
removals ``remove`` operations; ``enablePartialFailure`` lets Google reject single operations, which the
connector maps back to rows through ``partialFailureError`` field-path indexes.
"""

from __future__ import annotations

from typing import Any

from narrowcast.activation.destinations.base import Batch, Change, Destination, Limits, ObjectSpec, RowResult
from narrowcast.connections import Connection
from narrowcast.sources.google_ads.client import GoogleAdsApi

FIELDS = {"hashedEmail", "hashedPhoneNumber"}


class GoogleAdsClient(GoogleAdsApi):
    # Its own name in error messages, so a failure tells Customer Match from the reporting source.
    api_name = "google_ads_customer_match"


class GoogleCustomerMatch(Destination):
    name = "google_customer_match"
    objects = {
        "customer_match_list": ObjectSpec(
            optional_fields=frozenset(FIELDS),
            required_target=frozenset({"customer_id", "user_list_id"}),
            hashed_fields=frozenset(FIELDS),
            default_mode="mirror",
        )
    }
    # ≤ 100,000 identifiers per addOperations request; with two identifiers per user that is 50,000 users.
    limits = Limits(max_batch_size=50_000, default_rps=1.0, default_burst=3.0, max_concurrency=2)
    client_class = GoogleAdsClient

    def auth_headers(self, connection: Connection) -> dict[str, str]:
        return GoogleAdsClient.auth_headers(str(connection.password), str(connection.require("developer_token")),
                                            connection.extra.get("login_customer_id"))

    def send(self, batch: Batch) -> list[RowResult]:
        version = str(self.context.connection.extra.get("api_version", "v18"))
        cid = str(self.target["customer_id"]).replace("-", "")
        operations: list[dict[str, Any]] = []
        owner: list[str] = []  # operation index -> record key
        for change in batch.changes:
            for op in _operations(change):
                operations.append(op)
                owner.append(change.key)
        job = self.client.post_json(f"{version}/customers/{cid}/offlineUserDataJobs:create", {
            "job": {
                "type": "CUSTOMER_MATCH_USER_LIST",
                "customerMatchUserListMetadata": {
                    "userList": f"customers/{cid}/userLists/{self.target['user_list_id']}",
                    "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"},
                },
            }
        })
        resource = job["resourceName"]
        answer = self.client.post_json(f"{version}/{resource}:addOperations",
                                       {"enablePartialFailure": True, "operations": operations}) or {}
        failed = _failed_indexes(answer.get("partialFailureError"))
        self.client.post_json(f"{version}/{resource}:run", {})
        reasons: dict[str, str] = {}
        for index, message in failed.items():
            if 0 <= index < len(owner):
                reasons.setdefault(owner[index], f"Google rejected operation: {message}")
        return [RowResult(c.key, "rejected", reasons[c.key]) if c.key in reasons else RowResult(c.key, "accepted")
                for c in batch.changes]


def _identifiers(payload: Any) -> list[dict[str, str]]:
    return [{name: payload[name]} for name in sorted(FIELDS) if payload and payload.get(name)]


def _operations(change: Change) -> list[dict[str, Any]]:
    if change.op == "remove":
        return [{"remove": {"userIdentifiers": _identifiers(change.payload)}}]
    ops = []
    if change.op == "change" and change.previous and _identifiers(change.previous) != _identifiers(change.payload):
        ops.append({"remove": {"userIdentifiers": _identifiers(change.previous)}})
    ops.append({"create": {"userIdentifiers": _identifiers(change.payload)}})
    return ops


def _failed_indexes(status: Any) -> dict[int, str]:
    """``partialFailureError`` (google.rpc.Status) → {operation index: message}."""
    failed: dict[int, str] = {}
    if not isinstance(status, dict):
        return failed
    for detail in status.get("details") or []:
        for err in detail.get("errors", []):
            for element in (err.get("location") or {}).get("fieldPathElements", []):
                if element.get("fieldName") == "operations" and "index" in element:
                    failed[int(element["index"])] = str(err.get("message", "invalid operation"))
                    break
    return failed
