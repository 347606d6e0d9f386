"""Google Ads Customer Match through OfflineUserDataJobService: create job → addOperations → run.

Connection ``narrowcast_google_ads``: ``password`` = OAuth access token; extra ``developer_token`` (required),
``login_customer_id`` (manager account, optional), ``api_version`` (default in ``narrowcast.apis.versions``). One job per engine batch:
adds/changes become ``create`` operations (a change first removes the previously confirmed identifiers),
removals ``remove`` operations; ``enablePartialFailure`` lets Google reject single operations, which the
connector maps back to rows through ``partialFailureError`` field-path indexes.

Google processes a job for up to a day after ``run``, so the rows it accepts are answered with the job's
resource name. On later runs the engine asks for those jobs' ``status`` (one GAQL ``googleAds:search`` on
``offline_user_data_job`` per 100 jobs): SUCCESS confirms the rows, FAILED puts them back into the plan (with
``failure_reason``), PENDING/RUNNING are asked again next run. Re-sending a failed job's rows is harmless:
membership creates and removes are idempotent, and Google says a failed job may have applied some of them.
"""

from __future__ import annotations

from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    JobStatus,
    Limits,
    ObjectSpec,
    RowResult,
    chunks,
)
from narrowcast.apis import google_ads

FIELDS = frozenset({"hashedEmail", "hashedPhoneNumber"})
_JOB_STATES = {"SUCCESS": "succeeded", "FAILED": "failed"}  # PENDING, RUNNING (and UNKNOWN): ask again later


class GoogleCustomerMatch(Destination):
    name = "google_customer_match"
    connection_id = google_ads.CONNECTION_ID
    client_class = google_ads.GoogleAdsApi
    # Its own name in error messages, so a failure tells Customer Match from the reporting source.
    api_name = "google_ads_customer_match"
    objects = {
        "customer_match_list": ObjectSpec(
            optional_fields=FIELDS,
            required_target=frozenset({"customer_id", "user_list_id"}),
            hashed_fields=FIELDS,
            default_mode="mirror",
        )
    }
    # ≤ 100,000 identifiers per addOperations request; with two identifiers per user that is 50,000 users.
    # A job-status query names at most 100 jobs.
    limits = Limits(max_batch_size=50_000, default_rps=1.0, default_burst=3.0, max_concurrency=2,
                    request_caps={"job_status_query": 100})

    @property
    def _version(self) -> str:
        return self.client.api_version

    @property
    def _customer(self) -> str:
        return google_ads.digits(self.target["customer_id"])

    def send(self, batch: Batch) -> list[RowResult]:
        version, cid = self._version, self._customer
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
        return [RowResult(c.key, "rejected", reasons[c.key]) if c.key in reasons
                else RowResult(c.key, "accepted", job=resource) for c in batch.changes]

    def job_statuses(self, jobs: list[str]) -> dict[str, JobStatus]:
        """SUCCESS → succeeded, FAILED → failed (with ``failure_reason``); a job Google does not know → failed."""
        statuses: dict[str, JobStatus] = {}
        for group in chunks(jobs, self.limits.request_caps["job_status_query"]):
            names = ", ".join("'" + job.replace("'", "") + "'" for job in group)
            query = ("SELECT offline_user_data_job.resource_name, offline_user_data_job.status, "
                     "offline_user_data_job.failure_reason FROM offline_user_data_job "
                     f"WHERE offline_user_data_job.resource_name IN ({names})")
            answer = self.client.post_json(f"{self._version}/customers/{self._customer}/googleAds:search",
                                           {"query": query}) or {}
            for row in answer.get("results") or []:
                job = row.get("offlineUserDataJob") or {}
                status = str(job.get("status", "UNKNOWN"))
                state = _JOB_STATES.get(status, "pending")
                reason = f"{status} ({job.get('failureReason') or 'UNSPECIFIED'})" if state == "failed" else None
                statuses[str(job.get("resourceName"))] = JobStatus(state, reason)
            for job in group:
                statuses.setdefault(job, JobStatus("failed", "job not found at Google Ads"))
        return statuses


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
