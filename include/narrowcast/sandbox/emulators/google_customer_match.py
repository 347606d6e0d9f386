"""Emulator of Google Ads Customer Match (OfflineUserDataJobService), the activation destination.

Job life cycle create → addOperations (n×) → run; addOperations after run is refused; ≤ 100,000 identifiers
per request and ≤ 20 per user (``TOO_MANY_USER_IDENTIFIERS``); hashed identifiers must be 64-hex, reported
per operation index in ``partialFailureError`` when ``enablePartialFailure`` is set. ``run`` applies the
job's operations to the user list, whose members :meth:`snapshot` returns.

Like Google, a job can also stay RUNNING after ``run`` and end later: with ``hold_jobs`` set, ``run`` only marks
it RUNNING, and :meth:`finish_jobs` ends every running job, SUCCESS (operations applied) or FAILED with a
failure reason (nothing applied). ``googleAds:search`` answers GAQL queries on ``offline_user_data_job``
(resource_name, status, failure_reason) for the jobs named in the WHERE clause.
Every error's ``status`` is a canonical google.rpc.Code (googleapis google/rpc/code.proto) with its HTTP mapping;
every ``errorCode`` is a value of its Google Ads error enum (googleapis google/ads/googleads/v25/errors/*.proto:
RequestError, QueryError, AuthenticationError, QuotaError, OfflineUserDataJobError).
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from narrowcast.apis.versions import GOOGLE_ADS
from narrowcast.sandbox.emulators.google_ads import sunset_version
from narrowcast.sandbox.framework import Emulator
from narrowcast.sandbox.tokens import accepts, bearer

MAX_IDENTIFIERS = 100_000
MAX_PER_USER = 20
_SHA = re.compile(r"^[0-9a-f]{64}$")
_FAILURE_TYPE = f"type.googleapis.com/google.ads.googleads.{GOOGLE_ADS.default}.errors.GoogleAdsFailure"
_JOB_NAME = re.compile(r"'(customers/\d+/offlineUserDataJobs/\d+)'")


def google_error(status_code: int, status: str, message: str, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": status_code, "message": message, "status": status,
                      "details": [{"@type": _FAILURE_TYPE, "errors": errors or [], "requestId": "sandbox"}]}}
    return JSONResponse(body, status_code=status_code, headers=headers)


class GoogleCustomerMatchEmulator(Emulator):
    name = "google_customer_match"
    prefix = "google_ads"

    def __init__(self, world_dir: Path | None) -> None:
        super().__init__(world_dir)
        # Job ids unique across emulator processes, as Google's are: a restarted sandbox must not hand out the
        # name of a job an earlier one ran.
        self._ids = itertools.count(int(time.time() * 1000))
        self.jobs: dict[str, dict[str, Any]] = {}
        self.user_lists: dict[str, dict[str, list[dict[str, str]]]] = {}
        self.invalid_values: list[str] = []
        self.hold_jobs = False

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.jobs.clear()
            self.user_lists.clear()
            self.invalid_values.clear()
            self.hold_jobs = False

    def finish_jobs(self, failure_reason: str | None = None) -> list[str]:
        """End every RUNNING job: SUCCESS applies its operations, a ``failure_reason`` fails it; returns the jobs."""
        with self.lock:
            running = [name for name, job in self.jobs.items() if job["status"] == "RUNNING"]
            for name in running:
                job = self.jobs[name]
                if failure_reason is None:
                    self._apply(job)
                    job["status"] = "SUCCESS"
                else:
                    job["status"], job["failure_reason"] = "FAILED", failure_reason
        return running

    def snapshot(self) -> dict[str, Any]:
        return {
            "user_lists": {name: sorted(members) for name, members in self.user_lists.items()},
            "jobs": {name: job["status"] for name, job in self.jobs.items()},
            "invalid_values": list(self.invalid_values),
        }

    def rate_limited(self, retry_after: float) -> Response:
        return google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.", [{
            "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}, "message": "Too many requests.",
            "details": {"quotaErrorDetails": {"rateScope": "DEVELOPER", "retryDelay": f"{retry_after:g}s"}}}],
            headers={"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")

    def unauthorized(self) -> Response:
        return google_error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.", [{
            "errorCode": {"authenticationError": "OAUTH_TOKEN_INVALID"},
            "message": "Request is missing required authentication credential."}])

    def _auth(self, request: Request) -> Response | None:
        if not accepts(request, "google", bearer(request)):
            return self.unauthorized()
        if (gone := sunset_version(request.path_params.get("version", ""))) is not None:
            return gone
        if not request.headers.get("developer-token"):
            return google_error(400, "INVALID_ARGUMENT", "developer-token header is missing.",
                                [{"errorCode": {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"},
                                  "message": "developer-token header is missing."}])
        return None

    def routes(self, router: APIRouter) -> None:
        @router.post("/{version}/customers/{cid}/offlineUserDataJobs:create")
        async def create(version: str, cid: str, request: Request) -> Response:
            if (denied := self._auth(request)) is not None:
                return denied
            body = await request.json()
            job = body.get("job") or {}
            user_list = (job.get("customerMatchUserListMetadata") or {}).get("userList")
            if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or not user_list:
                return google_error(400, "INVALID_ARGUMENT", "job.type CUSTOMER_MATCH_USER_LIST and userList required.",
                                    [{"errorCode": {"requestError": "REQUIRED_FIELD_MISSING"},
                                      "message": "job.type CUSTOMER_MATCH_USER_LIST and userList required."}])
            with self.lock:
                name = f"customers/{cid}/offlineUserDataJobs/{next(self._ids)}"
                self.jobs[name] = {"status": "PENDING", "user_list": user_list, "operations": []}
            return JSONResponse({"resourceName": name})

        @router.post("/{version}/customers/{cid}/offlineUserDataJobs/{job_action}")
        async def job_action(version: str, cid: str, job_action: str, request: Request) -> Response:
            if (denied := self._auth(request)) is not None:
                return denied
            job_id, _, action = job_action.partition(":")
            name = f"customers/{cid}/offlineUserDataJobs/{job_id}"
            with self.lock:
                job = self.jobs.get(name)
            if job is None:
                return google_error(404, "NOT_FOUND", f"Resource {name} was not found.", [{
                    "errorCode": {"requestError": "RESOURCE_NOT_FOUND"}, "message": f"Resource {name} was not found."}])
            if action == "addOperations":
                return self._add_operations(job, await request.json())
            if action == "run":
                return self._run(name, job)
            # No such method: refused before the API, like any path Google does not serve.
            return PlainTextResponse("Not Found", status_code=404)

        @router.post("/{version}/customers/{cid}/googleAds:search")
        async def search(version: str, cid: str, request: Request) -> Response:
            if (denied := self._auth(request)) is not None:
                return denied
            query = str((await request.json()).get("query") or "")
            if "from offline_user_data_job" not in " ".join(query.lower().split()):
                return google_error(400, "INVALID_ARGUMENT", "Only offline_user_data_job is queryable here.", [{
                    "errorCode": {"queryError": "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"},
                    "message": "The sandbox answers GAQL on offline_user_data_job only."}])
            results = []
            with self.lock:
                for name in _JOB_NAME.findall(query):
                    job = self.jobs.get(name)
                    if job is None or not name.startswith(f"customers/{cid}/"):
                        continue
                    row = {"resourceName": name, "status": job["status"]}
                    if job.get("failure_reason"):
                        row["failureReason"] = job["failure_reason"]
                    results.append({"offlineUserDataJob": row})
            return JSONResponse({"results": results, "fieldMask": "offlineUserDataJob.resourceName,"
                                 "offlineUserDataJob.status,offlineUserDataJob.failureReason"})

    def _add_operations(self, job: dict[str, Any], body: dict[str, Any]) -> Response:
        operations = body.get("operations") or []
        total = sum(len(_user(op)) for op in operations)
        if total > MAX_IDENTIFIERS or any(len(_user(op)) > MAX_PER_USER for op in operations):
            return google_error(400, "INVALID_ARGUMENT", "Too many user identifiers.", [{
                "errorCode": {"offlineUserDataJobError": "TOO_MANY_USER_IDENTIFIERS"},
                "message": f"At most {MAX_IDENTIFIERS} identifiers per request and {MAX_PER_USER} per user."}])
        errors = []
        accepted = []
        for index, op in enumerate(operations):
            problem = _problem(op)
            if problem:
                errors.append({"errorCode": problem[0], "message": problem[1],
                               "location": {"fieldPathElements": [{"fieldName": "operations", "index": index}]}})
                self.invalid_values.extend(problem[2])
            else:
                accepted.append(op)
        with self.lock:
            if job["status"] != "PENDING":
                return google_error(400, "INVALID_ARGUMENT", "Operations cannot be added to a job that has run.", [{
                    "errorCode": {"offlineUserDataJobError": "JOB_ALREADY_STARTED"}, "message": "job already run"}])
            if errors and not body.get("enablePartialFailure"):
                return google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", errors)
            job["operations"].extend(accepted)
        if errors:
            return JSONResponse({"partialFailureError": {"code": 3, "message": f"{len(errors)} operations failed",
                                                         "details": [{"@type": _FAILURE_TYPE, "errors": errors}]}})
        return JSONResponse({})

    def _run(self, name: str, job: dict[str, Any]) -> Response:
        with self.lock:
            if job["status"] != "PENDING":
                return google_error(400, "INVALID_ARGUMENT", "Job has already run.", [{
                    "errorCode": {"offlineUserDataJobError": "JOB_ALREADY_STARTED"}, "message": "Job has already run."}])
            if self.hold_jobs:
                job["status"] = "RUNNING"
            else:
                self._apply(job)
                job["status"] = "SUCCESS"
            self.received.append({"job": name, "operations": len(job["operations"])})
        return JSONResponse({"name": name.replace("offlineUserDataJobs", "operations")})

    def _apply(self, job: dict[str, Any]) -> None:
        members = self.user_lists.setdefault(job["user_list"], {})
        for op in job["operations"]:
            identifiers = _user(op)
            member = next((v for i in identifiers for k, v in i.items() if k == "hashedEmail"),
                          next(iter(identifiers[0].values())) if identifiers else None)
            if member is None:
                continue
            if "create" in op:
                members[member] = identifiers
            else:
                members.pop(member, None)


def _user(op: dict[str, Any]) -> list[dict[str, str]]:
    inner = op.get("create") or op.get("remove") or {}
    return list(inner.get("userIdentifiers") or [])


def _problem(op: dict[str, Any]) -> tuple[dict[str, str], str, list[str]] | None:
    """(errorCode, message, refused values) of an operation Google would refuse, or None."""
    if "create" not in op and "remove" not in op:
        return {"requestError": "OPERATION_REQUIRED"}, "operation must be create or remove", []
    identifiers = _user(op)
    if not identifiers:
        return {"offlineUserDataJobError": "MISSING_USER_IDENTIFIER"}, "user has no identifier", []
    for identifier in identifiers:
        for key, value in identifier.items():
            if key.startswith("hashed") and not (isinstance(value, str) and _SHA.match(value)):
                return ({"offlineUserDataJobError": "INVALID_SHA256_FORMAT"},
                        f"{key} is not a SHA-256 hex digest", [str(value)])
    return None


EMULATOR = GoogleCustomerMatchEmulator
