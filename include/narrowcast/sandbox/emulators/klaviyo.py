"""Emulator of Klaviyo's JSON:API (profile bulk-import jobs, list relationships, profiles lookup, events,
data privacy deletion jobs).

Requires ``Authorization: Klaviyo-API-Key …`` and the ``revision`` header; enforces ≤ 10,000 profiles /
5 MB per import job and ≤ 1,000 profiles per list-relationship call; per-account, per-endpoint fixed windows
(burst per second, steady per minute, :data:`RATE_LIMITS`) answer 429 + ``Retry-After``. Jobs report queued → complete on polling, with
bad rows (invalid e-mail) under ``import-errors`` carrying their ``original_payload``. Events, one by one or
through ``event-bulk-create-jobs`` (≤ 1,000 events, 5 MB per request, 202 with no body and no job to poll), are
de-duplicated by ``unique_id`` across requests (create_event: "only the first processed event will be recorded");
within one bulk request a repeated ``unique_id`` for a profile and metric fails the whole request.
A ``data-privacy-deletion-jobs`` request names exactly one identifier (e-mail, phone number or profile id) and
is answered 202 with no body; every matching profile disappears with its list memberships and events.

Limits and error codes as Klaviyo's OpenAPI and "Rate limits, status codes, and errors" page state them:
JSON:API errors ``{id, status, code, title, detail, source}``; codes invalid (400), not_authenticated (401),
not_found (404), throttled (429), error (5xx); the bulk endpoints' sizes from their operation descriptions.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.apis.versions import KLAVIYO
from narrowcast.sandbox.api_versions import is_sunset
from narrowcast.sandbox.framework import SANDBOX_TOKEN, Emulator

# bulk_import_profiles: "up to 10,000 profiles", "maximum allowed payload size is 5MB".
MAX_PROFILES = 10_000
MAX_BYTES = 5 * 1024 * 1024
# add/remove_profiles_to/from_list: "a maximum of 1000 profiles per call".
LIST_LIMIT = 1_000
# bulk_create_events: "Accepts up to 1,000 events per request. The maximum allowed payload size is 5MB. A single
# string cannot exceed 100KB."; its event properties "must not exceed 400 properties"; a metric name "Must be less
# than 128 characters".
MAX_BULK_EVENTS = 1_000
MAX_STRING_BYTES = 100 * 1024
MAX_EVENT_PROPERTIES = 400
MAX_METRIC_NAME = 127
# Each endpoint's rate limit as its operation in Klaviyo's OpenAPI states it (x-klaviyo-ratelimit), counted per
# account and endpoint: bulk_import_profiles, get_bulk_import_profiles_job(_errors), add/remove_profiles_to/from_list
# and bulk_create_events 10/s & 150/m; get_profiles 75/s & 700/m; create_event 350/s & 3500/m;
# request_profile_deletion 3/s & 60/m.
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "bulk_import_profiles": (10, 150), "get_bulk_import_profiles_job": (10, 150),
    "get_bulk_import_profiles_job_errors": (10, 150), "list_relationships": (10, 150),
    "bulk_create_events": (10, 150), "get_profiles": (75, 700), "create_event": (350, 3500),
    "request_profile_deletion": (3, 60),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ANY = re.compile(r'^(any|equals)\((external_id|email|id),\s*(.+)\)$')


def api_error(status: int, title: str, detail: str, code: str = "invalid",
              headers: dict[str, str] | None = None, pointer: str | None = None,
              parameter: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"id": "sandbox", "status": status, "code": code, "title": title, "detail": detail}
    if pointer:
        error["source"] = {"pointer": pointer}
    elif parameter:  # a refused query parameter (ClientError's source.parameter)
        error["source"] = {"parameter": parameter}
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


class KlaviyoEmulator(Emulator):
    name = "klaviyo"
    prefix = "klaviyo"

    def __init__(self, world_dir: Path | None) -> None:
        super().__init__(world_dir)
        # Per-endpoint limits (burst per second, steady per minute); a test may lower them to exercise 429s.
        self.rate_limits = dict(RATE_LIMITS)
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self._ids = itertools.count(1)
        self.profiles: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, set[str]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        # How many looks an import job answers "processing" before "complete" (a test may raise it: a large job
        # stays processing for a while; the statuses are the OpenAPI's queued, processing, complete, ...).
        self.processing_polls = 1
        self.events: dict[str, dict[str, Any]] = {}
        self.duplicate_events = 0
        self.deletion_requests = 0
        self._by_external: dict[str, str] = {}
        self._by_email: dict[str, str] = {}

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.profiles.clear()
            self.lists.clear()
            self.jobs.clear()
            self.events.clear()
            self._windows.clear()
            self._by_external.clear()
            self._by_email.clear()
            self.duplicate_events = 0
            self.deletion_requests = 0
            self.processing_polls = 1

    def snapshot(self) -> dict[str, Any]:
        by_id = self.profiles
        return {
            "lists": {lid: sorted(str(by_id[p].get("external_id")) for p in members) for lid, members in self.lists.items()},
            "profiles": {str(p.get("external_id")): p for p in by_id.values()},
            "events": sorted(self.events.values(), key=lambda e: e["unique_id"]),
            "duplicate_events": self.duplicate_events,
            "deletion_requests": self.deletion_requests,
        }

    def rate_limited(self, retry_after: float) -> Response:
        return api_error(429, "Request was throttled.", "Request was throttled. Expected available in 1 second.",
                         code="throttled", headers={"Retry-After": f"{retry_after:g}"})

    def server_error(self) -> Response:
        return api_error(503, "Service Unavailable", "A server error occurred.", code="error")

    def unauthorized(self) -> Response:
        return api_error(401, "Incorrect authentication credentials.", "Missing or invalid private key.",
                         code="not_authenticated")

    # ---- gatekeeping -----------------------------------------------------------------------------
    def _gate(self, request: Request, operation: str) -> Response | None:
        if request.headers.get("authorization") != f"Klaviyo-API-Key {SANDBOX_TOKEN}":
            return self.unauthorized()
        if not request.headers.get("revision"):
            return api_error(400, "Missing revision header", "The 'revision' header is required.")
        if is_sunset(KLAVIYO, request.headers["revision"]) and request.headers.get(
                "x-klaviyo-revision-fall-forward-opt-out") == "1":
            # A retired revision falls forward to a supported one unless the request opts out, and then fails with
            # 410 Gone (https://developers.klaviyo.com/en/docs/api_versioning_and_deprecation_policy). The policy
            # names the status, not an error code: the body uses the generic documented "invalid".
            return api_error(410, "Revision retired", f"Revision {request.headers['revision']} has been retired; "
                             f"use a supported revision such as {KLAVIYO.default}.")
        burst_per_second, steady_per_minute = self.rate_limits[operation]
        now = time.time()
        second, minute = int(now), int(now // 60)
        with self.lock:
            s_key, s_count = self._windows.get((operation, "s"), (second, 0))
            m_key, m_count = self._windows.get((operation, "m"), (minute, 0))
            s_count = s_count + 1 if s_key == second else 1
            m_count = m_count + 1 if m_key == minute else 1
            self._windows[(operation, "s")], self._windows[(operation, "m")] = (second, s_count), (minute, m_count)
        if s_count > burst_per_second:
            return self.rate_limited(max(0.05, math.ceil(now) - now))
        if m_count > steady_per_minute:
            return self.rate_limited(max(1.0, (minute + 1) * 60 - now))
        return None

    # ---- routes ----------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        @router.post("/api/profile-bulk-import-jobs")
        @router.post("/api/profile-bulk-import-jobs/")
        async def create_job(request: Request) -> Response:
            if (denied := self._gate(request, "bulk_import_profiles")) is not None:
                return denied
            raw = await request.body()
            if len(raw) > MAX_BYTES:
                return api_error(400, "Invalid input.", f"Bulk import payloads are limited to {MAX_BYTES} bytes.")
            body = json.loads(raw)
            attrs = body.get("data", {}).get("attributes", {})
            profiles = attrs.get("profiles", {}).get("data", [])
            if len(profiles) > MAX_PROFILES:
                return api_error(400, "Invalid input.", f"At most {MAX_PROFILES} profiles per job.")
            lists = [rel["id"] for rel in body["data"].get("relationships", {}).get("lists", {}).get("data", [])]
            return JSONResponse({"data": {"type": "profile-bulk-import-job", "id": self._import(profiles, lists),
                                          "attributes": {"status": "queued", "total_count": len(profiles)}}},
                                status_code=202)

        @router.get("/api/profile-bulk-import-jobs/{job_id}")
        def get_job(job_id: str, request: Request) -> Response:
            if (denied := self._gate(request, "get_bulk_import_profiles_job")) is not None:
                return denied
            with self.lock:
                job = self.jobs.get(job_id)
                if job is None:
                    return api_error(404, "Not found", f"Job {job_id} does not exist.", code="not_found")
                job["polls"] += 1
                status = "processing" if job["polls"] <= self.processing_polls else "complete"
            return JSONResponse({"data": {"type": "profile-bulk-import-job", "id": job_id, "attributes": {
                "status": status, "total_count": job["total"], "completed_count": job["total"] - len(job["errors"]),
                "failed_count": len(job["errors"])}}})

        @router.get("/api/profile-bulk-import-jobs/{job_id}/import-errors")
        def import_errors(job_id: str, request: Request) -> Response:
            if (denied := self._gate(request, "get_bulk_import_profiles_job_errors")) is not None:
                return denied
            job = self.jobs.get(job_id)
            if job is None:
                return api_error(404, "Not found", f"Job {job_id} does not exist.", code="not_found")
            return JSONResponse({"data": job["errors"], "links": {"next": None}})

        @router.post("/api/lists/{list_id}/relationships/profiles")
        @router.delete("/api/lists/{list_id}/relationships/profiles")
        async def relationships(list_id: str, request: Request) -> Response:
            if (denied := self._gate(request, "list_relationships")) is not None:
                return denied
            ids = [item.get("id") for item in (await request.json()).get("data", [])]
            if len(ids) > LIST_LIMIT:
                return api_error(400, "Too many profiles", f"At most {LIST_LIMIT} profiles per request.")
            with self.lock:
                unknown = [i for i in ids if i not in self.profiles]
                if unknown:
                    return api_error(404, "Profile not found", f"Profile {unknown[0]} does not exist.", code="not_found")
                members = self.lists.setdefault(list_id, set())
                if request.method == "POST":
                    members.update(ids)
                else:
                    members.difference_update(ids)
            return Response(status_code=204)

        @router.get("/api/profiles")
        @router.get("/api/profiles/")
        def profiles(request: Request) -> Response:
            if (denied := self._gate(request, "get_profiles")) is not None:
                return denied
            match = _ANY.match(request.query_params.get("filter", ""))
            if not match:
                return api_error(400, "Invalid filter", "Supported: any(external_id,[...]) or equals(field,value).")
            field, values = match.group(2), json.loads(match.group(3))
            wanted = {str(v) for v in (values if isinstance(values, list) else [values])}
            size = int(request.query_params.get("page[size]", 20))
            if size > 100:
                return api_error(400, "Invalid page size", "page[size] must be at most 100.")
            index = {"external_id": self._by_external, "email": self._by_email}.get(field)
            with self.lock:
                if index is None:
                    found = [pid for pid in wanted if pid in self.profiles]
                else:
                    found = [index[v] for v in sorted(wanted) if v in index]
            return JSONResponse({"data": [{"type": "profile", "id": pid,
                                           "attributes": {"external_id": self.profiles[pid].get("external_id")}}
                                          for pid in found[:size]], "links": {"next": None}})

        @router.post("/api/event-bulk-create-jobs")
        @router.post("/api/event-bulk-create-jobs/")
        async def bulk_create_events(request: Request) -> Response:
            if (denied := self._gate(request, "bulk_create_events")) is not None:
                return denied
            raw = await request.body()
            if len(raw) > MAX_BYTES:
                return api_error(400, "Invalid input.", f"The maximum allowed payload size is {MAX_BYTES} bytes.")
            attrs = json.loads(raw).get("data", {}).get("attributes", {})
            entries = attrs.get("events-bulk-create", {}).get("data", [])
            events = [(e.get("attributes", {}).get("profile", {}).get("data", {}).get("attributes", {}),
                       item.get("attributes", {}))
                      for e in entries for item in e.get("attributes", {}).get("events", {}).get("data", [])]
            if len(events) > MAX_BULK_EVENTS:
                return api_error(400, "Invalid input.", f"Accepts up to {MAX_BULK_EVENTS} events per request.")
            seen: set[tuple[str, str, str]] = set()
            for index, (profile, event) in enumerate(events):
                pointer = f"/data/attributes/events-bulk-create/data/{index}"
                metric = event.get("metric", {}).get("data", {}).get("attributes", {}).get("name")
                if not profile or not metric:
                    return api_error(400, "Invalid input.", "Each event needs a profile identifier and a metric name.",
                                     pointer=pointer)
                if len(metric) > MAX_METRIC_NAME:
                    return api_error(400, "Invalid input.", "The metric name must be less than 128 characters.",
                                     pointer=pointer)
                properties = event.get("properties")
                if not isinstance(properties, dict) or len(properties) > MAX_EVENT_PROPERTIES:
                    return api_error(400, "Invalid input.", f"Event properties are required and must not exceed "
                                     f"{MAX_EVENT_PROPERTIES} properties.", pointer=pointer)
                if any(isinstance(v, str) and len(v.encode()) > MAX_STRING_BYTES for v in properties.values()):
                    return api_error(400, "Invalid input.", "A single string cannot exceed 100KB.", pointer=pointer)
                # bulk_create_events, unique_id: "If a unique_id is repeated for the same profile and metric, the
                # request will fail and no events will be processed."
                if event.get("unique_id"):
                    who = str(profile.get("external_id") or profile.get("email") or profile.get("phone_number"))
                    repeat = (who, metric, str(event["unique_id"]))
                    if repeat in seen:
                        return api_error(400, "Invalid input.", "unique_id is repeated for the same profile and "
                                         "metric.", pointer=pointer)
                    seen.add(repeat)
            with self.lock:
                for profile, event in events:
                    self._record_event(profile, event)
                self.received.append({"bulk_events": len(events), "profiles": len(entries)})
            return Response(status_code=202)

        @router.post("/api/events")
        @router.post("/api/events/")
        async def create_event(request: Request) -> Response:
            if (denied := self._gate(request, "create_event")) is not None:
                return denied
            attrs = (await request.json()).get("data", {}).get("attributes", {})
            metric = attrs.get("metric", {}).get("data", {}).get("attributes", {}).get("name")
            profile = attrs.get("profile", {}).get("data", {}).get("attributes", {})
            if not metric or not profile:
                return api_error(400, "Invalid input.", "metric name and profile are required.",
                                 pointer="/data/attributes/metric")
            with self.lock:
                self._record_event(profile, attrs)
            return Response(status_code=202)

        @router.post("/api/data-privacy-deletion-jobs")
        @router.post("/api/data-privacy-deletion-jobs/")
        async def request_profile_deletion(request: Request) -> Response:
            if (denied := self._gate(request, "request_profile_deletion")) is not None:
                return denied
            data = (await request.json()).get("data", {})
            profile = data.get("attributes", {}).get("profile", {}).get("data", {})
            if data.get("type") != "data-privacy-deletion-job" or profile.get("type") != "profile":
                return api_error(400, "Invalid input.", "Expected a data-privacy-deletion-job for a profile.",
                                 pointer="/data/type")
            identifiers = {k: v for k, v in (profile.get("attributes") or {}).items() if v}
            if profile.get("id"):
                identifiers["id"] = profile["id"]
            if len(identifiers) != 1 or not identifiers.keys() <= {"email", "phone_number", "id"}:
                return api_error(400, "Invalid input.", "Provide exactly one of email, phone_number or id.",
                                 pointer="/data/attributes/profile/data")
            with self.lock:
                self._delete_profiles(*next(iter(identifiers.items())))
                self.deletion_requests += 1
            return Response(status_code=202)

    # ---- state changes ---------------------------------------------------------------------------
    def _delete_profiles(self, identifier: str, value: str) -> None:
        """Every profile the identifier matches goes, with its list memberships and events."""
        if identifier == "id":
            gone = [value] if value in self.profiles else []
        else:
            gone = [pid for pid, p in self.profiles.items()
                    if str(p.get(identifier) or "").lower() == str(value).lower()]
        for pid in gone:
            profile = self.profiles.pop(pid)
            for members in self.lists.values():
                members.discard(pid)
            self._by_external = {k: v for k, v in self._by_external.items() if v != pid}
            self._by_email = {k: v for k, v in self._by_email.items() if v != pid}
            external_id = profile.get("external_id")
            if external_id is not None:
                self.events = {k: e for k, e in self.events.items() if e["external_id"] != external_id}

    def _record_event(self, profile: dict[str, Any], attrs: dict[str, Any]) -> None:
        # Keyed by unique_id alone: the connector's ids embed the row key, so equal ids mean one profile and metric.
        unique_id = str(attrs.get("unique_id") or f"auto-{next(self._ids)}")
        if unique_id in self.events:
            self.duplicate_events += 1
            return
        pid = self._upsert_profile(profile)
        self.events[unique_id] = {"unique_id": unique_id,
                                  "metric": attrs.get("metric", {}).get("data", {}).get("attributes", {}).get("name"),
                                  "external_id": self.profiles[pid].get("external_id"),
                                  "properties": attrs.get("properties", {}), "time": attrs.get("time")}

    def _import(self, profiles: list[dict[str, Any]], lists: list[str]) -> str:
        with self.lock:
            job_id = f"job{next(self._ids)}"
            errors = []
            for index, item in enumerate(profiles):
                attrs = item.get("attributes", {})
                email = attrs.get("email")
                if email is not None and not _EMAIL.match(str(email)):
                    errors.append({"type": "import-error", "id": f"{job_id}-{index}", "attributes": {
                        "code": "invalid", "title": "Invalid email address", "detail": "The email is not valid.",
                        "source": {"pointer": f"/data/attributes/profiles/data/{index}/attributes/email"},
                        "original_payload": dict(attrs)}})
                    continue
                pid = self._upsert_profile(attrs)
                for list_id in lists:
                    self.lists.setdefault(list_id, set()).add(pid)
            self.jobs[job_id] = {"total": len(profiles), "errors": errors, "polls": 0}
            self.received.append({"job": job_id, "profiles": len(profiles), "lists": lists})
        return job_id

    def _upsert_profile(self, attrs: dict[str, Any]) -> str:
        external_id, email = attrs.get("external_id"), attrs.get("email")
        pid = self._by_external.get(str(external_id)) if external_id else None
        if pid is None and email:
            pid = self._by_email.get(str(email).lower())
        if pid is None:
            pid = f"01SANDBOX{next(self._ids):08d}"
            self.profiles[pid] = {}
        if external_id:
            self._by_external[str(external_id)] = pid
        if email:
            self._by_email[str(email).lower()] = pid
        profile = self.profiles[pid]
        properties = {**profile.get("properties", {}), **(attrs.get("properties") or {})}
        profile.update({k: v for k, v in attrs.items() if k != "properties" and v is not None})
        if properties:
            profile["properties"] = properties
        return pid


EMULATOR = KlaviyoEmulator
