"""Meta (Facebook) Custom Audiences: add/remove hashed users with ``POST/DELETE /{version}/{audience_id}/users``.

Connection ``narrowcast_meta``: ``password`` = system-user access token; extra ``api_version`` (default in ``narrowcast.apis.versions``).
Wire format as the official Business SDK (facebook-python-business-sdk, ``CustomAudience``) sends it:
``payload`` = ``{"schema": ..., "data": [[...]]}`` and ``session`` = ``{session_id, batch_seq, last_batch_flag,
estimated_num_total}``, ≤ 10,000 rows per request. One key alone uses the SDK's single-key schema
(``EMAIL_SHA256``, ``PHONE_SHA256``); several keys the multi-key names (``EMAIL``, ``PHONE``, ...). Additions
are a POST with a JSON body; removals a DELETE whose parameters (JSON-encoded) travel in the query string, as
the SDK sends every GET and DELETE (``FacebookAdsApi.call`` puts the params of a GET or DELETE in the URL and only
a POST's in the body). Meta's "Custom Audience Users" reference documents removal only as ``DELETE
/{custom_audience_id}/users`` with ``payload``/``session``; it documents no POST override nor a DELETE body, so
removals stay in the URL and each removal request is bounded by URL length as well as by rows: the rows of a batch
are split over as many DELETEs as keep every URL within :data:`URL_BUDGET`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
)
from narrowcast.apis import meta
from narrowcast.contracts.connections import Connection

HASHED = frozenset({"EMAIL", "PHONE", "FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "GEN", "DOBY"})
UNHASHED = frozenset({"EXTERN_ID", "MADID", "LOOKALIKE_VALUE"})
ROUTE_FIELD = "audience"
# CustomAudience.Schema of the Business SDK: the name of a key when it is the only one sent.
SINGLE_KEY_SCHEMA = {"EMAIL": "EMAIL_SHA256", "PHONE": "PHONE_SHA256"}
# The longest URL a removal may use, scheme and host included. RFC 9110 section 4.1 recommends that senders and
# recipients support URIs of at least 8,000 octets, and a server may refuse a longer one with 414 (section 15.5.15);
# Meta documents no larger limit, so 8,000 is the length every server on the way is expected to take. About 95
# single-key SHA-256 rows fit in one DELETE.
URL_BUDGET = 8_000
# ``%2C``: the percent-encoded comma between two rows of ``payload.data`` in a query string.
_ROW_SEPARATOR = len(quote_plus(","))


class MetaCustomAudiences(Destination):
    name = "meta_audiences"
    connection_id = meta.CONNECTION_ID
    client_class = meta.GraphApi
    # Its own name in error messages, so a failure tells the audiences destination from the Insights source.
    api_name = "meta_custom_audiences"
    objects = {
        # One Meta audience (target.audience_id), or several routed by the row's ``audience`` field through
        # target.audience_ids (e.g. one sync for every cross_sell_<category> audience of the mart).
        "custom_audience": ObjectSpec(
            optional_fields=HASHED | UNHASHED | {ROUTE_FIELD},
            hashed_fields=HASHED,
            default_mode="mirror",
        )
    }
    # ≤ 10,000 rows per request; paced under the ad account's documented score (narrowcast.apis.meta).
    limits = Limits(max_batch_size=10_000, default_rps=meta.AUDIENCE_WRITES_PER_SECOND,
                    default_burst=meta.AUDIENCE_WRITES_PER_SECOND, max_concurrency=4)

    @classmethod
    def check_declaration(cls, object_name: str, target: Mapping[str, Any], fields: set[str]) -> str | None:
        if ("audience_id" in target) == ("audience_ids" in target):
            return "needs exactly one of audience_id (one audience) or audience_ids (routing map)"
        if "audience_ids" in target:
            if not isinstance(target["audience_ids"], Mapping) or not target["audience_ids"]:
                return "audience_ids must map the mart's audience_id values to Meta custom audience ids"
            if ROUTE_FIELD not in fields:
                return f"audience_ids routing needs a field {ROUTE_FIELD!r} mapped to the audience column"
        if not fields & HASHED - {"COUNTRY", "GEN", "DOBY"} and "EXTERN_ID" not in fields and "MADID" not in fields:
            return "needs at least one identifier field (EMAIL, PHONE, EXTERN_ID, ...)"
        return None

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        # The token goes in the body rather than the query string, so no URL (and no HTTP library debug line)
        # carries it.
        return {"auth": meta.auth(connection, in_query=False)}

    def send(self, batch: Batch) -> list[RowResult]:
        routes = self.target.get("audience_ids")
        if not routes:
            return self._send(batch, str(self.target["audience_id"]), batch.changes)
        results: list[RowResult] = []
        groups: dict[str, list[Change]] = {}
        for change in batch.changes:
            audience = str(change.payload.get(ROUTE_FIELD))
            if audience in routes:
                groups.setdefault(str(routes[audience]), []).append(change)
            else:
                # A new category/country the merchant has not mapped yet: recorded and retried, not fatal to
                # the other audiences of the sync.
                results.append(RowResult(change.key, "skipped",
                                         f"no Meta audience id configured for audience {audience!r} (target.audience_ids)",
                                         sent=False))
        for audience_id, changes in sorted(groups.items()):
            results.extend(self._send(batch, audience_id, changes))
        return results

    def _send(self, batch: Batch, audience_id: str, changes: list[Change]) -> list[RowResult]:
        removing = batch.kind == "remove"
        skip = {ROUTE_FIELD, "LOOKALIKE_VALUE"} if removing else {ROUTE_FIELD}
        fields = sorted(set().union(*(c.payload.keys() for c in changes)) - skip)
        # Meta's multi-key schema takes one column per key; an absent value is sent as an empty string.
        data = [["" if (v := c.payload.get(f)) is None else v for f in fields] for c in changes]
        schema = fields if len(fields) > 1 else SINGLE_KEY_SCHEMA.get(fields[0], fields[0])
        session = {"session_id": _session_id(batch.run_id, f"{batch.kind}:{audience_id}"),
                   "estimated_num_total": len(changes) * batch.total}
        path = f"{self.client.api_version}/{audience_id}/users"
        if not removing:
            body = self._body(schema, data, {**session, "batch_seq": batch.seq,
                                             "last_batch_flag": batch.seq == batch.total})
            answer = self.client.request("POST", path, json=body).json()
            return _results(answer, changes, data, fields)
        return self._remove(batch, path, schema, session, changes, data, fields)

    def _body(self, schema: Any, data: list[list[Any]], session: dict[str, Any]) -> dict[str, Any]:
        return {"access_token": self.client.auth.token(), "payload": {"schema": schema, "data": data},
                "session": session}

    def _remove(self, batch: Batch, path: str, schema: Any, session: dict[str, Any], changes: list[Change],
                data: list[list[Any]], fields: list[str]) -> list[RowResult]:
        """Send a batch's removals as DELETEs whose URLs each stay within :data:`URL_BUDGET`.

        The requests of one batch share its session: ``batch_seq`` numbers them inside the batch's own range
        (``(seq - 1) * max_batch_size + part``: a batch never has more parts than rows), so numbers rise across
        batches and requests, ``last_batch_flag`` is set on the last request of the last batch only, and every
        request carries the same ``estimated_num_total``.
        """
        stride = self.limits.max_batch_size
        url = self.client.url(path)

        def query(rows: list[list[Any]], seq: int, last: bool) -> dict[str, str]:
            body = self._body(schema, rows, {**session, "batch_seq": seq, "last_batch_flag": last})
            return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in body.items()}

        # The URL without rows, at the batch's highest request number and the longer flag: an upper bound for every
        # request of the batch. Percent-encoding is per character, so each row adds its own encoded length.
        base = len(url) + 1 + len(urlencode(query([], batch.seq * stride, False)))
        parts: list[list[int]] = []
        results: list[RowResult] = []
        size = 0
        for i, row in enumerate(data):
            cost = len(quote_plus(json.dumps(row, separators=(",", ":"))))
            if base + cost > URL_BUDGET:
                results.append(RowResult(changes[i].key, "rejected", f"the row alone needs a removal URL of "
                                         f"{base + cost} bytes, over the {URL_BUDGET}-byte limit", sent=False))
                continue
            if not parts or size + _ROW_SEPARATOR + cost > URL_BUDGET:
                parts.append([])
                size = base
            else:
                size += _ROW_SEPARATOR
            parts[-1].append(i)
            size += cost
        for number, part in enumerate(parts, start=1):
            rows = [data[i] for i in part]
            last = batch.seq == batch.total and number == len(parts)
            params = query(rows, (batch.seq - 1) * stride + number, last)
            length = len(url) + 1 + len(urlencode(params))
            if length > URL_BUDGET:
                raise RuntimeError(f"a Meta removal URL of {length} bytes exceeds the {URL_BUDGET}-byte budget")
            answer = self.client.request("DELETE", path, params=params).json()
            results.extend(_results(answer, [changes[i] for i in part], rows, fields))
        return results


def _results(answer: Mapping[str, Any], changes: list[Change], data: list[list[Any]], fields: list[str]) -> list[RowResult]:
    """Each row's outcome from one request's answer: ``num_received`` for the whole payload, then
    ``invalid_entry_samples`` for the rows they name."""
    received = answer.get("num_received")
    if isinstance(received, int) and received != len(data):
        # Meta did not take the whole payload: nothing in it can be called confirmed, so resend it all.
        reason = f"Meta received {received} of {len(data)} rows"
        return [RowResult(c.key, "rejected", reason) for c in changes]
    samples: dict[str, str] = answer.get("invalid_entry_samples") or {}
    if not samples:
        return [RowResult(c.key, "accepted") for c in changes]
    results = []
    for change in changes:
        bad = [str(samples[v]) for v in (change.payload.get(f) for f in fields) if isinstance(v, str) and v in samples]
        results.append(RowResult(change.key, "rejected", f"Meta invalid entry: {bad[0]}") if bad
                       else RowResult(change.key, "accepted"))
    return results


def _session_id(run_id: str, kind: str) -> int:
    """A client-chosen int64, stable within the run and distinct per request kind."""
    return int.from_bytes(hashlib.sha256(f"{run_id}:{kind}".encode()).digest()[:7], "big")
