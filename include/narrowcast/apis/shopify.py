"""Shopify GraphQL Admin API wire conventions, for the shop source and the inventory destination.

Connection ``narrowcast_shopify``: ``base_url`` = the shop URL (``https://{shop}.myshopify.com``), ``password``
= the Admin API access token (sent as ``X-Shopify-Access-Token``), extra ``api_version`` (default below).
Every request is a POST to ``/admin/api/<version>/graphql.json``; the REST Admin API is legacy since 2024-10-01
(https://shopify.dev/docs/api/admin-rest) and is not used.

Throttling is cost-based (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): every answer
reports ``extensions.cost`` (``requestedQueryCost``, ``actualQueryCost``, ``throttleStatus { maximumAvailable
currentlyAvailable restoreRate }``). The client remembers the last throttle status and each query's requested
cost, and before sending a query whose cost exceeds what the bucket holds by now it waits for the restore; an
answer that is HTTP 200 with ``errors[].extensions.code == "THROTTLED"`` is retried like a 429 after
(requested − currentlyAvailable) / restoreRate seconds. Bucket sizes are not published (only restore rates,
100 points/s on standard plans), so nothing here assumes one: it is read from every answer.

Bulk operations (https://shopify.dev/docs/api/usage/bulk-operations/queries): ``bulkOperationRunQuery`` starts
one, ``bulkOperation(id:)`` (from 2026-01, https://shopify.dev/changelog/new-queries-for-bulk-operations; every
supported version has it, and ``currentBulkOperation`` is deprecated) is polled until a final status, and the
JSONL at ``url`` (a pre-signed storage URL: no Shopify token goes there; null when the query matched nothing)
is read line by line; nested connections arrive as lines of their own carrying ``__parentId`` and are put back
under their parent by :func:`reassemble`. From 2026-01 up to five bulk queries may run at once per shop, so one
extract never waits for another's operation. Inventory is set by compare-and-set: the ``available`` quantities
are read first (:data:`AVAILABLE_AT_LOCATION`) and sent as ``changeFromQuantity``.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from narrowcast.apis import versions
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.http import (
    Auth,
    FatalApiError,
    HttpClient,
    OutcomeUnknownApiError,
    RetriableApiError,
    VersionedApi,
)
from narrowcast.http.bodies import json_object

log = redacting_logger(__name__)

CONNECTION_ID = "narrowcast_shopify"
DEFAULT_API_VERSION = versions.SHOPIFY.default
_NUMERIC = re.compile(r"[0-9]+")
_GID = re.compile(r"gid://shopify/(\w+)/([0-9]+)")

# Every input array of the Admin API holds at most 250 items ("Input arguments that accept an array have a
# maximum size of 250", https://shopify.dev/docs/api/usage/limits), so one read covers one mutation's quantities.
MAX_INPUT_ARRAY = 250
# From 2026-04 each quantity of inventorySetQuantities must carry changeFromQuantity, the quantity the caller
# believes is current; a mismatch answers CHANGE_FROM_QUANTITY_STALE and ignoreCompareQuantity/compareQuantity
# are removed (https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities).
CHANGE_FROM_QUANTITY_SINCE = "2026-04"
CHANGE_FROM_QUANTITY_STALE = "CHANGE_FROM_QUANTITY_STALE"
# The ``available`` quantity of inventory items at one location: ``nodes(ids:)`` returns each InventoryItem
# (null for an unknown id, https://shopify.dev/docs/api/admin-graphql/latest/queries/nodes), whose
# ``inventoryLevel(locationId:)`` is null where the item is not stocked, and whose ``quantities(names:)`` reads
# quantities by name (https://shopify.dev/docs/apps/build/inventory-management-apps/manage-quantities-states).
AVAILABLE_AT_LOCATION = """query inventoryAvailable($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem { id inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } } }
  }
}"""
NOT_STOCKED = "not stocked"


def to_gid(kind: str, value: Any) -> str | None:
    """``gid://shopify/<kind>/<id>`` for a numeric id or for that gid itself; None for anything else."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if _NUMERIC.fullmatch(text):
        return f"gid://shopify/{kind}/{int(text)}"
    match = _GID.fullmatch(text)
    return text if match and match.group(1) == kind else None


def available_at(client: ShopifyApi, items: list[str], location: str) -> dict[str, int | str]:
    """Each inventory item's current ``available`` quantity at ``location`` (one query per 250 items):
    the quantity, or :data:`NOT_STOCKED` when the item has no level there; items Shopify does not know are absent."""
    found: dict[str, int | str] = {}
    for start in range(0, len(items), MAX_INPUT_ARRAY):
        data = client.graphql(AVAILABLE_AT_LOCATION, {"ids": items[start:start + MAX_INPUT_ARRAY],
                                                      "locationId": location})
        for node in data.get("nodes") or []:
            if not isinstance(node, Mapping) or not isinstance(node.get("id"), str):
                continue
            level = node.get("inventoryLevel")
            quantities = level.get("quantities") if isinstance(level, Mapping) else None
            available = [q.get("quantity") for q in quantities or []
                         if isinstance(q, Mapping) and q.get("name") == "available"]
            found[node["id"]] = available[0] if available and isinstance(available[0], int) else NOT_STOCKED
    return found


# ---- bulk operations ---------------------------------------------------------------------------------------
BULK_RUN = """mutation bulkOperationRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message code } }
}"""
BULK_STATUS = """query bulkOperation($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}"""
# BulkOperationStatus values after which the operation never changes again (CANCELING ends in CANCELED).
BULK_FAILED = frozenset({"FAILED", "CANCELED", "CANCELING", "EXPIRED"})
# BulkOperationErrorCode: INTERNAL_SERVER_ERROR is Shopify's own failure, worth a new operation later (the task
# is retried); ACCESS_DENIED (missing scope) and TIMEOUT (the query is too heavy for one operation) are not.
BULK_RETRIABLE_ERRORS = frozenset({"INTERNAL_SERVER_ERROR"})
# BulkOperationUserErrorCode of a shop already running as many bulk operations as it may ("try again later").
BULK_BUSY = frozenset({"LIMIT_REACHED", "OPERATION_IN_PROGRESS"})


# bulkOperations (Admin API 2026-01+, https://shopify.dev/docs/api/admin-graphql/latest/queries/bulkOperations):
# the app's operations, newest first by default; the lookup after a lost bulkOperationRunQuery answer.
BULK_FIND = """query bulkOperations($search: String!) {
  bulkOperations(first: 10, query: $search, sortKey: CREATED_AT) { nodes { id status query createdAt } }
}"""
# How far before the lost request an operation it started may say it was created (clocks differ).
BULK_CLOCK_SKEW = timedelta(minutes=10)


def search_terms(field: str, values: Iterable[str]) -> str:
    """A search query matching any of ``values`` in ``field``: ``sku:"A-1" OR sku:"B 2"``, each value quoted
    with ``"`` and ``\\`` escaped (https://shopify.dev/docs/api/usage/search-syntax)."""
    quoted = ('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return " OR ".join(f"{field}:{value}" for value in quoted)


def gid_kind(value: Any) -> str | None:
    """The resource kind of a GID (``LineItem`` for ``gid://shopify/LineItem/1``), or None."""
    match = _GID.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def gid_number(value: Any) -> int | None:
    """The numeric id in a GID (the id the REST API used), or None for anything else."""
    match = _GID.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(2)) if match else None


def reassemble(lines: Iterable[str], connections: Mapping[str, str]) -> list[dict[str, Any]]:
    """The root objects of a bulk JSONL result given as lines, each with its children put back
    (:func:`reassemble_file`)."""
    with tempfile.TemporaryDirectory(prefix="narrowcast-shopify-bulk-") as tmp:
        path = Path(tmp) / "result.jsonl"
        with path.open("w", encoding="utf-8") as out:
            out.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
        return [root for chunk in reassemble_file(path, connections, 1_000) for root in chunk]


def reassemble_file(path: Path, connections: Mapping[str, str], chunk_size: int) -> Iterator[list[dict[str, Any]]]:
    """The root objects of a bulk JSONL file, ``chunk_size`` at a time, with every child line put back under its
    parent.

    A child line names its parent in ``__parentId``; ``connections`` maps the child's GID kind to the parent's
    connection field (``{"LineItem": "lineItems"}``), where it is appended as ``{"edges": [{"node": child}]}``:
    the shape a paged query answers, so one parser reads both. A parent may be nested inside a root (a refund in
    an order's ``refunds`` list); children may come in any order once ``groupObjects`` is off (its default from
    2026-01). So the file is read twice and never held whole: a first pass checks every line and notes where each
    parent's children are, a second reads the roots in order, each with its children from their offsets. Memory
    is the offsets and the ids, not the objects (a first load of a million customers is a file of gigabytes).
    """
    roots: list[int] = []
    children: dict[str, list[tuple[int, int]]] = {}
    known: set[str] = set()
    with path.open("rb") as source:
        offset = 0
        for number, raw in enumerate(source, start=1):
            at, offset = offset, offset + len(raw)
            obj = _bulk_line(raw, number)
            if obj is None:
                continue
            parent = obj.pop("__parentId", None)
            if parent is None:
                roots.append(at)
            else:
                kind = gid_kind(obj.get("id"))
                if kind not in connections:
                    raise ValueError(f"bulk result line {number}: child {kind or obj.get('id')!r} is not expected")
                children.setdefault(parent, []).append((at, number))
            _ids(obj, known)
    # the first line (its number) naming a parent the file does not hold
    missing = sorted((lines[0][1], parent) for parent, lines in children.items() if parent not in known)
    if missing:
        number, parent = missing[0]
        raise ValueError(f"bulk result line {number}: parent {parent} is not in the file")
    with path.open("rb") as source:
        for start in range(0, len(roots), chunk_size):
            chunk = []
            for at in roots[start:start + chunk_size]:
                source.seek(at)
                root = json.loads(source.readline())
                by_id: dict[str, dict[str, Any]] = {}
                _index(root, by_id)
                parents = list(by_id)
                for parent_id in parents:  # grows as children bring ids of their own (a refund's line items)
                    for child_at, _ in children.get(parent_id, ()):
                        source.seek(child_at)
                        child = json.loads(source.readline())
                        del child["__parentId"]
                        field = connections[gid_kind(child.get("id"))]
                        by_id[parent_id].setdefault(field, {"edges": []})["edges"].append({"node": child})
                        found: dict[str, dict[str, Any]] = {}
                        _index(child, found)
                        parents.extend(key for key in found if key not in by_id)
                        for key, obj in found.items():
                            by_id.setdefault(key, obj)
                chunk.append(root)
            yield chunk


def _bulk_line(raw: bytes, number: int) -> dict[str, Any] | None:
    """One line of a bulk result as an object (None for a blank line); ``ValueError`` naming the line otherwise."""
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ValueError(f"bulk result line {number} is not JSON") from None
    if not isinstance(obj, dict):
        raise ValueError(f"bulk result line {number} is not a JSON object")
    return obj


def _ids(obj: Any, into: set[str]) -> None:
    """Every object id in ``obj`` (itself and what is nested in it)."""
    by_id: dict[str, dict[str, Any]] = {}
    _index(obj, by_id)
    into.update(by_id)


def _index(obj: Any, by_id: dict[str, dict[str, Any]]) -> None:
    if isinstance(obj, dict):
        if isinstance(obj.get("id"), str):
            by_id.setdefault(obj["id"], obj)
        for value in obj.values():
            _index(value, by_id)
    elif isinstance(obj, list):
        for value in obj:
            _index(value, by_id)


def auth(conn: Connection) -> Auth:
    return Auth(conn.require_password("the Admin API access token"),
                headers=lambda token: {"X-Shopify-Access-Token": token})


class ShopifyApi(VersionedApi):
    """One shop's GraphQL Admin API: queries with cost-based throttling, bulk operations, error envelopes."""

    api_name = "shopify"
    versions = versions.SHOPIFY
    # Polling a bulk operation: first wait, growth per poll, longest wait, and how long to wait at most before
    # giving up (the operation itself may run for up to 10 days; a task retry starts a new one). A small shop's
    # operation finishes in well under a second, so the first polls come quickly; a poll costs one query point.
    bulk_poll = (0.25, 2.0, 30.0)
    bulk_timeout = 3 * 3600.0

    def __init__(self, base_url: str, *, clock: Callable[[], float] = time.monotonic, **http: Any) -> None:
        super().__init__(base_url, **http)
        self._clock = clock
        self._throttle: tuple[float, float, float, float] | None = None  # maximum, available, restore, when
        self._requested: dict[str, float] = {}  # requestedQueryCost last reported per query text

    @classmethod
    def connection_settings(cls, conn: Connection) -> dict[str, Any]:
        return {**super().connection_settings(conn), "auth": auth(conn)}

    @property
    def graphql_path(self) -> str:
        return f"admin/api/{self.api_version}/graphql.json"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *,
                resend: bool = True) -> dict[str, Any]:
        """The ``data`` of one GraphQL request; throttling is waited for and retried, other ``errors`` raised.
        ``resend=False`` for a mutation that starts something (see :meth:`ApiClient.request`)."""
        path = self.graphql_path
        self._wait_for_budget(query)
        answer = self.post_json(path, {"query": query, "variables": dict(variables or {})}, resend=resend)
        if not isinstance(answer, dict):
            raise FatalApiError(self.api_name, "POST", self.url(path), 200, "GraphQL answer is not a JSON object", answer)
        self._note_cost(query, answer)
        if answer.get("errors"):
            raise FatalApiError(self.api_name, "POST", self.url(path), 200,
                                f"GraphQL error: {graphql_messages(answer['errors'])}", answer)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise FatalApiError(self.api_name, "POST", self.url(path), 200, "GraphQL answer has no data", answer)
        return data

    # ---- cost-based throttling -----------------------------------------------------------------------------
    def available_points(self) -> float | None:
        """Points the bucket holds now, projected from the last reported throttle status (None before any)."""
        if self._throttle is None:
            return None
        maximum, available, restore, when = self._throttle
        return min(maximum, available + max(0.0, self._clock() - when) * restore)

    def restore_rate(self) -> float | None:
        """Points per second the bucket restores, as the last answer reported (None before any)."""
        return self._throttle[2] if self._throttle is not None else None

    def _wait_for_budget(self, query: str) -> None:
        # The requested cost of a query is known once Shopify has priced it; the next page of the same query
        # costs the same, so it is sent only once the bucket holds that much (no THROTTLED round trip).
        cost, available = self._requested.get(query), self.available_points()
        if cost is None or available is None or self._throttle is None or cost <= available:
            return
        restore = self._throttle[2]
        if restore > 0:
            wait = (cost - available) / restore
            log.info("%s: waiting %.2fs for %.0f query points (%.0f available)", self.api_name, wait, cost,
                     available)
            self._sleep(wait)

    def _note_cost(self, query: str | None, answer: Mapping[str, Any]) -> None:
        extensions = answer.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return
        status = cost.get("throttleStatus") or {}
        try:
            self._throttle = (float(status["maximumAvailable"]), float(status["currentlyAvailable"]),
                              float(status["restoreRate"]), self._clock())
        except (KeyError, TypeError, ValueError):
            pass
        if query is not None and isinstance(cost.get("requestedQueryCost"), int | float):
            self._requested[query] = float(cost["requestedQueryCost"])

    def is_throttled_answer(self, response: requests.Response) -> bool:
        return _is_graphql(response) and _throttled(json_object(response).get("errors"))

    def retry_after(self, response: requests.Response) -> float | None:
        """For a GraphQL answer, seconds until the cost bucket holds the request's cost:
        (requested − currentlyAvailable) / restoreRate; otherwise the ``Retry-After`` header."""
        body = json_object(response)
        self._note_cost(None, body)
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            requested = float(cost["requestedQueryCost"])
            available = float(status["currentlyAvailable"])
            restore = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return super().retry_after(response)
        return max(0.0, (requested - available) / restore) if restore > 0 else super().retry_after(response)

    def error_message(self, response: requests.Response) -> str:
        errors = json_object(response).get("errors")
        if _throttled(errors):
            return f"GraphQL {graphql_messages(errors)}: the query cost limit stayed exhausted"
        # Outside GraphQL errors (auth, HTTP-level refusals) the envelope is {"errors": "text" | {field: [...]}}.
        if isinstance(errors, dict):
            return "; ".join(f"{field}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                             for field, v in errors.items())[:500]
        if isinstance(errors, list):
            return graphql_messages(errors)
        return str(errors)[:500] if errors else super().error_message(response)

    # ---- paged queries -------------------------------------------------------------------------------------
    def connection_pages(self, query: str, variables: Mapping[str, Any], connection: str
                         ) -> Iterator[list[dict[str, Any]]]:
        """The nodes of the top-level ``connection`` (``edges { node }`` + ``pageInfo { hasNextPage endCursor
        }``), one list per page, following ``endCursor`` as ``$after``."""
        after: str | None = None
        while True:
            data = self.graphql(query, {**variables, "after": after})
            found = data.get(connection)
            if not isinstance(found, dict) or not isinstance(found.get("edges"), list):
                raise FatalApiError(self.api_name, "POST", self.url(self.graphql_path), 200,
                                    f"GraphQL answer has no {connection} connection", data)
            yield [edge["node"] for edge in found["edges"] if isinstance(edge, dict) and "node" in edge]
            page_info = found.get("pageInfo") or {}
            if not page_info.get("hasNextPage"):
                return
            after = page_info.get("endCursor")
            if not after:
                raise FatalApiError(self.api_name, "POST", self.url(self.graphql_path), 200,
                                    f"{connection}: hasNextPage without an endCursor", data)

    # ---- bulk operations -----------------------------------------------------------------------------------
    def bulk_query(self, query: str, into: Path) -> tuple[str, Path | None]:
        """Run ``query`` as a bulk operation and wait for it: (operation id, its JSONL result written to ``into``,
        or None when it matched nothing)."""
        operation = self._start_bulk(query)
        operation_id = str(operation["id"])
        finished = self.wait_for_bulk(operation_id)
        url = finished.get("url")
        if not url:
            return operation_id, None  # Shopify leaves url null when the query matched nothing
        into.write_bytes(self.download(str(url)))
        return operation_id, into

    def _start_bulk(self, query: str) -> Mapping[str, Any]:
        """``bulkOperationRunQuery``, sent at most once per outcome: when its answer is lost (a read timeout: a
        large shop's mutation can outlast it), the operation it may have started is looked up among the app's
        recent ones (:meth:`started_bulk`) and followed, instead of starting a second run of the same query."""
        asked_at = datetime.now(UTC)
        try:
            started = self.graphql(BULK_RUN, {"query": query}, resend=False).get("bulkOperationRunQuery") or {}
        except OutcomeUnknownApiError as lost:
            found = self.started_bulk(query, since=asked_at - BULK_CLOCK_SKEW)
            if found is not None:
                log.info("%s: bulkOperationRunQuery answer lost (%s); following the operation it started, %s",
                         self.api_name, lost.message, found["id"])
                return found
            log.info("%s: bulkOperationRunQuery answer lost (%s) and no operation of it was found; starting it",
                     self.api_name, lost.message)
            started = self.graphql(BULK_RUN, {"query": query}, resend=False).get("bulkOperationRunQuery") or {}
        user_errors = started.get("userErrors") or []
        operation = started.get("bulkOperation") or {}
        if user_errors or not operation.get("id"):
            busy = any(isinstance(e, Mapping) and e.get("code") in BULK_BUSY for e in user_errors)
            raise (RetriableApiError if busy else FatalApiError)(
                self.api_name, "POST", self.url(self.graphql_path), 200,
                "bulkOperationRunQuery refused: " + user_error_messages(user_errors), started)
        return operation

    def started_bulk(self, query: str, *, since: datetime) -> Mapping[str, Any] | None:
        """The newest of the app's query operations created since ``since`` that runs exactly ``query`` and has
        not failed or been cancelled (``bulkOperations``, Admin API 2026-01+), or None."""
        search = f"operation_type:query created_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        nodes = (self.graphql(BULK_FIND, {"search": search}).get("bulkOperations") or {}).get("nodes") or []
        live = [n for n in nodes if isinstance(n, Mapping) and n.get("query") == query
                and n.get("status") in ("CREATED", "RUNNING", "COMPLETED")]
        return max(live, key=lambda n: str(n.get("createdAt") or ""), default=None)

    def wait_for_bulk(self, operation_id: str) -> dict[str, Any]:
        """Poll ``bulkOperation(id:)`` until COMPLETED (returned) or a final failure (raised)."""
        delay, growth, longest = self.bulk_poll
        deadline = self._clock() + self.bulk_timeout
        while True:
            operation = self.graphql(BULK_STATUS, {"id": operation_id}).get("bulkOperation")
            if not isinstance(operation, dict):
                raise FatalApiError(self.api_name, "POST", self.url(self.graphql_path), 200,
                                    f"bulk operation {operation_id} is unknown to the shop", operation)
            status = operation.get("status")
            if status == "COMPLETED":
                return operation
            if status in BULK_FAILED:
                raise self._bulk_failure(operation_id, operation)
            if self._clock() >= deadline:
                raise RetriableApiError(self.api_name, "POST", self.url(self.graphql_path), 200,
                                        f"bulk operation {operation_id} still {status} after "
                                        f"{self.bulk_timeout:.0f}s", operation)
            self._sleep(delay)
            delay = min(longest, delay * growth)

    def _bulk_failure(self, operation_id: str, operation: Mapping[str, Any]) -> FatalApiError | RetriableApiError:
        code = operation.get("errorCode")
        # A failed operation may leave partialDataUrl; partial rows are not loaded (the window would be marked
        # done with rows missing), and the pre-signed URL itself is never put in a message or a log.
        partial = ", partial data was left (partialDataUrl) but is not loaded" if operation.get("partialDataUrl") else ""
        message = f"bulk operation {operation_id} ended {operation.get('status')}" + (
            f" with errorCode {code}" if code else "") + partial
        kind = RetriableApiError if code in BULK_RETRIABLE_ERRORS else FatalApiError
        return kind(self.api_name, "POST", self.url(self.graphql_path), 200, message, dict(operation))

    def download(self, url: str) -> bytes:
        """The bytes at a bulk operation's pre-signed ``url`` (UTF-8 JSON Lines, never decoded whole): no Shopify
        token is sent to the storage host, and its own failures (5xx, 429) are retried like any other."""
        storage = HttpClient(url, api_name=f"{self.api_name} bulk result", session=self.session,
                             timeout=self.timeout, retry=self.retry, sleep=self._sleep)
        return storage.request("GET", url).content


def user_error_messages(user_errors: Any, none: str = "no bulk operation was returned") -> str:
    """A mutation's ``userErrors`` as one line: each message with its field path and code (``none`` when empty)."""
    if not isinstance(user_errors, list) or not user_errors:
        return none
    parts = []
    for error in user_errors:
        if isinstance(error, Mapping):
            field = ".".join(map(str, error.get("field") or []))
            code = error.get("code")
            parts.append(f"{error.get('message')}" + (f" [{field}]" if field else "") + (f" ({code})" if code else ""))
        else:
            parts.append(str(error))
    return "; ".join(parts)[:500]


def graphql_messages(errors: Any) -> str:
    """GraphQL top-level ``errors`` as one line: each message with its ``extensions.code``."""
    if not isinstance(errors, list):
        return str(errors)[:500]
    parts = []
    for error in errors:
        if isinstance(error, Mapping):
            code = (error.get("extensions") or {}).get("code")
            parts.append(f"{error.get('message')}" + (f" ({code})" if code else ""))
        else:
            parts.append(str(error))
    return "; ".join(parts)[:500]


def _is_graphql(response: requests.Response) -> bool:
    return (response.url or "").split("?", 1)[0].endswith("/graphql.json")


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and bool(errors) and all(
        isinstance(e, Mapping) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


# ---- code discounts (unique codes for the real-time path) --------------------------------------------------
# A code discount holds many redeem codes: ``discountCodeBasicCreate`` makes the discount with its first code
# (https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeBasicCreate), and
# ``discountRedeemCodeBulkAdd`` adds further codes to it "asynchronously", at most 250 per call ("The list of
# codes to associate with the code discount. Maximum: 250 codes.",
# https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountRedeemCodeBulkAdd). The mutation answers a
# ``DiscountRedeemCodeBulkCreation`` whose ``done`` turns true once the codes ran; each code's outcome (its
# ``errors``, or the created ``discountRedeemCode``) is read from that object's ``codes`` connection
# (https://shopify.dev/docs/api/admin-graphql/latest/objects/DiscountRedeemCodeBulkCreation).
MAX_REDEEM_CODES = 250
DISCOUNT_CODE_BASIC_CREATE = """mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}"""
DISCOUNT_REDEEM_CODE_BULK_ADD = """mutation discountRedeemCodeBulkAdd($discountId: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes) {
    bulkCreation { id done }
    userErrors { field message code }
  }
}"""
# The creation is polled with its counts only (a point a read); its codes (250 nodes, some 750 points) are read
# once it is done, and only when some code failed: a creation that imported every code needs no more.
DISCOUNT_REDEEM_CODE_BULK_CREATION_STATUS = """query discountRedeemCodeBulkCreationStatus($id: ID!) {
  discountRedeemCodeBulkCreation(id: $id) { id done codesCount importedCount failedCount }
}"""
DISCOUNT_REDEEM_CODE_BULK_CREATION = """query discountRedeemCodeBulkCreation($id: ID!, $first: Int!, $after: String) {
  discountRedeemCodeBulkCreation(id: $id) {
    id done codesCount importedCount failedCount
    codes(first: $first, after: $after) {
      edges { node { code errors { field message code } discountRedeemCode { id code } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
# DiscountErrorCode of a code that already exists in the shop (https://shopify.dev/docs/api/admin-graphql/latest/
# enums/DiscountErrorCode): a code re-added after a crash is looked up instead of counted as failed.
CODE_TAKEN = "TAKEN"
# Up to this many taken codes of one bulk add are looked up one query each; more, by paging the discount's codes.
TAKEN_LOOKUPS = 5
CODE_DISCOUNT_BY_CODE = """query codeDiscountNodeByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}"""


def create_code_discount(client: ShopifyApi, discount: Mapping[str, Any]) -> str:
    """Create one code discount (``DiscountCodeBasicInput``); its ``DiscountCodeNode`` id."""
    answer = client.graphql(DISCOUNT_CODE_BASIC_CREATE, {"basicCodeDiscount": dict(discount)})
    payload = answer.get("discountCodeBasicCreate") or {}
    node = payload.get("codeDiscountNode") or {}
    if payload.get("userErrors") or not node.get("id"):
        raise FatalApiError(client.api_name, "POST", client.url(client.graphql_path), 200,
                            "discountCodeBasicCreate refused: " + user_error_messages(payload.get("userErrors")),
                            payload)
    return str(node["id"])


def discount_of_code(client: ShopifyApi, code: str) -> str | None:
    """The id of the code discount ``code`` redeems, or None when the shop has no such code."""
    node = client.graphql(CODE_DISCOUNT_BY_CODE, {"code": code}).get("codeDiscountNodeByCode")
    return str(node["id"]) if isinstance(node, Mapping) and node.get("id") else None


def add_redeem_codes(client: ShopifyApi, discount_id: str, codes: list[str], *,
                     poll: tuple[float, float, float] = (0.2, 2.0, 5.0), timeout: float = 120.0,
                     held: Callable[[list[str]], set[str]] | None = None) -> dict[str, str | None]:
    """Add ``codes`` to a code discount and wait for them: per code, None once it exists in the shop for that
    discount, else why it does not. Codes go 250 per mutation; a code that already exists for this discount (a
    repeat after a crash) counts as created. ``held`` says which of the codes Shopify answered ``TAKEN`` this
    discount holds (default :func:`codes_held_by`)."""
    held = held or (lambda taken: codes_held_by(client, discount_id, taken))
    outcome: dict[str, str | None] = {}
    for start in range(0, len(codes), MAX_REDEEM_CODES):
        group = codes[start:start + MAX_REDEEM_CODES]
        answer = client.graphql(DISCOUNT_REDEEM_CODE_BULK_ADD,
                                {"discountId": discount_id, "codes": [{"code": c} for c in group]})
        payload = answer.get("discountRedeemCodeBulkAdd") or {}
        creation = payload.get("bulkCreation") or {}
        if payload.get("userErrors") or not creation.get("id"):
            reason = "discountRedeemCodeBulkAdd refused: " + user_error_messages(payload.get("userErrors"))
            outcome.update(dict.fromkeys(group, reason))
            continue
        outcome.update(_bulk_creation_outcome(client, str(creation["id"]), group, poll, timeout, held))
    return outcome


def codes_held_by(client: ShopifyApi, discount_id: str, codes: list[str]) -> set[str]:
    """Which of ``codes`` (each already in the shop) the discount holds: a few are looked up one query each, many
    by paging the discount's codes (250 a page) until all are found."""
    if len(codes) <= TAKEN_LOOKUPS:
        return {c for c in codes if discount_of_code(client, c) == discount_id}
    return set(redeem_code_ids(client, discount_id, codes))


def _wait_until_done(client: ShopifyApi, read: Callable[[], Any], what: str, poll: tuple[float, float, float],
                     timeout: float) -> Mapping[str, Any] | str:
    """Read an asynchronous object (``read``) until its ``done`` is true: the object, or why it is not there."""
    delay, growth, longest = poll
    waited = 0.0
    while True:
        found = read()
        if not isinstance(found, Mapping):
            return f"{what} is unknown to the shop"
        if found.get("done"):
            return found
        if waited >= timeout:
            return f"{what} not done after {timeout:.0f}s"
        client._sleep(delay)
        waited += delay
        delay = min(longest, delay * growth)


def _bulk_creation_outcome(client: ShopifyApi, creation_id: str, codes: list[str], poll: tuple[float, float, float],
                           timeout: float, held: Callable[[list[str]], set[str]]) -> dict[str, str | None]:
    status = _wait_until_done(
        client, lambda: client.graphql(DISCOUNT_REDEEM_CODE_BULK_CREATION_STATUS, {"id": creation_id}
                                       ).get("discountRedeemCodeBulkCreation"),
        f"bulk code creation {creation_id}", poll, timeout)
    if isinstance(status, str):
        return dict.fromkeys(codes, status)
    if status.get("failedCount") == 0 and status.get("importedCount") == status.get("codesCount") == len(codes):
        return dict.fromkeys(codes)
    creation = client.graphql(DISCOUNT_REDEEM_CODE_BULK_CREATION, {"id": creation_id, "first": MAX_REDEEM_CODES}
                              ).get("discountRedeemCodeBulkCreation") or {}
    outcome: dict[str, str | None] = dict.fromkeys(codes, "not reported by the bulk code creation")
    taken: list[str] = []
    for edge in (creation.get("codes") or {}).get("edges") or []:
        node = edge.get("node") if isinstance(edge, Mapping) else None
        if not isinstance(node, Mapping) or node.get("code") not in outcome:
            continue
        errors = node.get("errors") or []
        if not errors and node.get("discountRedeemCode"):
            outcome[node["code"]] = None
            continue
        outcome[node["code"]] = user_error_messages(errors) if errors else "no code was created"
        if errors and all(isinstance(e, Mapping) and e.get("code") == CODE_TAKEN for e in errors):
            taken.append(node["code"])
    # A taken code is this discount's own when it was added before (a resend after a crash, or a sync whose state
    # was lost); one another discount holds keeps Shopify's reason.
    if taken:
        outcome.update(dict.fromkeys(held(taken)))
    return outcome


# ---- a code discount's redeem codes, found and deleted (the referral codes sync) ---------------------------
# A discount is found again by its title through ``codeDiscountNodes(query:)`` (the ``title`` filter of
# https://shopify.dev/docs/api/admin-graphql/latest/queries/codeDiscountNodes); titles are not unique in a shop, so
# the exact title is compared here and more than one match is the caller's to resolve.
CODE_DISCOUNTS_BY_TITLE = """query codeDiscountsByTitle($query: String!) {
  codeDiscountNodes(first: 10, query: $query) { nodes { id codeDiscount { ... on DiscountCodeBasic { title } } } }
}"""
# The codes connection of a DiscountCodeBasic filters on ``times_used`` only, so a code's DiscountRedeemCode id
# (what discountCodeRedeemCodeBulkDelete takes) is found by paging the discount's codes, 250 a page.
DISCOUNT_REDEEM_CODES = """query discountRedeemCodes($id: ID!, $first: Int!, $after: String) {
  codeDiscountNode(id: $id) {
    codeDiscount { ... on DiscountCodeBasic { codes(first: $first, after: $after) {
      nodes { id code } pageInfo { hasNextPage endCursor } } } }
  }
}"""
# ``discountCodeRedeemCodeBulkDelete`` deletes "asynchronously" and answers a Job
# (https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeRedeemCodeBulkDelete), polled with
# ``job(id:)`` until ``done`` (https://shopify.dev/docs/api/admin-graphql/latest/queries/job). Its ``ids`` are an
# input array: at most 250 each call.
DISCOUNT_REDEEM_CODE_BULK_DELETE = """mutation discountCodeRedeemCodeBulkDelete($discountId: ID!, $ids: [ID!]) {
  discountCodeRedeemCodeBulkDelete(discountId: $discountId, ids: $ids) { job { id done } userErrors { field message code } }
}"""
JOB = """query job($id: ID!) { job(id: $id) { id done } }"""


def discounts_titled(client: ShopifyApi, title: str) -> list[str]:
    """The ids of the code discounts whose title is exactly ``title``."""
    nodes = (client.graphql(CODE_DISCOUNTS_BY_TITLE, {"query": search_terms("title", [title])})
             .get("codeDiscountNodes") or {}).get("nodes") or []
    return [str(n["id"]) for n in nodes if isinstance(n, Mapping) and n.get("id")
            and (n.get("codeDiscount") or {}).get("title") == title]


def redeem_code_pages(client: ShopifyApi, discount_id: str) -> Iterator[dict[str, str]]:
    """The discount's codes, one page (250) at a time: code → DiscountRedeemCode id, in Shopify's order."""
    after: str | None = None
    while True:
        node = client.graphql(DISCOUNT_REDEEM_CODES, {"id": discount_id, "first": MAX_REDEEM_CODES, "after": after}
                              ).get("codeDiscountNode")
        page = ((node or {}).get("codeDiscount") or {}).get("codes") if isinstance(node, Mapping) else None
        if not isinstance(page, Mapping):
            return  # the discount is gone, and its codes with it
        yield {str(item["code"]): str(item["id"]) for item in page.get("nodes") or []
               if isinstance(item, Mapping) and item.get("id") and item.get("code")}
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return
        after = str(info["endCursor"])


def redeem_code_ids(client: ShopifyApi, discount_id: str, codes: Iterable[str]) -> dict[str, str]:
    """The DiscountRedeemCode id of each of ``codes`` the discount holds (codes compare case-insensitively, as
    Shopify's do); pages stop once every code is found."""
    wanted = {c.casefold(): c for c in codes}
    found: dict[str, str] = {}
    for page in redeem_code_pages(client, discount_id):
        for code, redeem_id in page.items():
            if code.casefold() in wanted:
                found[wanted.pop(code.casefold())] = redeem_id
        if not wanted:
            break
    return found


def delete_redeem_codes(client: ShopifyApi, discount_id: str, ids: list[str], *,
                        poll: tuple[float, float, float] = (0.2, 2.0, 5.0), timeout: float = 120.0) -> str | None:
    """Delete redeem codes of a discount by id, 250 per call, waiting for each job: None once all are deleted,
    else why not."""
    for start in range(0, len(ids), MAX_INPUT_ARRAY):
        group = ids[start:start + MAX_INPUT_ARRAY]
        payload = client.graphql(DISCOUNT_REDEEM_CODE_BULK_DELETE, {"discountId": discount_id, "ids": group}
                                 ).get("discountCodeRedeemCodeBulkDelete") or {}
        job = payload.get("job") or {}
        if payload.get("userErrors") or not job.get("id"):
            return "discountCodeRedeemCodeBulkDelete refused: " + user_error_messages(payload.get("userErrors"),
                                                                                      "no job was returned")
        job_id = str(job["id"])
        done = job if job.get("done") else _wait_until_done(
            client, lambda job_id=job_id: client.graphql(JOB, {"id": job_id}).get("job"), f"code deletion job {job_id}",
            poll, timeout)
        if isinstance(done, str):
            return done
    return None
