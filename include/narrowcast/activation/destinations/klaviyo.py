"""Klaviyo (JSON:API): list members via profile bulk-import jobs, list removals, and metric events.

Connection ``narrowcast_klaviyo``: ``password`` = private API key (sent as ``Klaviyo-API-Key``); extra
``revision`` (default in ``narrowcast.apis.versions``) and ``poll_interval_seconds`` (default 1.0: an import job
is asked after 0.25 s, then after waits that double up to that interval; the job's GET allows a burst of 10/s and
150/min, Klaviyo's OpenAPI for get_bulk_import_profiles_job).

* ``list_members``: adds/changes → ``POST /api/profile-bulk-import-jobs`` (≤ 10,000 profiles, upsert, with
  the list relationship) polled until complete; per-row failures read from ``import-errors``. Removals →
  profile ids looked up by ``external_id`` then ``DELETE /api/lists/{id}/relationships/profiles`` (≤ 1,000).
  A failed row is recognised by the ``original_payload`` of its ``import-error`` (the OpenAPI's
  ImportErrorResponseObjectResource), never by parsing ``source.pointer``, whose format is undocumented.
* ``event``: rows entering the model go through ``POST /api/event-bulk-create-jobs`` (bulk_create_events in
  Klaviyo's OpenAPI: ≤ 1,000 events and 5 MB per request, burst 10/s, steady 150/m), one entry per profile
  carrying all of that profile's events, each with ``unique_id`` = record key + UTC day, so a re-send after a crash
  is de-duplicated by Klaviyo rather than e-mailing the customer twice. Klaviyo answers 202 with no body and
  offers no job to poll: the 202 says the request was validated and queued, which is all Klaviyo ever confirms
  (there is no per-event outcome to read later), so accepted rows are confirmed at once; a 4xx refuses the whole
  request, whose rows are stored as rejected with Klaviyo's reason. The single-event ``POST /api/events`` has no
  documented advantage here (it too only queues), so it is not used. In mirror mode a row that leaves the model
  is only forgotten (events cannot be deleted), so a customer who qualifies again later triggers the flow again.
* :func:`request_profile_deletion`: a person's data deletion (erasure request) through
  ``POST /api/data-privacy-deletion-jobs`` (202, asynchronous): Klaviyo deletes every profile matching the one
  identifier given (e-mail, phone number or profile id), with their events and list memberships.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    chunks,
)
from narrowcast.apis import klaviyo
from narrowcast.http import FatalApiError
from narrowcast.http.pagination import paginate

PROFILE_FIELDS = frozenset({"email", "phone_number", "external_id", "first_name", "last_name"})
DELETION_IDENTIFIERS = ("email", "phone_number", "profile_id")
# The first look at a profile import job, in seconds (then doubling up to the connection's poll_interval_seconds).
FIRST_POLL_SECONDS = 0.25
# bulk_create_events: "The maximum allowed payload size is 5MB"; the envelope around the entries is kept under it.


class Klaviyo(Destination):
    name = "klaviyo"
    connection_id = klaviyo.CONNECTION_ID
    client_class = klaviyo.KlaviyoApi
    api_name = "klaviyo"
    objects = {
        # Klaviyo limits each endpoint on its own, per account ("Rate limits, status codes, and errors": rate
        # limits for specific endpoints are in each endpoint's reference; x-klaviyo-ratelimit per operation in its
        # OpenAPI). The two objects call disjoint endpoints (bulk_import_profiles, its job and errors, get_profiles
        # and the list relationships; bulk_create_events), so their syncs send side by side.
        "list_members": ObjectSpec(
            required_fields=frozenset({"email", "external_id"}),
            required_target=frozenset({"list_id"}),
            default_mode="mirror",
            rate_budget="profile_imports_and_lists",
        ),
        "event": ObjectSpec(
            required_fields=frozenset({"external_id"}),
            required_target=frozenset({"metric"}),
            default_mode="mirror",
            allowed_modes=frozenset({"add_only", "mirror"}),
            rate_budget="bulk_create_events",
        ),
    }
    # ≤ 10,000 profiles per bulk-import job; ≤ 1,000 profiles per list-relationship removal; ≤ 1,000 events per
    # bulk-create job (bulk_create_events in Klaviyo's OpenAPI); profiles are looked up 100 external ids (one
    # page) at a time.
    limits = Limits(max_batch_size=10_000, default_rps=10.0, default_burst=10.0, max_concurrency=4,
                    request_caps={"list_removal": 1_000, "profile_lookup": 100,
                                  "event_bulk_create": klaviyo.BULK_EVENTS_MAX})

    def send(self, batch: Batch) -> list[RowResult]:
        if self.object == "event":
            # Only entering the model is an event; a changed or departed row just updates what is confirmed.
            entering = [c for c in batch.changes if c.op == "add"]
            sent = {r.key: r for r in self._events(entering)} if entering else {}
            return [sent.get(c.key) or RowResult(c.key, "accepted", sent=False) for c in batch.changes]
        if batch.kind == "remove":
            return self._remove(batch.changes)
        return self._import(batch.changes)

    # ---- list members ----------------------------------------------------------------------------
    def _import(self, changes: list[Change]) -> list[RowResult]:
        profiles = [{"type": "profile", "attributes": _profile(c.payload)} for c in changes]
        body = {"data": {"type": "profile-bulk-import-job",
                         "attributes": {"profiles": {"data": profiles}},
                         "relationships": {"lists": {"data": [{"type": "list", "id": str(self.target["list_id"])}]}}}}
        job = self.client.post_json("api/profile-bulk-import-jobs", body)
        job_id = job["data"]["id"]
        interval = float(self.context.connection.extra.get("poll_interval_seconds", 1.0))
        wait = min(FIRST_POLL_SECONDS, interval)
        while True:
            status = self.client.get_json(f"api/profile-bulk-import-jobs/{job_id}")["data"]["attributes"]["status"]
            if status in ("complete", "cancelled", "failed"):
                break
            self.context.sleep(wait)
            wait = min(wait * 2, interval)  # a small job is done in moments; a large one is asked once an interval
        if status != "complete":
            return [RowResult(c.key, "rejected", f"Klaviyo import job {job_id} ended {status}") for c in changes]
        by_identity = {identity: c.key for c in changes for identity in _identities(_profile(c.payload))}
        reasons: dict[str, str] = {}
        unattributed = 0
        for page in paginate(self.client, f"api/profile-bulk-import-jobs/{job_id}/import-errors", None, klaviyo.PAGES):
            for err in page.json().get("data", []):
                attrs = err.get("attributes", {})
                reason = f"Klaviyo import error: {attrs.get('title')}: {attrs.get('detail')}"
                keys = {by_identity[i] for i in _identities(attrs.get("original_payload") or {}) if i in by_identity}
                for key in keys:
                    reasons.setdefault(key, reason)
                unattributed += not keys
        if unattributed:
            # An error whose original_payload names no row of the job: no row can be called confirmed, and a
            # re-sent import is an idempotent upsert.
            reason = f"Klaviyo import job {job_id} reported {unattributed} error(s) it tied to no profile"
            return [RowResult(c.key, "rejected", reasons.get(c.key, reason)) for c in changes]
        return [RowResult(c.key, "rejected", reasons[c.key]) if c.key in reasons else RowResult(c.key, "accepted")
                for c in changes]

    def _remove(self, changes: list[Change]) -> list[RowResult]:
        by_external = {str(c.payload.get("external_id")): c.key for c in changes}
        lookup = self.limits.request_caps["profile_lookup"]
        profile_ids: list[str] = []
        for group in chunks(sorted(by_external), lookup):
            ids = ",".join(json.dumps(v) for v in group)
            params = {"filter": f"any(external_id,[{ids}])", "page[size]": lookup, "fields[profile]": "external_id"}
            for page in paginate(self.client, "api/profiles", params, klaviyo.PAGES):
                profile_ids.extend(p["id"] for p in page.json().get("data", []))
        for group in chunks(profile_ids, self.limits.request_caps["list_removal"]):
            self.client.request("DELETE", f"api/lists/{self.target['list_id']}/relationships/profiles",
                                json={"data": [{"type": "profile", "id": pid} for pid in group]})
        # A profile Klaviyo does not know is not on the list either: the removal holds.
        return [RowResult(c.key, "accepted") for c in changes]

    # ---- events ----------------------------------------------------------------------------------
    def _events(self, changes: list[Change]) -> list[RowResult]:
        """Every entering row's event in as few bulk-create requests as the event and byte caps allow."""
        results: list[RowResult] = []
        for group in klaviyo.pack_event_requests(self._event_entries(changes),
                                                 self.limits.request_caps["event_bulk_create"]):
            body = klaviyo.bulk_events_body(group)
            keys = [key for _, entry_keys in group for key in entry_keys]
            try:
                self.client.post_json("api/event-bulk-create-jobs", body)
            except FatalApiError as exc:
                if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403):
                    results.extend(RowResult(k, "rejected", f"Klaviyo refused the events: {exc.message}") for k in keys)
                    continue
                raise
            results.extend(RowResult(k, "accepted") for k in keys)
        return results

    def _event_entries(self, changes: list[Change]) -> list[tuple[dict[str, Any], list[str]]]:
        """One bulk entry per profile with that profile's events (the OpenAPI's EventsBulkCreateQueryResourceObject),
        each paired with the record keys of its events; the profile attributes are the first row's."""
        day = datetime.now(UTC).date().isoformat()
        metric = {"data": {"type": "metric", "attributes": {"name": str(self.target["metric"])}}}
        by_profile: dict[str, tuple[dict[str, Any], list[dict[str, Any]], list[str]]] = {}
        for change in changes:
            payload = change.payload
            identity = _identity_attributes(payload)
            event: dict[str, Any] = {"properties": _properties(payload), "metric": metric,
                                     "unique_id": f"{change.key}:{day}"}
            if payload.get("time"):
                event["time"] = str(payload["time"])
            if payload.get("value") is not None:
                event["value"] = payload["value"]
            # Rows naming the same external id (else the same e-mail) are one profile and share its entry.
            who = (f"external_id:{identity['external_id']}" if identity.get("external_id")
                   else f"email:{str(identity['email']).lower()}" if identity.get("email") else f"row:{change.key}")
            _, events, keys = by_profile.setdefault(who, (identity, [], []))
            events.append({"type": "event", "attributes": event})
            keys.append(change.key)
        return [({"type": "event-bulk-create", "attributes": {
                    "profile": {"data": {"type": "profile", "attributes": identity}},
                    "events": {"data": events}}}, keys)
                for identity, events, keys in by_profile.values()]


def request_profile_deletion(
    client: klaviyo.KlaviyoApi, *, email: str | None = None, phone_number: str | None = None,
    profile_id: str | None = None,
) -> None:
    """Ask Klaviyo to delete every profile matching one identifier; raises unless Klaviyo accepted the job.

    Klaviyo's OpenAPI (request_profile_deletion) takes exactly one identifier per job and answers 202 with no
    body; the profile id travels as the resource's ``id``, an e-mail or phone number (E.164) as its attribute.
    """
    given = {k: v for k, v in (("email", email), ("phone_number", phone_number), ("profile_id", profile_id)) if v}
    if len(given) != 1:
        raise ValueError(f"a Klaviyo deletion job takes exactly one of {', '.join(DELETION_IDENTIFIERS)}, "
                         f"got {len(given)}")
    profile: dict[str, Any] = {"type": "profile", "attributes": {}}
    if profile_id:
        profile["id"] = profile_id
    else:
        profile["attributes"] = dict(given)
    body = {"data": {"type": "data-privacy-deletion-job", "attributes": {"profile": {"data": profile}}}}
    client.request("POST", "api/data-privacy-deletion-jobs", json=body)


def _properties(payload: dict[str, Any]) -> dict[str, Any]:
    return {k.split(".", 1)[1]: v for k, v in payload.items() if k.startswith("properties.")}


def _identity_attributes(payload: Any) -> dict[str, Any]:
    """The profile fields of a row; ``external_id`` is a string in Klaviyo's OpenAPI, whatever the mart's type."""
    attributes = {k: payload[k] for k in PROFILE_FIELDS if payload.get(k) not in (None, "")}
    if "external_id" in attributes:
        attributes["external_id"] = str(attributes["external_id"])
    return attributes


def _profile(payload: Any) -> dict[str, Any]:
    profile = _identity_attributes(payload)
    profile["external_id"] = str(payload["external_id"])
    props = _properties(payload)
    if props:
        profile["properties"] = props
    return profile


def _identities(profile: Any) -> set[str]:
    """How an import error's ``original_payload`` can name a row: its external id or its e-mail."""
    if not isinstance(profile, dict):
        return set()
    attrs = profile.get("attributes") if isinstance(profile.get("attributes"), dict) else profile
    found = set()
    if attrs.get("external_id") not in (None, ""):
        found.add(f"external_id:{attrs['external_id']}")
    if attrs.get("email") not in (None, ""):
        found.add(f"email:{str(attrs['email']).lower()}")
    return found
