"""The one GraphQL endpoint of the Shopify emulators, and what they share to answer it.

Shopify serves a single ``POST /admin/api/{version}/graphql.json`` per shop; in the sandbox the shop's data
(:mod:`.shopify`) and its inventory (:mod:`.shopify_inventory`) are separate emulators, so each registers this
route and whichever is mounted answers by handing the request to every Shopify emulator of the app that
recognises the operation. The route checks the access token, falls a sunset version forward and names the
version that answered in ``X-Shopify-API-Version`` (https://shopify.dev/docs/api/usage/versioning).

Also here: a small GraphQL parser (operations, fields, aliases, arguments, variables, inline fragments; no
named fragments), the calculated query cost of a selection and the cost bucket
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and enums cost 0, objects 1, a
connection 2 + its page size times its node's cost, a mutation 10; a query above 1,000 points is refused
before it runs (MAX_COST_EXCEEDED, https://shopify.dev/docs/api/usage/limits); a query the bucket cannot pay
for answers HTTP 200 with ``THROTTLED`` and ``extensions.cost``. The emulator's cost follows those rules; the
real API may price single fields by hand.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from narrowcast.sandbox.api_versions import shopify_served_version
from narrowcast.sandbox.framework import SANDBOX_TOKEN

MAX_QUERY_COST = 1000
MUTATION_COST = 10
# Restore rate of the standard plans (rate-limits page above). Shopify publishes no bucket size; 2,000 is what
# standard-plan shops report in throttleStatus.maximumAvailable, and clients read it from every answer.
RESTORE_RATE = 100.0
BUCKET_SIZE = 2000.0


# ---- parsing ------------------------------------------------------------------------------------------------
class GraphQLSyntaxError(ValueError):
    """The document does not parse; the message follows graphql-ruby's ``Parse error on ...`` wording."""


@dataclass
class Selection:
    """One field of a selection set (an inline fragment is a selection with ``on`` set and no name)."""

    name: str
    alias: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    selections: list[Selection] = field(default_factory=list)
    on: str | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name

    def argument(self, name: str, variables: dict[str, Any], default: Any = None) -> Any:
        return resolve(self.arguments.get(name, default), variables)

    def fields(self) -> list[Selection]:
        """The selections with inline fragments flattened (the emulator's objects have one concrete type)."""
        flat: list[Selection] = []
        for selection in self.selections:
            flat.extend(selection.fields() if selection.on is not None else [selection])
        return flat


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    name: str | None
    root: Selection  # a nameless selection holding the top-level fields


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class EnumValue:
    name: str


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """An argument value with its variables filled in and enum values as their names."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    return value


_TOKEN = re.compile(r'''
    (?P<skip>[\s,]+|\#[^\n]*)
  | (?P<block>"""(?:\\"""|(?!""").)*""")
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$():=@\[\]{}|&])
''', re.VERBOSE | re.DOTALL)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise GraphQLSyntaxError(f"Parse error on \"{text[position]}\" at offset {position}")
        position = match.end()
        if match.lastgroup != "skip":
            tokens.append((match.lastgroup or "", match.group()))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> str:
        kind, text = self.peek()
        if kind == "end" or (value is not None and text != value):
            raise GraphQLSyntaxError(f"Parse error on \"{text or 'end of document'}\" (expected {value or 'more'})")
        self.at += 1
        return text

    def document(self) -> list[Operation]:
        operations = []
        while self.peek()[0] != "end":
            operations.append(self.operation())
        if not operations:
            raise GraphQLSyntaxError("Parse error on end of document (expected an operation)")
        return operations

    def operation(self) -> Operation:
        kind, name = "query", None
        if self.peek()[1] in ("query", "mutation", "subscription"):
            kind = self.take()
            if self.peek()[0] == "name":
                name = self.take()
            if self.peek()[1] == "(":
                self.skip_balanced("(", ")")
            self.directives()
        return Operation(kind, name, Selection("", selections=self.selection_set()))

    def skip_balanced(self, opening: str, closing: str) -> None:
        depth = 0
        while True:
            text = self.take()
            depth += (text == opening) - (text == closing)
            if depth == 0:
                return

    def directives(self) -> None:
        while self.peek()[1] == "@":
            self.take("@")
            self.take()
            if self.peek()[1] == "(":
                self.skip_balanced("(", ")")

    def selection_set(self) -> list[Selection]:
        self.take("{")
        selections = []
        while self.peek()[1] != "}":
            selections.append(self.selection())
        self.take("}")
        if not selections:
            raise GraphQLSyntaxError("Parse error on \"}\" (expected a field)")
        return selections

    def selection(self) -> Selection:
        if self.peek()[0] == "spread":
            self.take()
            if self.peek()[1] != "on":
                raise GraphQLSyntaxError("Named fragments are not supported by the sandbox")
            self.take("on")
            on = self.take()
            self.directives()
            return Selection("", on=on, selections=self.selection_set())
        if self.peek()[0] != "name":
            raise GraphQLSyntaxError(f"Parse error on \"{self.peek()[1]}\" (expected a field)")
        name, alias = self.take(), None
        if self.peek()[1] == ":":
            self.take(":")
            alias, name = name, self.take()
        arguments = self.arguments() if self.peek()[1] == "(" else {}
        self.directives()
        selections = self.selection_set() if self.peek()[1] == "{" else []
        return Selection(name, alias, arguments, selections)

    def arguments(self) -> dict[str, Any]:
        self.take("(")
        found = {}
        while self.peek()[1] != ")":
            name = self.take()
            self.take(":")
            found[name] = self.value()
        self.take(")")
        return found

    def value(self) -> Any:
        kind, text = self.peek()
        if text == "$":
            self.take("$")
            return Variable(self.take())
        if text == "[":
            self.take("[")
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            self.take("{")
            obj = {}
            while self.peek()[1] != "}":
                key = self.take()
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.take()
        if kind == "block":
            return text[3:-3].replace('\\"""', '"""')
        if kind == "string":
            return _unescape(text[1:-1])
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, EnumValue(text))
        raise GraphQLSyntaxError(f"Parse error on \"{text}\" (expected a value)")


def _unescape(text: str) -> str:
    escapes = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            if text[i + 1] == "u":
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def parse(text: str) -> list[Operation]:
    """The operations of a GraphQL document; :class:`GraphQLSyntaxError` when it does not parse."""
    return _Parser(text).document()


# ---- cost ---------------------------------------------------------------------------------------------------
def is_connection(selection: Selection) -> bool:
    return any(s.name in ("edges", "nodes") for s in selection.fields())


def requested_cost(selection: Selection, variables: dict[str, Any]) -> int:
    """The calculated cost of a selection before it runs: 0 per scalar, 1 per object, a connection (or a list
    with a ``first``) 2 + page size × its node's cost."""
    total = 0
    for child in selection.fields():
        if not child.selections:
            continue
        size = child.argument("first", variables) or child.argument("last", variables)
        if is_connection(child):
            node_cost = sum(requested_cost(s, variables) + (1 if s.name == "nodes" else 0)
                            for s in child.fields() if s.name in ("edges", "nodes"))
            total += 2 + int(size or 1) * node_cost
        else:
            total += int(size or 1) * (1 + requested_cost(child, variables))
    return total


class CostBucket:
    """The leaky bucket of one app on one shop: ``size`` points, refilled at ``restore_rate`` per second."""

    def __init__(self, size: float = BUCKET_SIZE, restore_rate: float = RESTORE_RATE) -> None:
        self.size, self.restore_rate = size, restore_rate
        self._used, self._refilled = 0.0, time.monotonic()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._used, self._refilled = 0.0, time.monotonic()

    def spend(self, requested: float, actual: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Admit a query of ``requested`` points if the bucket holds them, charging ``actual`` (the cost once run,
        at most the requested one); the ``extensions.cost`` to answer with."""
        with self._lock:
            now = time.monotonic()
            self._used = max(0.0, self._used - (now - self._refilled) * self.restore_rate)
            self._refilled = now
            admitted = self.size - self._used >= requested
            charged = requested if actual is None else min(requested, actual)
            if admitted:
                self._used += charged
            return admitted, {"requestedQueryCost": requested, "actualQueryCost": charged if admitted else None,
                              "throttleStatus": {"maximumAvailable": self.size,
                                                 "currentlyAvailable": int(max(0.0, self.size - self._used)),
                                                 "restoreRate": self.restore_rate}}


# ---- answers ------------------------------------------------------------------------------------------------
def graphql_error(message: str, code: str | None, cost: dict[str, Any] | None = None,
                  **extensions: Any) -> Response:
    """A top-level GraphQL error, HTTP 200; ``code`` None where Shopify documents a refusal but not its code."""
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code, **extensions}
    body: dict[str, Any] = {"errors": [error]}
    if cost is not None:
        body["extensions"] = {"cost": cost}
    return JSONResponse(body)


def throttled(cost: dict[str, Any]) -> Response:
    # The throttled answer: {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]} with
    # extensions.cost (rate-limits page above).
    return graphql_error("Throttled", "THROTTLED", cost, documentation="https://shopify.dev/api/usage/rate-limits")


class GraphqlHandler(Protocol):
    emulates: str  # what the emulator serves, for the answer to anything no emulator serves

    def answers(self, query: str) -> bool:
        """Whether this emulator serves the operation in ``query``."""

    def answer(self, query: str, variables: dict[str, Any], version: str, request: Request) -> Response:
        """The answer to one authenticated GraphQL request."""


def add_graphql_route(router: APIRouter, unauthorized: Any) -> None:
    """Register the shop's GraphQL endpoint; it dispatches to every Shopify emulator mounted in the app."""

    @router.post("/admin/api/{version}/graphql.json")
    async def graphql(version: str, request: Request) -> Response:
        if request.headers.get("x-shopify-access-token") != SANDBOX_TOKEN:
            return unauthorized()
        served = shopify_served_version(version)
        try:
            body = await request.json()
        except ValueError:
            body = None
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            response: Response = JSONResponse({"errors": {"query": "Required parameter missing or invalid"}},
                                              status_code=400)
        else:
            variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
            shopify: list[GraphqlHandler] = [e for e in request.app.state.emulators.values() if hasattr(e, "answers")]
            handlers = [e for e in shopify if e.answers(query)]
            if handlers:
                # Handlers get the version as asked: the inventory emulator models each version's rules, also
                # for versions the shop no longer serves (its tests pin them).
                response = handlers[0].answer(query, variables, version, request)
            else:
                response = _not_emulated(shopify)
        response.headers["X-Shopify-API-Version"] = served
        return response


def _not_emulated(handlers: list[GraphqlHandler]) -> Response:
    # Not a Shopify error: the operation exists on the real API (or not), the sandbox just does not serve it.
    served = " and ".join(h.emulates for h in handlers) or "nothing on this path"
    return graphql_error(f"This sandbox only emulates {served}", None)
