"""Shopify GraphQL Admin API emulator (source side): ``orders``, ``customers``, ``products``, bulk operations.

Served from the world files through the shop's one GraphQL endpoint (:mod:`.shopify_graphql`), answering only
the fields a query selects, as Shopify does:

- ``orders``/``customers``/``products(first:, after:, query:, sortKey:)`` — connections sorted by
  ``(updatedAt, id)`` with opaque cursors, ``pageInfo { hasNextPage endCursor }``, and the ``updated_at`` /
  ``created_at`` range terms of Shopify's search syntax (https://shopify.dev/docs/api/usage/search-syntax;
  other terms are ignored). Nested connections need ``first`` or ``last``; a page holds at most 250 nodes.
- ``bulkOperationRunQuery(query:)`` and ``bulkOperation(id:)`` (from 2026-01; ``currentBulkOperation`` is
  deprecated) — https://shopify.dev/docs/api/usage/bulk-operations/queries: one top-level connection, at most
  five connections nested at most two deep, no ``node``/``nodes`` root, else ``userErrors``; at most five bulk
  queries running per shop (from 2026-01). The mutation answers at once with the operation CREATED, and the
  query runs in the background, as on Shopify ("bulk operations are asynchronous"); the operation goes CREATED →
  RUNNING → COMPLETED, at most one step per poll, and stays RUNNING while its result is still being written (a
  poll waits up to :data:`POLL_WAITS_SECONDS` for it). Its result is a JSONL file on disk, each nested
  connection's nodes on lines of their own carrying ``__parentId``, streamed from a signed URL under
  ``/bulk-operation-results/`` that needs no Shopify token (``url`` is null when nothing matched). :meth:`ShopifyEmulator.fail_next_bulk` makes the next operation end FAILED with an ``errorCode``
  (ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT) and, if asked, a ``partialDataUrl``.
- ``bulkOperations(first:, after:, query:, sortKey:, reverse:)`` (from 2026-01): the app's operations, newest
  first, filtered by ``status:``, ``operation_type:`` and ``created_at:`` (what a client reads to find out whether
  a ``bulkOperationRunQuery`` whose answer it never got started an operation).
- ``ordersCount``/``customersCount``/``productsCount(query:, limit:)`` — ``Count { count precision }`` of the
  nodes the same search matches (see :data:`COUNT_LIMIT`).
- ``shop { name currencyCode ianaTimezone }`` — what a connection check reads.

Every answer carries ``extensions.cost`` from the emulator's cost bucket (standard plan: 100 points/s); a query
the bucket cannot pay for answers ``THROTTLED``. Timestamps are ISO 8601 in UTC, money ``MoneyBag`` decimal
strings in the shop currency (the world holds one currency per order, so presentment equals shop money).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import itertools
import json
import re
import shutil
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from narrowcast.sandbox.emulators.shopify_graphql import (
    MAX_QUERY_COST,
    MUTATION_COST,
    CostBucket,
    GraphQLSyntaxError,
    Selection,
    Variable,
    add_graphql_route,
    graphql_error,
    is_connection,
    parse,
    requested_cost,
    throttled,
)
from narrowcast.sandbox.emulators.world_index import (
    ColumnIndex,
    decode_cursor,
    encode_cursor,
    epoch_seconds_us,
    epoch_us,
    group_offsets,
    iso_z,
    money_text,
    read_world_arrow,
    take_ranges,
)
from narrowcast.sandbox.framework import Emulator

MAX_PAGE = 250  # "first" above this is refused (https://shopify.dev/docs/api/usage/pagination-graphql)
MAX_BULK_CONNECTIONS, MAX_BULK_DEPTH, MAX_RUNNING_BULK = 5, 2, 5
BULK_FAILURES = frozenset({"ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT"})
# A poll of a RUNNING operation waits this long for its result to be written before answering RUNNING again: a
# small operation completes on its second poll, a large one (a million customers) answers RUNNING meanwhile.
POLL_WAITS_SECONDS = 1.0
_SEARCH_TERM = re.compile(r"(updated_at|created_at):(>=|<=|>|<)?'?([^'\s]+)'?")
_SIGNING_KEY = b"narrowcast-sandbox-bulk-results"
_ROOTS = {"orders": "Order", "customers": "Customer", "products": "Product"}
# The count fields of the query root (https://shopify.dev/docs/api/admin-graphql/latest/queries/ordersCount,
# .../queries/customersCount, .../queries/productsCount; ordersCount from 2024-07, https://shopify.dev/changelog/
# added-new-field-orderscount-to-the-query-root): they take the connection's ``query`` and a ``limit``, "the upper
# bound on count value before returning a result", default 10,000, ``null`` for none (every count field from
# 2025-07, https://shopify.dev/changelog/uncapped-graphql-counts). They return ``Count { count: Int!, precision:
# CountPrecision! }``: AT_LEAST when "a limit was imposed and reached", else EXACT
# (https://shopify.dev/docs/api/admin-graphql/latest/enums/CountPrecision). A Count is an object, so a count costs
# one point (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Object 1").
COUNT_LIMIT = 10_000
_COUNTS = {"ordersCount": "orders", "customersCount": "customers", "productsCount": "products"}


class ShopifyErrors:
    """Shopify's HTTP-level error envelope (auth, rate limit, server errors): ``{"errors": "..."}``."""

    def shopify_error(self, status: int, errors: Any, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"errors": errors}, status_code=status, headers=headers)

    def rate_limited(self, retry_after: float) -> Response:
        return self.shopify_error(
            429, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
            {"Retry-After": f"{float(retry_after):.1f}"},
        )

    def server_error(self) -> Response:
        return self.shopify_error(500, "Internal Server Error")

    def unauthorized(self) -> Response:
        return self.shopify_error(401, "[API] Invalid API key or access token (unrecognized login or wrong password)")


class Connection(list):
    """A connection field of an emulated object: its nodes, paged by ``first``/``after`` when selected."""


class QueryError(Exception):
    """A top-level GraphQL error: message, ``extensions.code`` (None where Shopify documents none), path."""

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.code, self.extensions = code, extensions


class _JsonlSink:
    """JSONL lines appended to a file as a bulk query projects them: its count and size, nothing held in memory."""

    def __init__(self, path: Path) -> None:
        self.path, self.count, self.size = path, 0, 0
        self._out = path.open("w", encoding="utf-8")

    def append(self, obj: dict[str, Any]) -> None:
        text = json.dumps(obj, separators=(",", ":")) + "\n"
        self._out.write(text)
        self.count += 1
        self.size += len(text.encode())

    def close(self) -> None:
        self._out.close()


@dataclass
class _Run:
    """What one query's execution saw: its cost once run, and (bulk) where the JSONL lines it wrote go."""

    bulk: bool = False
    actual: int = 0
    lines: Any = field(default_factory=list)  # root nodes' lines (a _JsonlSink in a bulk operation)
    children: Any = field(default_factory=list)  # nested nodes' lines, each with ``__parentId``


def _money(amount: Any, currency: str) -> dict[str, Any]:
    money = {"__typename": "MoneyV2", "amount": money_text(amount), "currencyCode": currency}
    return {"__typename": "MoneyBag", "shopMoney": money, "presentmentMoney": dict(money)}


def _gid(kind: str, number: Any) -> str:
    return f"gid://shopify/{kind}/{int(number)}"


def _sign(name: str) -> str:
    return hmac.new(_SIGNING_KEY, name.encode(), hashlib.sha256).hexdigest()



def answer_operation(bucket: CostBucket, operation: Any, *, mutation: Callable[[Selection, _Run], Any],
                     query: Callable[[Selection, _Run], Any], variables: dict[str, Any]) -> Response:
    """One parsed operation under Shopify's cost rules (https://shopify.dev/docs/api/usage/limits): a mutation
    costs its flat price up front; a query is refused unrun above the single-query maximum, runs, and is charged
    its requested cost with the actual cost refunded; a throttled request answers THROTTLED. ``mutation`` and
    ``query`` resolve one root field each; a :class:`QueryError` becomes a GraphQL error."""
    run = _Run()
    try:
        if operation.kind == "mutation":
            admitted, cost = bucket.spend(MUTATION_COST)
            if not admitted:
                return throttled(cost)
            data = {f.key: mutation(f, run) for f in operation.root.fields()}
            return JSONResponse({"data": data, "extensions": {"cost": cost}})
        requested = requested_cost(operation.root, variables)
        if requested > MAX_QUERY_COST:
            # Refused before it runs, whatever the bucket holds.
            return graphql_error(f"Query cost is {requested}, which exceeds the single query max cost limit "
                                 f"({MAX_QUERY_COST}).", "MAX_COST_EXCEEDED", cost=requested,
                                 maxCost=MAX_QUERY_COST)
        data = {f.key: query(f, run) for f in operation.root.fields()}
    except QueryError as exc:
        return graphql_error(str(exc), exc.code, **exc.extensions)
    admitted, cost = bucket.spend(requested, max(1, run.actual))
    if not admitted:
        return throttled(cost)
    return JSONResponse({"data": data, "extensions": {"cost": cost}})

class ShopifyEmulator(ShopifyErrors, Emulator):
    name = "shopify"
    prefix = "shopify"
    emulates = ("the orders, customers, products, their counts, bulkOperation(s) and shop queries and "
                "bulkOperationRunQuery")

    def __init__(self, world_dir: Path | None) -> None:
        self.bucket = CostBucket()
        self.operations: dict[str, dict[str, Any]] = {}
        self.downloads: list[dict[str, Any]] = []  # per result download: whether a Shopify token came along
        self._next_failure: tuple[str, bool] | None = None
        self._results = Path(tempfile.mkdtemp(prefix="narrowcast-shopify-bulk-"))
        # Result files of a million customers are gigabytes: gone when the sandbox shuts down (close), or at
        # least when its process ends.
        atexit.register(shutil.rmtree, self._results, ignore_errors=True)
        self._numbers = itertools.count(1)
        super().__init__(world_dir)

    # ---- world → GraphQL objects ---------------------------------------------------------------------------
    def reset(self) -> None:
        # A bulk query's thread takes the lock to record its result, and reset holds the lock while it reloads:
        # wait for the threads first (joining them under the lock deadlocked).
        for operation in list(self.operations.values()):
            operation["_thread"].join()
        super().reset()

    def close(self) -> None:
        for operation in list(self.operations.values()):
            operation["_thread"].join(timeout=30)  # a result still being written (daemon threads)
        shutil.rmtree(self._results, ignore_errors=True)

    def load(self) -> None:
        self.operations.clear()
        shutil.rmtree(self._results, ignore_errors=True)
        self._results.mkdir(parents=True, exist_ok=True)
        self.downloads.clear()
        self._next_failure = None
        self.bucket.reset()
        self.indexes = {"customers": _customer_index(read_world_arrow(self.world_dir, "customers")),
                        "orders": _order_index(read_world_arrow(self.world_dir, "orders"),
                                               read_world_arrow(self.world_dir, "order_lines"),
                                               read_world_arrow(self.world_dir, "refunds")),
                        "products": _product_index(read_world_arrow(self.world_dir, "products"))}
        first = self.indexes["orders"].payloads(0, 1)
        self.currency = first[0]["currencyCode"] if first else "EUR"

    def fail_next_bulk(self, error_code: str, *, partial: bool = False) -> None:
        """Make the next bulk operation end FAILED with ``error_code`` (and a ``partialDataUrl`` if ``partial``)."""
        if error_code not in BULK_FAILURES:
            raise ValueError(f"not a BulkOperationErrorCode: {error_code}")
        with self.lock:
            self._next_failure = (error_code, partial)

    def snapshot(self) -> dict[str, Any]:
        return {"operations": {k: {f: v for f, v in op.items() if f not in ("_thread", "_path")}
                               for k, op in self.operations.items()},
                "downloads": self.downloads}

    # ---- routes --------------------------------------------------------------------------------------------
    def routes(self, router: APIRouter) -> None:
        add_graphql_route(router, self.unauthorized)

        @router.get("/bulk-operation-results/{name}.jsonl")
        def bulk_result(name: str, request: Request) -> Response:
            # Stands in for the storage host behind a result url: the signature in the URL is the credential.
            with self.lock:
                self.downloads.append({"name": name, "shopify_token_sent":
                                       "x-shopify-access-token" in request.headers})
                operation = self.operations.get(_gid("BulkOperation", name.split("-")[0])) if name[:1].isdigit() else None
            signature = request.query_params.get("signature", "")
            if operation is None or not hmac.compare_digest(signature, _sign(name)):
                return Response("<Error><Code>AccessDenied</Code><Message>Access denied.</Message></Error>",
                                status_code=403, media_type="application/xml")
            if not name.endswith("-partial"):
                return FileResponse(operation["_path"], media_type="application/jsonl")
            half = int(operation["_counts"][0]) // 2

            def first_half():
                with open(operation["_path"], encoding="utf-8") as lines:
                    yield from itertools.islice(lines, half)

            return StreamingResponse(first_half(), media_type="application/jsonl")

    def answers(self, query: str) -> bool:
        try:
            operation = parse(query)[0]
        except GraphQLSyntaxError:
            return False
        served = {"mutation": {"bulkOperationRunQuery"}}.get(
            operation.kind, {*_ROOTS, *_COUNTS, "bulkOperation", "bulkOperations", "shop"})
        return any(f.name in served for f in operation.root.fields())

    def answer(self, query: str, variables: dict[str, Any], version: str, request: Request) -> Response:
        return answer_operation(self.bucket, parse(query)[0],
                                mutation=lambda f, run: self._mutation(f, variables, request),
                                query=lambda f, run: self._query(f, variables, run), variables=variables)

    # ---- query root ----------------------------------------------------------------------------------------
    def _query(self, selection: Selection, variables: dict[str, Any], run: _Run) -> Any:
        if selection.name in _ROOTS:
            return self._connection(selection, variables, run)
        if selection.name in _COUNTS:
            return self._count(selection, variables, run)
        if selection.name == "bulkOperation":
            return self._bulk_operation(selection, variables, run)
        if selection.name == "bulkOperations":
            return self._bulk_operations(selection, variables, run)
        shop = {"__typename": "Shop", "id": "gid://shopify/Shop/1", "name": "Narrowcast Demo Shop",
                "currencyCode": self.currency, "ianaTimezone": "Europe/Berlin"}
        return _project(shop, selection, variables, run)

    def _connection(self, selection: Selection, variables: dict[str, Any], run: _Run) -> dict[str, Any]:
        index = self.indexes[selection.name]
        low, high, high_inclusive = _search_bounds(selection.argument("query", variables))
        lo, hi = index.bounds(low, high, high_inclusive=high_inclusive)
        if run.bulk:
            return _project_connection(index.iter_payloads(lo, hi), selection, variables, run, None)
        first = _page_size(selection, variables)
        after = selection.argument("after", variables)
        start = lo
        if after:
            try:
                state = decode_cursor(after)
                start = max(lo, index.after((int(state["u"]), int(state["id"]))))
            except (ValueError, KeyError, TypeError):
                raise QueryError(f"Invalid cursor for current pagination: {after}", "BAD_REQUEST") from None
        stop = min(hi, start + first)
        nodes = index.payloads(start, stop)
        cursors = [encode_cursor({"u": u, "id": i}) for u, i in map(index.key, range(start, stop))]
        page_info = {"hasNextPage": stop < hi, "hasPreviousPage": start > lo,
                     "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None}
        return _project_page(nodes, cursors, page_info, selection, variables, run)

    def _count(self, selection: Selection, variables: dict[str, Any], run: _Run) -> Any:
        index = self.indexes[_COUNTS[selection.name]]
        low, high, high_inclusive = _search_bounds(selection.argument("query", variables))
        lo, hi = index.bounds(low, high, high_inclusive=high_inclusive)
        limit = _count_limit(selection, variables)
        reached = limit is not None and hi - lo >= limit
        count = {"__typename": "Count", "count": limit if reached else hi - lo,
                 "precision": "AT_LEAST" if reached else "EXACT"}
        return _project(count, selection, variables, run)

    def _bulk_operation(self, selection: Selection, variables: dict[str, Any], run: _Run) -> Any:
        with self.lock:
            operation = self.operations.get(str(selection.argument("id", variables)))
            if operation is None:
                return None
            thread = operation["_thread"]
        if operation["status"] == "RUNNING":
            thread.join(POLL_WAITS_SECONDS)
        with self.lock:
            _advance(operation, self._next_failure)
            if operation["status"] == "FAILED":
                self._next_failure = None
            public = {k: v for k, v in operation.items() if not k.startswith("_") and k != "name"}
        return _project(public, selection, variables, run)

    def _bulk_operations(self, selection: Selection, variables: dict[str, Any], run: _Run) -> Any:
        """``bulkOperations(first:, after:, query:, sortKey:, reverse:)`` (from 2026-01,
        https://shopify.dev/docs/api/admin-graphql/latest/queries/bulkOperations): the app's operations, "sorting by
        created_at, with newest operations first" by default (``sortKey`` CREATED_AT or COMPLETED_AT, ``reverse``
        flips), filtered by the search terms ``status:`` (canceled, canceling, completed, created, failed,
        running), ``operation_type:`` (query, mutation) and ``created_at:`` with its comparators; other terms are
        ignored. Listing an operation does not advance it: its status is what its polls made it."""
        search = selection.argument("query", variables)
        with self.lock:
            public = [{k: v for k, v in op.items() if not k.startswith("_") and k != "name"}
                      for op in self.operations.values()]
        public = [op for op in public if _bulk_matches(op, search if isinstance(search, str) else "")]
        key = "completedAt" if selection.argument("sortKey", variables) == "COMPLETED_AT" else "createdAt"
        # Newest first; ties (one second) by id, the later operation first.
        public.sort(key=lambda op: (op.get(key) or "", int(op["id"].rsplit("/", 1)[1])), reverse=True)
        if selection.argument("reverse", variables):
            public.reverse()
        first = _page_size(selection, variables)
        after = selection.argument("after", variables)
        start = 0
        if after:
            try:
                start = int(decode_cursor(after)["i"]) + 1
            except (ValueError, KeyError, TypeError):
                raise QueryError(f"Invalid cursor for current pagination: {after}", "BAD_REQUEST") from None
        nodes = public[start:start + first]
        cursors = [encode_cursor({"i": start + n}) for n in range(len(nodes))]
        page_info = {"hasNextPage": start + first < len(public), "hasPreviousPage": start > 0,
                     "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None}
        return _project_page(nodes, cursors, page_info, selection, variables, run)

    # ---- mutations -----------------------------------------------------------------------------------------
    def _mutation(self, selection: Selection, variables: dict[str, Any], request: Request) -> Any:
        text = selection.argument("query", variables)
        problem, root = _bulk_problem(text)
        with self.lock:
            running = sum(op["status"] in ("CREATED", "RUNNING") for op in self.operations.values())
        code = "INVALID"
        if problem is None and running >= MAX_RUNNING_BULK:
            # BulkOperationUserErrorCode LIMIT_REACHED: "Bulk operations limit reached. Please try again later."
            # (https://shopify.dev/docs/api/admin-graphql/latest/enums/BulkOperationUserErrorCode)
            problem, code = "Bulk operations limit reached. Please try again later.", "LIMIT_REACHED"
        if problem is not None:
            payload = {"__typename": "BulkOperationRunQueryPayload", "bulkOperation": None,
                       "userErrors": [{"__typename": "BulkOperationUserError", "field": None if code != "INVALID"
                                       else ["query"], "message": problem, "code": code}]}
            return _project(payload, selection, variables, _Run())
        with self.lock:
            number = next(self._numbers)
            operation_id = _gid("BulkOperation", number)
            name = str(number)
            base = str(request.base_url).rstrip("/") + "/shopify/bulk-operation-results"
            operation = {
                "__typename": "BulkOperation", "id": operation_id, "status": "CREATED", "errorCode": None,
                "type": "QUERY", "query": text, "createdAt": iso_z(datetime.now(UTC).replace(tzinfo=None)),
                "completedAt": None, "objectCount": "0", "rootObjectCount": "0", "fileSize": None, "url": None,
                "partialDataUrl": None, "name": name, "_path": str(self._results / f"{name}.jsonl"),
                "_url": f"{base}/{name}.jsonl?signature={_sign(name)}",
                "_partial_url": f"{base}/{name}-partial.jsonl?signature={_sign(name + '-partial')}",
                "_counts": None,
            }
            operation["_thread"] = threading.Thread(target=self._write_result, args=(operation, root),
                                                    name=f"shopify-bulk-{name}", daemon=True)
            self.operations[operation_id] = operation
            created = {k: v for k, v in operation.items() if not k.startswith("_") and k != "name"}
        operation["_thread"].start()
        payload = {"__typename": "BulkOperationRunQueryPayload", "bulkOperation": created, "userErrors": []}
        return _project(payload, selection, variables, _Run())

    def _write_result(self, operation: dict[str, Any], root: Selection) -> None:
        """The bulk query's run: its root nodes' lines, then the nested ones', into the operation's JSONL file."""
        path = Path(operation["_path"])
        roots, children = _JsonlSink(path), _JsonlSink(path.with_suffix(".children"))
        try:
            self._connection(root, {}, _Run(bulk=True, lines=roots, children=children))
        finally:
            roots.close()
            children.close()
        with path.open("ab") as out, children.path.open("rb") as nested:
            shutil.copyfileobj(nested, out)
        children.path.unlink()
        with self.lock:
            objects = roots.count + children.count
            operation["_counts"] = (str(objects), str(roots.count), str(roots.size + children.size))
            if not objects:
                operation["_url"] = None


def _advance(operation: dict[str, Any], failure: tuple[str, bool] | None) -> None:
    """One step of a bulk operation's life per poll: CREATED → RUNNING → COMPLETED (or FAILED when asked)."""
    if operation["status"] == "CREATED":
        operation["status"] = "RUNNING"
        return
    if operation["status"] != "RUNNING" or operation["_counts"] is None:  # not run yet, or still writing
        return
    objects, roots, size = operation["_counts"]
    if failure is not None:
        code, partial = failure
        operation.update(status="FAILED", errorCode=code, partialDataUrl=operation["_partial_url"] if partial else None)
        return
    operation.update(status="COMPLETED", completedAt=iso_z(datetime.now(UTC).replace(tzinfo=None)), objectCount=objects,
                     rootObjectCount=roots, fileSize=size if operation["_url"] else None, url=operation["_url"])


_BULK_TERM = re.compile(r"(status|operation_type|created_at):(>=|<=|>|<)?'?([^'\s]+)'?")


def _bulk_matches(operation: dict[str, Any], search: str) -> bool:
    """Whether a listed operation meets every ``status:``, ``operation_type:`` and ``created_at:`` term."""
    for field_name, op, value in _BULK_TERM.findall(search):
        if field_name == "status" and operation["status"] != value.upper():
            return False
        if field_name == "operation_type" and operation["type"] != value.upper():
            return False
        if field_name == "created_at":
            try:
                bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue  # a term Shopify cannot read is ignored
            bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
            created = datetime.fromisoformat(operation["createdAt"].replace("Z", "+00:00"))
            holds = {">": created > bound, ">=": created >= bound, "<": created < bound,
                     "<=": created <= bound, "": created >= bound}[op]
            if not holds:
                return False
    return True


def _bulk_problem(text: Any) -> tuple[str | None, Selection | None]:
    """Why a bulk query is refused (bulk operations guide, "Operation restrictions"), and its root field."""
    if not isinstance(text, str):
        return "Invalid query", None
    try:
        operations = parse(text)
    except GraphQLSyntaxError as exc:
        return f"Invalid query: {exc}", None
    roots = operations[0].root.fields() if len(operations) == 1 and operations[0].kind == "query" else []
    if len(roots) != 1:
        return "Bulk queries must contain exactly one top-level field.", None
    root = roots[0]
    if root.name in ("node", "nodes"):
        return "Bulk queries cannot contain a top level `node` or `nodes` field.", None
    if root.name not in _ROOTS or not is_connection(root):
        return "Bulk queries must contain at least one connection.", None
    connections, depth = _connection_shape(root)
    if connections > MAX_BULK_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_BULK_CONNECTIONS} connections.", None
    if depth > MAX_BULK_DEPTH:
        return f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_BULK_DEPTH}.", None
    return None, root


def _connection_shape(selection: Selection, depth: int = 0) -> tuple[int, int]:
    here = is_connection(selection)
    count, deepest = int(here), depth + here
    for child in selection.fields():
        c, d = _connection_shape(child, depth + here)
        count, deepest = count + c, max(deepest, d)
    return count, deepest


def _page_size(selection: Selection, variables: dict[str, Any]) -> int:
    first = selection.argument("first", variables)
    last = selection.argument("last", variables)
    size = first if first is not None else last
    if not isinstance(size, int):
        raise QueryError("you must provide one of first or last", None)
    if size > MAX_PAGE:
        raise QueryError(f"The '{'first' if first is not None else 'last'}' argument may not exceed {MAX_PAGE}.", None)
    return size


def _count_limit(selection: Selection, variables: dict[str, Any]) -> int | None:
    """A count field's ``limit``: the default when the argument (or the variable feeding it) is absent, None for
    an explicit ``null``; it is typed ``Int`` in the reference."""
    value = selection.arguments.get("limit", COUNT_LIMIT)
    if isinstance(value, Variable):
        value = variables.get(value.name, COUNT_LIMIT)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise QueryError(f"Argument 'limit' on Field '{selection.name}' has an invalid value ({value!r}). "
                         "Expected type 'Int'.", None)
    return value


def _search_bounds(search: Any) -> tuple[int | None, int | None, bool]:
    low = high = None
    high_inclusive = True
    for field_name, op, value in _SEARCH_TERM.findall(search if isinstance(search, str) else ""):
        if field_name != "updated_at":
            continue
        try:
            moment = epoch_us(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            continue  # Shopify ignores a term it cannot read
        if op in ("", ">="):
            low = moment
        elif op == ">":
            low = moment + 1
        elif op == "<":
            high, high_inclusive = moment, False
        elif op == "<=":
            high, high_inclusive = moment, True
    return low, high, high_inclusive


# ---- projection: only what the query selects ---------------------------------------------------------------
def _project(obj: Any, selection: Selection, variables: dict[str, Any], run: _Run,
             parent_id: str | None = None) -> Any:
    if obj is None:
        return None
    if isinstance(obj, list) and not isinstance(obj, Connection):
        size = selection.argument("first", variables)
        items = obj[:size] if isinstance(size, int) and not run.bulk else obj
        return [_project(item, selection, variables, run, parent_id) for item in items]
    if not isinstance(obj, dict):
        return obj
    run.actual += 1
    own_id = obj.get("id") if isinstance(obj.get("id"), str) else parent_id
    out: dict[str, Any] = {}
    for child in selection.fields():
        if child.name == "__typename":
            out[child.key] = obj.get("__typename")
            continue
        if child.name not in obj:
            type_name = obj.get("__typename", "Object")
            raise QueryError(f"Field '{child.name}' doesn't exist on type '{type_name}'", "undefinedField",
                             typeName=type_name, fieldName=child.name)
        value = obj[child.name]
        if isinstance(value, Connection):
            if run.bulk:
                # Nested connections leave their parent: each node is a line of its own naming its parent.
                _project_connection(value, child, variables, run, own_id)
                continue
            size = _page_size(child, variables)
            cursors = [encode_cursor({"i": n}) for n in range(min(size, len(value)))]
            page_info = {"hasNextPage": len(value) > size, "hasPreviousPage": False,
                         "startCursor": cursors[0] if cursors else None,
                         "endCursor": cursors[-1] if cursors else None}
            out[child.key] = _project_page(value[:size], cursors, page_info, child, variables, run)
        elif child.selections:
            out[child.key] = _project(value, child, variables, run, own_id)
        else:
            out[child.key] = value
    return out


def _project_page(nodes: list[Any], cursors: list[str], page_info: dict[str, Any], selection: Selection,
                  variables: dict[str, Any], run: _Run) -> dict[str, Any]:
    run.actual += 2
    out: dict[str, Any] = {}
    for child in selection.fields():
        if child.name == "edges":
            node_selection = next((s for s in child.fields() if s.name == "node"), None)
            out[child.key] = [{**({"node": _project(n, node_selection, variables, run)} if node_selection else {}),
                               **({"cursor": c} if any(s.name == "cursor" for s in child.fields()) else {})}
                              for n, c in zip(nodes, cursors, strict=True)]
        elif child.name == "nodes":
            out[child.key] = [_project(n, child, variables, run) for n in nodes]
        elif child.name == "pageInfo":
            out[child.key] = {s.key: page_info.get(s.name) for s in child.fields()}
        else:
            raise QueryError(f"Field '{child.name}' doesn't exist on type 'Connection'", "undefinedField")
    return out


def _project_connection(nodes: Iterable[Any], selection: Selection, variables: dict[str, Any], run: _Run,
                        parent_id: str | None) -> None:
    """A bulk operation's connection: one JSONL line per node, nested ones with ``__parentId``."""
    node_selection = next((n for e in selection.fields() if e.name == "edges" for n in e.fields() if n.name == "node"),
                          next((s for s in selection.fields() if s.name == "nodes"), None))
    if node_selection is None:
        return None
    for node in nodes:
        line = _project(node, node_selection, variables, run)
        if parent_id is None:
            run.lines.append(line)
        else:
            run.children.append({**line, "__parentId": parent_id})
    return None


# ---- world rows → GraphQL objects --------------------------------------------------------------------------
# The world stays in its Arrow tables; an object is built when a page or a bulk query's chunk reaches it
# (a million customers and their orders built up front held ~10 GB).
def _empty_index() -> ColumnIndex:
    return ColumnIndex(np.empty(0, np.int64), np.empty(0, np.int64), lambda rows: [])


def _latest(table: pa.Table, key: str) -> pa.Table:
    """One row per ``key``, the last in file order (a re-exported row replaces the one before it)."""
    ids = table.column(key).to_numpy()
    _, last_from_end = np.unique(ids[::-1], return_index=True)
    if len(last_from_end) == len(ids):
        return table
    return table.take(pa.array(np.sort(len(ids) - 1 - last_from_end)))


def _updated_index(table: pa.Table | None, key: str, build: Callable[[pa.Table], list[Any]]) -> ColumnIndex:
    """The connection's order, ``(updatedAt, id)``, over ``table``'s rows; ``build`` makes objects of a slice."""
    if table is None or not table.num_rows:
        return _empty_index()
    table = _latest(table, key)
    return ColumnIndex(epoch_seconds_us(table.column("updated_at")), table.column(key).to_numpy(),
                       lambda rows: build(table.take(pa.array(rows))))


def _customer_index(customers: pa.Table | None) -> ColumnIndex:
    return _updated_index(customers, "customer_id", lambda rows: [_customer(c) for c in rows.to_pylist()])


def _product_index(products: pa.Table | None) -> ColumnIndex:
    return _updated_index(products, "product_id", lambda rows: [_product(p) for p in rows.to_pylist()])


def _order_index(orders: pa.Table | None, lines: pa.Table | None, refunds: pa.Table | None) -> ColumnIndex:
    """Orders with their line items and refunds: the lines (and refunds) sorted by order, stably, so an order's
    own are one contiguous run found by two binary searches."""
    if lines is not None:
        lines = lines.take(pc.sort_indices(lines, [("order_id", "ascending")]))
    if refunds is not None:
        refunds = refunds.take(pc.sort_indices(refunds, [("order_id", "ascending"), ("refund_id", "ascending")]))
    line_keys = lines.column("order_id").to_numpy() if lines is not None else None
    refund_keys = refunds.column("order_id").to_numpy() if refunds is not None else None

    def build(rows: pa.Table) -> list[dict[str, Any]]:
        ids = rows.column("order_id").to_numpy()
        own_lines = (take_ranges(lines, *group_offsets(line_keys, ids)) if lines is not None
                     else [[] for _ in ids])
        own_refunds = (take_ranges(refunds, *group_offsets(refund_keys, ids)) if refunds is not None
                       else [[] for _ in ids])
        built = []
        for order, order_lines, order_refunds in zip(rows.to_pylist(), own_lines, own_refunds, strict=True):
            by_refund: dict[int, list[dict]] = defaultdict(list)
            for refund in order_refunds:
                by_refund[refund["refund_id"]].append(refund)
            built.append(_order(order, order_lines, by_refund))
        return built

    return _updated_index(orders, "order_id", build)


def _customer(c: dict[str, Any]) -> dict[str, Any]:
    if c["accepts_marketing"]:
        state = "SUBSCRIBED"
    elif c["marketing_consent_updated_at"] is not None:
        state = "UNSUBSCRIBED"
    else:
        state = "NOT_SUBSCRIBED"
    return {
        "__typename": "Customer", "id": _gid("Customer", c["customer_id"]),
        "legacyResourceId": str(c["customer_id"]), "firstName": c["first_name"], "lastName": c["last_name"],
        "createdAt": iso_z(c["created_at"]), "updatedAt": iso_z(c["updated_at"]),
        "tags": ["test"] if c["is_test"] else [], "state": "ENABLED", "note": None, "verifiedEmail": True,
        "defaultEmailAddress": {"__typename": "CustomerEmailAddress", "emailAddress": c["email"],
                                "marketingState": state, "marketingOptInLevel": "SINGLE_OPT_IN",
                                "marketingUpdatedAt": iso_z(c["marketing_consent_updated_at"])}
        if c["email"] else None,
        "defaultPhoneNumber": {"__typename": "CustomerPhoneNumber", "phoneNumber": c["phone"]} if c["phone"] else None,
        "defaultAddress": {"__typename": "MailingAddress", "firstName": c["first_name"], "lastName": c["last_name"],
                           "city": c["city"], "province": c["region"], "countryCodeV2": c["country_code"]},
    }


_FINANCIAL = {"paid": "PAID", "partially_refunded": "PARTIALLY_REFUNDED", "refunded": "REFUNDED",
              "pending": "PENDING", "voided": "VOIDED", "authorized": "AUTHORIZED", "partially_paid": "PARTIALLY_PAID"}
_FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED"}


def _order(o: dict[str, Any], lines: list[dict], refunds: dict[int, list[dict]]) -> dict[str, Any]:
    currency = o["currency"]
    line_items = Connection({
        "__typename": "LineItem", "id": _gid("LineItem", li["line_item_id"]),
        "product": {"__typename": "Product", "id": _gid("Product", li["product_id"])} if li["product_id"] else None,
        "variant": {"__typename": "ProductVariant", "id": _gid("ProductVariant", li["variant_id"])}
        if li["variant_id"] else None,
        "sku": li["sku"], "title": li["title"], "name": li["title"], "quantity": li["quantity"],
        "originalUnitPriceSet": _money(li["price"], currency),
        "totalDiscountSet": _money(li["total_discount"], currency),
    } for li in lines)
    refund_objects = [{
        "__typename": "Refund", "id": _gid("Refund", refund_id), "createdAt": iso_z(rows[0]["created_at"]),
        "note": None,
        "refundLineItems": Connection({
            "__typename": "RefundLineItem", "id": _gid("RefundLineItem", refund_id * 100 + n),
            "lineItem": {"__typename": "LineItem", "id": _gid("LineItem", r["line_item_id"])},
            "quantity": r["quantity"], "restockType": "NO_RESTOCK", "restocked": False,
            "subtotalSet": _money(r["subtotal"], currency), "totalTaxSet": _money(0, currency),
        } for n, r in enumerate(rows, start=1)),
    } for refund_id, rows in sorted(refunds.items())]
    landing = o["landing_site"]
    return {
        "__typename": "Order", "id": _gid("Order", o["order_id"]), "legacyResourceId": str(o["order_id"]),
        "name": f"#{o['order_number']}", "number": o["order_number"], "email": o["email"],
        "createdAt": iso_z(o["created_at"]), "updatedAt": iso_z(o["updated_at"]),
        "processedAt": iso_z(o["processed_at"]), "cancelledAt": iso_z(o["cancelled_at"]),
        "cancelReason": o["cancel_reason"].upper() if o["cancel_reason"] else None, "closedAt": None,
        "displayFinancialStatus": _FINANCIAL.get(o["financial_status"], (o["financial_status"] or "").upper() or None),
        "displayFulfillmentStatus": _FULFILLMENT.get(o["fulfillment_status"], str(o["fulfillment_status"]).upper()),
        "currencyCode": currency, "presentmentCurrencyCode": currency,
        "subtotalPriceSet": _money(o["subtotal_price"], currency),
        "totalDiscountsSet": _money(o["total_discounts"], currency),
        "totalTaxSet": _money(o["total_tax"], currency),
        "totalShippingPriceSet": _money(o["total_shipping"], currency),
        "totalPriceSet": _money(o["total_price"], currency),
        "discountCodes": [o["discount_code"]] if o["discount_code"] else [],
        "test": bool(o["test"]), "sourceName": o["source_name"],
        "customer": {"__typename": "Customer", "id": _gid("Customer", o["customer_id"])}
        if o["customer_id"] is not None else None,
        "billingAddress": {"__typename": "MailingAddress", "countryCodeV2": o["billing_country_code"]}
        if o["billing_country_code"] else None,
        "customerJourneySummary": {"__typename": "CustomerJourneySummary", "ready": True, "lastVisit": {
            "__typename": "CustomerVisit", "landingPage": landing, "referrerUrl": o["referring_site"]}
            if landing or o["referring_site"] else None},
        "lineItems": line_items, "refunds": refund_objects,
        **_fulfillment_fields(o, lines),
    }


def _fulfillment_fields(o: dict[str, Any], lines: list[dict]) -> dict[str, Any]:
    """An order's fulfillments and marketplace fields (Order.sourceIdentifier, customAttributes, fulfillments;
    Fulfillment, FulfillmentTrackingInfo, FulfillmentLineItem in the GraphQL Admin reference). A fulfilled world
    order has one fulfillment of every line, recorded when the order was last updated; a world order may name
    the marketplace order it was imported from (``source_identifier``; ``note_attributes`` as a JSON object)."""
    fulfillments = []
    if o["fulfillment_status"] == "fulfilled" and lines:
        fulfillment_id = o["order_id"] * 10 + 1
        number = f"00340434{o['order_id']:012d}"
        fulfillments.append({
            "__typename": "Fulfillment", "id": _gid("Fulfillment", fulfillment_id), "status": "SUCCESS",
            "createdAt": iso_z(o["updated_at"]), "updatedAt": iso_z(o["updated_at"]),
            "trackingInfo": [{"__typename": "FulfillmentTrackingInfo", "company": "DHL Express", "number": number,
                              "url": f"https://www.dhl.com/en/express/tracking.html?AWB={number}"}],
            "fulfillmentLineItems": Connection({
                "__typename": "FulfillmentLineItem", "id": _gid("FulfillmentLineItem", fulfillment_id * 100 + n),
                "quantity": li["quantity"],
                "lineItem": {"__typename": "LineItem", "id": _gid("LineItem", li["line_item_id"]), "sku": li["sku"]},
            } for n, li in enumerate(lines, start=1)),
        })
    attributes = json.loads(o.get("note_attributes") or "{}")
    return {"sourceIdentifier": o.get("source_identifier"),
            "customAttributes": [{"__typename": "Attribute", "key": k, "value": v} for k, v in attributes.items()],
            "fulfillments": fulfillments}


def _product(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "Product", "id": _gid("Product", p["product_id"]), "legacyResourceId": str(p["product_id"]),
        "title": p["title"], "vendor": p["brand"], "productType": p["category"],
        "handle": (p["sku"] or str(p["product_id"])).lower(), "status": str(p["status"]).upper(),
        "createdAt": iso_z(p["created_at"]), "updatedAt": iso_z(p["updated_at"]), "tags": [],
        "variants": Connection([{
            "__typename": "ProductVariant", "id": _gid("ProductVariant", p["variant_id"]), "title": "Default Title",
            "sku": p["sku"], "price": money_text(p["price"]), "compareAtPrice": None, "position": 1,
            "inventoryItem": {"__typename": "InventoryItem", "id": _gid("InventoryItem", p["inventory_item_id"])}
            if p["inventory_item_id"] is not None else None,
        }]),
    }


EMULATOR = ShopifyEmulator
