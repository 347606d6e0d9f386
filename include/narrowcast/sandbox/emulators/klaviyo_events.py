"""Emulator of Klaviyo's Metrics and Events read APIs: ``GET /api/metrics`` and ``GET /api/events``.

Follows the operations ``get_metrics`` and ``get_events`` of Klaviyo's OpenAPI (klaviyo/openapi,
``openapi/stable/apis/get_metrics.json`` / ``get_events.json``) and the guides "Filtering", "Sparse fieldsets",
"Relationships" and "Pagination" of developers.klaviyo.com:

- filters: get_metrics takes ``equals`` on ``integration.name`` / ``integration.category``; get_events takes
  ``equals`` on ``metric_id`` and ``profile_id``, ``has`` on ``profile`` / ``metric``, and ``greater-or-equal``,
  ``greater-than``, ``less-or-equal``, ``less-than`` on ``datetime`` (unquoted ISO 8601) and ``timestamp``
  (epoch seconds); terms combine in ``and(...)`` or comma-separated. Anything else is refused 400 ``invalid``
  "Invalid filter provided." with ``source.parameter = "filter"``, the body Klaviyo answers to a bad filter.
- get_events: ``page[size]`` 1..1000 (default 200), ``sort`` one of datetime/-datetime/timestamp/-timestamp,
  ``include`` of attributions/metric/profile, ``fields[...]`` from each operation's enum; pages by an opaque
  ``page[cursor]`` that ``links.next`` carries with every other parameter.
- the key's scopes (``metrics:read``, ``events:read``; x-klaviyo-scopes) are checked after the key itself: a
  known key without the scope gets 403 ``permission_denied`` "You do not have permission to perform this action."
- the revision header, 401 ``not_authenticated`` and the per-endpoint rate limits with 429 + ``Retry-After`` are
  the Klaviyo emulator's gate; get_events is limited 350/s & 3500/m, get_metrics 10/s & 150/m
  (x-klaviyo-ratelimit).

Sign-ups come from the world's ``klaviyo_signups`` table (the demo) or :meth:`KlaviyoEventsEmulator.seed_signups`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.emulators.klaviyo import KlaviyoEmulator, api_error
from narrowcast.sandbox.emulators.world_index import decode_cursor, encode_cursor, read_world_table

# Klaviyo's own metrics the sandbox account has (ids are per account in Klaviyo; these are the sandbox's).
METRICS = {"Subscribed to Email Marketing": "SbEmMk", "Subscribed to List": "SbLst5", "Opened Email": "OpnEm1"}
INTEGRATION = {"object": "integration", "id": "0rG4eQ", "name": "Klaviyo", "category": "Internal"}
METRIC_FIELDS = frozenset({"created", "id", "integration", "name", "updated"})
EVENT_FIELDS = frozenset({"datetime", "event_properties", "id", "timestamp", "uuid"})
PROFILE_FIELDS = frozenset({"created", "email", "external_id", "first_name", "id", "last_name", "phone_number",
                            "updated"})
INCLUDES = frozenset({"attributions", "metric", "profile"})
SORTS = ("datetime", "-datetime", "timestamp", "-timestamp")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 200, 1000
SCOPES = {"get_metrics": "metrics:read", "get_events": "events:read"}
RATE_LIMITS = {"get_events": (350, 3500), "get_metrics": (10, 150)}
_TERM = re.compile(r"^([a-z-]+)\(([a-z_.]+)(?:,(.*))?\)$", re.DOTALL)
_COMPARE = {"greater-or-equal": lambda a, b: a >= b, "greater-than": lambda a, b: a > b,
            "less-or-equal": lambda a, b: a <= b, "less-than": lambda a, b: a < b}


class _BadFilter(ValueError):
    pass


def _split_top(text: str) -> list[str]:
    """Comma-separated terms at depth 0, quotes respected."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _BadFilter("Verify your parentheses match.")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth or quote:
        raise _BadFilter("Verify your parentheses match.")
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _string(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    raise _BadFilter(f"{value!r} is not a quoted string.")


def _moment(value: str) -> datetime:
    # Klaviyo's "Filtering" guide: datetimes are written without quotes.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _BadFilter(f"{value!r} is not an unquoted ISO 8601 datetime.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_filter(text: str, allowed: dict[str, set[str]]) -> list[tuple[str, str, str | None]]:
    """The (operator, field, raw value) terms of a filter; fields and operators as ``allowed``."""
    text = text.strip()
    if text.startswith("and(") and text.endswith(")"):
        text = text[4:-1]
    terms = []
    for part in _split_top(text):
        match = _TERM.match(part)
        if not match:
            raise _BadFilter(f"{part!r} is not an operation(field,value).")
        op, field, value = match.group(1), match.group(2), match.group(3)
        if op not in allowed.get(field, set()):
            raise _BadFilter(f"{op} on {field} is not supported by this endpoint.")
        _VALUE_CHECKS.get(field, _string if op != "has" else lambda _v: None)(value or "")
        terms.append((op, field, value))
    return terms


def _epoch(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise _BadFilter(f"{value!r} is not a number of seconds.") from None


_VALUE_CHECKS = {"datetime": _moment, "timestamp": _epoch}


def _event_matches(row: dict[str, Any], terms: list[tuple[str, str, str | None]]) -> bool:
    for op, field, value in terms:
        if op == "has":
            continue  # every sandbox event has its profile and metric
        if field in ("metric_id", "profile_id"):
            if row[field] != _string(value or ""):
                return False
        elif field == "datetime" and not _COMPARE[op](row["subscribed_at"], _moment(value or "")):
            return False
        elif field == "timestamp" and not _COMPARE[op](row["subscribed_at"].timestamp(), _epoch(value or "")):
            return False
    return True


EVENT_FILTERS = {"metric_id": {"equals"}, "profile_id": {"equals"}, "profile": {"has"}, "metric": {"has"},
                 "datetime": set(_COMPARE), "timestamp": set(_COMPARE)}
METRIC_FILTERS = {"integration.name": {"equals"}, "integration.category": {"equals"}}


def _fields(request: Request, kind: str, allowed: frozenset[str]) -> set[str] | None:
    raw = request.query_params.get(f"fields[{kind}]")
    if raw is None:
        return None
    wanted = {f.strip() for f in raw.split(",") if f.strip()}
    if not wanted <= allowed:
        raise _BadFilter(f"fields[{kind}]: {', '.join(sorted(wanted - allowed))} not allowed.")
    return wanted


def _sparse(attributes: dict[str, Any], wanted: set[str] | None) -> dict[str, Any]:
    return attributes if wanted is None else {k: v for k, v in attributes.items() if k in wanted}


class KlaviyoEventsEmulator(KlaviyoEmulator):
    name = "klaviyo_events"
    prefix = "klaviyo"

    def __init__(self, world_dir: Path | None) -> None:
        super().__init__(world_dir)
        self.rate_limits.update(RATE_LIMITS)

    def load(self) -> None:
        self.key_scopes = {"metrics:read", "events:read"}  # a test takes one away to see the 403
        self.signups: list[dict[str, Any]] = []
        self.seed_signups(read_world_table(self.world_dir, "klaviyo_signups"))

    def seed_signups(self, rows: list[dict[str, Any]]) -> None:
        """Sign-up events: event_id, metric_name, profile_id, email, list_name, subscribed_at (naive = UTC)."""
        for row in rows:
            moment = row["subscribed_at"]
            self.signups.append({**row, "metric_id": METRICS[row["metric_name"]],
                                 "subscribed_at": moment if moment.tzinfo else moment.replace(tzinfo=UTC)})
        self.signups.sort(key=lambda r: (r["subscribed_at"], r["event_id"]))

    def _refuse(self, request: Request, operation: str) -> Response | None:
        if (denied := self._gate(request, operation)) is not None:
            return denied
        if SCOPES[operation] not in self.key_scopes:
            # A known key lacking the operation's scope (x-klaviyo-scopes): Klaviyo's 403 body.
            return api_error(403, "You do not have permission to perform this action.",
                             "You do not have permission to perform this action.", code="permission_denied")
        return None

    def routes(self, router: APIRouter) -> None:
        @router.get("/api/metrics")
        @router.get("/api/metrics/")
        def get_metrics(request: Request) -> Response:
            if (denied := self._refuse(request, "get_metrics")) is not None:
                return denied
            try:
                terms = parse_filter(request.query_params.get("filter") or "", METRIC_FILTERS) \
                    if request.query_params.get("filter") else []
                wanted = _fields(request, "metric", METRIC_FIELDS)
                data = []
                for name, metric_id in METRICS.items():
                    if all(INTEGRATION[field.split(".")[1]] == _string(value or "") for _, field, value in terms):
                        attributes = {"name": name, "created": "2026-01-05T09:00:00+00:00",
                                      "updated": "2026-01-05T09:00:00+00:00", "integration": INTEGRATION}
                        data.append({"type": "metric", "id": metric_id, "attributes": _sparse(attributes, wanted),
                                     "links": {"self": f"{_base(request)}/api/metrics/{metric_id}"}})
            except _BadFilter as exc:
                return _invalid(exc)
            return JSONResponse({"data": data, "links": {"self": str(request.url), "next": None, "prev": None}})

        @router.get("/api/events")
        @router.get("/api/events/")
        def get_events(request: Request) -> Response:
            if (denied := self._refuse(request, "get_events")) is not None:
                return denied
            query = request.query_params
            try:
                size = int(query.get("page[size]", DEFAULT_PAGE_SIZE))
            except ValueError:
                size = 0
            if not 1 <= size <= MAX_PAGE_SIZE:
                return api_error(400, "Invalid input.", f"page[size] must be between 1 and {MAX_PAGE_SIZE}.",
                                 parameter="page[size]")
            sort = query.get("sort", "datetime")
            if sort not in SORTS:
                return api_error(400, "Invalid input.", f"'{sort}' is not a valid sort field.", parameter="sort")
            include = {i.strip() for i in query.get("include", "").split(",") if i.strip()}
            if not include <= INCLUDES:
                return api_error(400, "Invalid input.", f"include: {', '.join(sorted(include - INCLUDES))} is not "
                                 "a valid relationship.", parameter="include")
            try:
                terms = parse_filter(query["filter"], EVENT_FILTERS) if query.get("filter") else []
                event_fields = _fields(request, "event", EVENT_FIELDS)
                profile_fields = _fields(request, "profile", PROFILE_FIELDS)
                with self.lock:
                    rows = [r for r in self.signups if _event_matches(r, terms)]
            except _BadFilter as exc:
                return _invalid(exc)
            if sort.startswith("-"):
                rows.reverse()
            offset = 0
            if query.get("page[cursor]"):
                # Cursors are opaque ("Pagination" guide). What Klaviyo answers to a cursor it never issued is not
                # documented; the sandbox gives the documented 400 client-error shape (code "invalid",
                # source.parameter), an assumption the connector treats like any other 400.
                try:
                    offset = int(decode_cursor(query["page[cursor]"])["o"])
                except (ValueError, KeyError, TypeError):
                    return api_error(400, "Invalid input.", "Invalid page cursor.", parameter="page[cursor]")
            page = rows[offset:offset + size]
            body: dict[str, Any] = {"data": [_event(r, event_fields, _base(request)) for r in page],
                                    "links": {"self": str(request.url), "next": None, "prev": None}}
            if offset + size < len(rows):
                body["links"]["next"] = _page_url(request, {"o": offset + size})
            if offset:
                body["links"]["prev"] = _page_url(request, {"o": max(0, offset - size)})
            if "profile" in include:
                body["included"] = [_profile(r, profile_fields, _base(request))
                                    for r in {r["profile_id"]: r for r in page}.values()]
            return JSONResponse(body, media_type="application/vnd.api+json")


def _invalid(exc: Exception) -> Response:
    return api_error(400, "Invalid input.", f"Invalid filter provided. {exc}", parameter="filter")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/" + KlaviyoEventsEmulator.prefix


def _page_url(request: Request, state: dict[str, Any]) -> str:
    """links.next / links.prev: the request's own URL, every parameter kept, with the page's cursor."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page[cursor]"]
    return str(request.url.replace(query=urlencode([*params, ("page[cursor]", encode_cursor(state))])))


def _event(row: dict[str, Any], wanted: set[str] | None, base: str) -> dict[str, Any]:
    moment: datetime = row["subscribed_at"]
    properties = {"List": row["list_name"]} if row.get("list_name") else {}
    attributes = {"timestamp": int(moment.timestamp()), "event_properties": properties,
                  "datetime": moment.astimezone(UTC).isoformat(timespec="seconds"), "uuid": row["event_id"]}
    return {"type": "event", "id": row["event_id"], "attributes": _sparse(attributes, wanted),
            "relationships": {
                "profile": {"data": {"type": "profile", "id": row["profile_id"]},
                            "links": {"self": f"{base}/api/events/{row['event_id']}/relationships/profile"}},
                "metric": {"data": {"type": "metric", "id": row["metric_id"]},
                           "links": {"self": f"{base}/api/events/{row['event_id']}/relationships/metric"}}},
            "links": {"self": f"{base}/api/events/{row['event_id']}"}}


def _profile(row: dict[str, Any], wanted: set[str] | None, base: str) -> dict[str, Any]:
    attributes = {"email": row.get("email"), "phone_number": None, "external_id": None}
    return {"type": "profile", "id": row["profile_id"], "attributes": _sparse(attributes, wanted),
            "links": {"self": f"{base}/api/profiles/{row['profile_id']}"}}


EMULATOR = KlaviyoEventsEmulator
