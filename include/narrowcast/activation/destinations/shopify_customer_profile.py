"""The merchant's own shop, personalised: each customer's segments and recommendations as Shopify customer
metafields and Narrowcast-owned tags, through the GraphQL Admin API.

Connection ``narrowcast_shopify`` (as for inventory). Object ``customer_profile``; fields: ``customer_id`` (the
Shopify customer id, numeric or ``gid://shopify/Customer/<id>``), ``metafields.<key>`` (text; empty = no such
metafield) and ``tags`` (comma-separated tag names). Target: ``namespace`` (default ``narrowcast``),
``tag_prefix`` (default ``nc:``) and ``list_metafields`` (keys whose comma-separated text is a
``list.single_line_text_field``; the others are ``single_line_text_field``).

Each batch first reads what the shop holds for its customers (``nodes(ids:)``: their tags and their metafields in
the namespace), so a write is only sent where the shop differs, a customer the shop does not know is rejected
without a write, and tags are compared with what is really there. Then one mutation document per group of
customers carries, as aliased root fields (executed in order, GraphQL spec "Mutation" execution):

* ``metafieldsSet`` with at most 25 metafields per field (https://shopify.dev/docs/api/admin-graphql/latest/mutations/metafieldsSet:
  "Allows a maximum of 25 metafields to be set at a time"; atomic: nothing is set when any metafield is refused,
  ``userErrors[].elementIndex`` names the refused one). A customer's metafields never straddle two fields, so a
  refusal names whose write failed; the other customers of a refused field are sent again in a second round.
  ``compareDigest`` is not sent: the namespace is Narrowcast's alone, and the last write from the marts is right.
* ``metafieldsDelete`` for the namespace's metafields a customer should no longer have (a missing one answers
  null, not an error).
* ``tagsAdd`` / ``tagsRemove`` per customer, only with tags that start with ``tag_prefix``: a tag the merchant
  set is never read as Narrowcast's and never removed.

A removed row (customer left the model, e.g. a deletion request) deletes every metafield of the namespace and every
prefixed tag. Throttling is cost-based: the client (``narrowcast.apis.shopify``) waits for the bucket and retries
``THROTTLED``; each mutation root field costs 10 points, so a document holds at most :data:`MAX_MUTATIONS` of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from narrowcast.apis import shopify
from narrowcast.apis.shopify import to_gid
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

DEFAULT_NAMESPACE = "narrowcast"
DEFAULT_TAG_PREFIX = "nc:"
METAFIELD_PREFIX = "metafields."
# metafieldsSet: "Allows a maximum of 25 metafields to be set at a time".
MAX_METAFIELDS_PER_SET = 25
# metafieldsDelete takes a list of identifiers, an input array: at most 250 (https://shopify.dev/docs/api/usage/limits).
MAX_METAFIELDS_PER_DELETE = 250
# MetafieldsSetInput: a key "Must be 2-64 characters long", a namespace "3-255 characters long", both "can contain
# alphanumeric, hyphen, and underscore characters".
_KEY = re.compile(r"[A-Za-z0-9_-]{2,64}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{3,255}")
# Each mutation root field costs 10 points (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits);
# 20 keep a document at 200 points, well inside the smallest bucket a shop reports.
MAX_MUTATIONS = 20
# A customer's namespace metafields are read in one page of this many: a sync writes a handful of keys, and the
# page size is what the read costs, so it is kept small.
READ_METAFIELDS = 10
# The read costs about (1 + 2 + READ_METAFIELDS) points per customer; 70 customers stay under 1,000 points, the
# most one query may request (https://shopify.dev/docs/api/usage/limits).
READ_CUSTOMERS = 70
READ_PROFILES = """query customerProfiles($ids: [ID!]!, $namespace: String!, $first: Int!) {
  nodes(ids: $ids) {
    ... on Customer { id tags metafields(first: $first, namespace: $namespace) { nodes { key type value } } }
  }
}"""
TEXT, LIST = "single_line_text_field", "list.single_line_text_field"
ROUNDS = 2


@dataclass
class _Plan:
    """What one customer's shop record needs: metafields to set and delete, tags to add and remove."""

    change: Change
    owner: str
    metafields: list[dict[str, Any]] = field(default_factory=list)
    deletions: list[dict[str, Any]] = field(default_factory=list)
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def mutations(self) -> int:
        return bool(self.add) + bool(self.remove)


class ShopifyCustomerProfile(Destination):
    name = "shopify_customer_profile"
    connection_id = shopify.CONNECTION_ID
    client_class = shopify.ShopifyApi
    api_name = "shopify_admin"
    objects = {
        "customer_profile": ObjectSpec(
            required_fields=frozenset({"customer_id"}),
            default_mode="mirror",
            allowed_modes=frozenset({"upsert", "mirror"}),
        )
    }
    # nodes(ids:) takes at most 250 ids (an input array, https://shopify.dev/docs/api/usage/limits); the rate is
    # that of the inventory destination: cost points, not requests, are what Shopify limits.
    limits = Limits(max_batch_size=250, default_rps=4.0, default_burst=4.0, max_concurrency=2,
                    request_caps={"read": READ_CUSTOMERS, "metafields_set": MAX_METAFIELDS_PER_SET,
                                  "mutations_per_document": MAX_MUTATIONS})

    @classmethod
    def check_declaration(cls, object_name: str, target: Mapping[str, Any], fields: set[str]) -> str | None:
        if not _NAMESPACE.fullmatch(str(target.get("namespace", DEFAULT_NAMESPACE))):
            return "namespace must be 3-255 characters: letters, digits, hyphen, underscore"
        if not str(target.get("tag_prefix", DEFAULT_TAG_PREFIX)).strip():
            return "tag_prefix must not be empty: it is what tells Narrowcast's tags from the merchant's"
        keys = [f[len(METAFIELD_PREFIX):] for f in fields if f.startswith(METAFIELD_PREFIX)]
        if len(keys) > READ_METAFIELDS:
            return f"at most {READ_METAFIELDS} metafields per sync: the shop's are read back in one page of that size"
        bad = [k for k in keys if not _KEY.fullmatch(k)]
        if bad:
            return f"metafield key(s) {', '.join(sorted(bad))} must be 2-64 letters, digits, hyphens or underscores"
        others = fields - {"customer_id", "tags"} - {f for f in fields if f.startswith(METAFIELD_PREFIX)}
        if others:
            return f"unknown field(s) {', '.join(sorted(others))}: use customer_id, tags or metafields.<key>"
        return None

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    @property
    def namespace(self) -> str:
        return str(self.target.get("namespace", DEFAULT_NAMESPACE))

    @property
    def tag_prefix(self) -> str:
        return str(self.target.get("tag_prefix", DEFAULT_TAG_PREFIX))

    def send(self, batch: Batch) -> list[RowResult]:
        results: dict[str, RowResult] = {}
        owners: dict[str, Change] = {}
        for change in batch.changes:
            owner = to_gid("Customer", change.payload.get("customer_id"))
            if owner is None:
                results[change.key] = RowResult(change.key, "rejected", "customer_id is not a numeric Shopify "
                                                "customer id or gid://shopify/Customer/<id>", sent=False)
            elif owner in owners:
                results[change.key] = RowResult(change.key, "rejected", f"customer_id repeats row "
                                                f"{owners[owner].key}'s: one row per Shopify customer", sent=False)
            else:
                owners[owner] = change
        plans: list[_Plan] = []
        for group in chunks(list(owners), self.limits.request_caps["read"]):
            shop = self.client.graphql(READ_PROFILES, {"ids": group, "namespace": self.namespace,
                                                       "first": READ_METAFIELDS}).get("nodes") or []
            found = {n["id"]: n for n in shop if isinstance(n, Mapping) and isinstance(n.get("id"), str)}
            for owner in group:
                change = owners[owner]
                if owner not in found:
                    if change.op == "remove":
                        # A customer the shop no longer has holds none of our metafields or tags.
                        results[change.key] = RowResult(change.key, "accepted", sent=False)
                    else:
                        results[change.key] = RowResult(change.key, "rejected",
                                                        "not sent: Shopify has no such customer", sent=False)
                    continue
                plans.append(self._plan(change, owner, found[owner]))
        pending = [p for p in plans if p.metafields or p.deletions or p.add or p.remove]
        results.update((p.change.key, RowResult(p.change.key, "accepted", sent=False)) for p in plans
                       if p not in pending)
        for _ in range(ROUNDS):
            if not pending:
                break
            pending = self._write(pending, results)
        for plan in pending:
            results[plan.change.key] = RowResult(plan.change.key, "rejected", "not set: its metafieldsSet call was "
                                                 "refused for another customer twice; sent again next run")
        return [results[c.key] for c in batch.changes]

    # ---- planning --------------------------------------------------------------------------------------------
    def _plan(self, change: Change, owner: str, shop: Mapping[str, Any]) -> _Plan:
        """The writes that make the shop's record match the row (or, for a removal, hold nothing of ours)."""
        payload = {} if change.op == "remove" else change.payload
        lists = set(self.target.get("list_metafields") or [])
        wanted: dict[str, tuple[str, str]] = {}
        for name, value in payload.items():
            if not name.startswith(METAFIELD_PREFIX):
                continue
            key = name[len(METAFIELD_PREFIX):]
            items = _split(value)
            if items:
                wanted[key] = (LIST, json.dumps(items)) if key in lists else (TEXT, ",".join(items))
        held = {m["key"]: (m.get("type"), m.get("value"))
                for m in ((shop.get("metafields") or {}).get("nodes") or []) if isinstance(m, Mapping)}
        plan = _Plan(change, owner)
        for key, (kind, value) in sorted(wanted.items()):
            if held.get(key) != (kind, value):
                plan.metafields.append({"ownerId": owner, "namespace": self.namespace, "key": key, "type": kind,
                                 "value": value})
        plan.deletions = [{"ownerId": owner, "namespace": self.namespace, "key": key}
                       for key in sorted(set(held) - set(wanted))]
        ours = {self.tag_prefix + tag for tag in _split(payload.get("tags"))}
        present = {t for t in shop.get("tags") or [] if isinstance(t, str) and t.startswith(self.tag_prefix)}
        plan.add, plan.remove = sorted(ours - present), sorted(present - ours)
        return plan

    # ---- writing ---------------------------------------------------------------------------------------------
    def _write(self, plans: list[_Plan], results: dict[str, RowResult]) -> list[_Plan]:
        """Send the plans in documents of at most MAX_MUTATIONS root fields; the plans to send again (their
        metafieldsSet refused for another customer) are returned, with only that part left to do."""
        retry: list[_Plan] = []
        for document in _documents(plans, self.limits.request_caps["metafields_set"],
                                   self.limits.request_caps["mutations_per_document"]):
            retry += self._send_document(document, results)
        return retry

    def _send_document(self, document: list[tuple[str, str, Any, list[_Plan]]],
                       results: dict[str, RowResult]) -> list[_Plan]:
        declarations, fields, variables = [], [], {}
        for alias, kind, argument, _ in document:
            if kind == "metafieldsSet":
                declarations.append(f"${alias}: [MetafieldsSetInput!]!")
                fields.append(f"{alias}: metafieldsSet(metafields: ${alias}) "
                              "{ metafields { key } userErrors { field message code elementIndex } }")
            elif kind == "metafieldsDelete":
                declarations.append(f"${alias}: [MetafieldIdentifierInput!]!")
                fields.append(f"{alias}: metafieldsDelete(metafields: ${alias}) "
                              "{ deletedMetafields { key } userErrors { field message } }")
            else:
                owner, tags = argument
                declarations.append(f"${alias}_id: ID!, ${alias}: [String!]!")
                fields.append(f"{alias}: {kind}(id: ${alias}_id, tags: ${alias}) {{ node {{ id }} userErrors {{ field message }} }}")
                variables[f"{alias}_id"] = owner
                argument = tags
            variables[alias] = argument
        query = f"mutation customerProfiles({', '.join(declarations)}) {{\n  " + "\n  ".join(fields) + "\n}"
        data = self.client.graphql(query, variables)
        innocent: set[str] = set()
        for alias, kind, argument, plans in document:
            answer = data.get(alias)
            if not isinstance(answer, Mapping):
                raise FatalApiError(self.client.api_name, "POST", self.client.url(self.client.graphql_path), 200,
                                    f"GraphQL answer has no {kind} payload", data)
            errors = [e for e in answer.get("userErrors") or [] if isinstance(e, Mapping)]
            if not errors:
                continue
            if kind != "metafieldsSet":
                for plan in plans:
                    plan.refused.append(f"{kind}: {_user_errors(errors)}")
                continue
            # Atomic: nothing of this field was set. The customers it names are refused; the others only shared
            # the call and are sent again.
            named = {_owner_of(argument, e) for e in errors} - {None}
            for plan in plans:
                if not named or plan.owner in named:
                    own = [e for e in errors if _owner_of(argument, e) in (plan.owner, None)]
                    plan.refused.append(f"metafieldsSet: {_user_errors(own)}")
                else:
                    innocent.add(plan.change.key)
        retry: list[_Plan] = []
        for plan in {p.change.key: p for *_, plans in document for p in plans}.values():
            if plan.refused:
                results[plan.change.key] = RowResult(plan.change.key, "rejected",
                                                     "Shopify refused " + "; ".join(plan.refused))
            elif plan.change.key in innocent:
                retry.append(_Plan(plan.change, plan.owner, metafields=plan.metafields))
            else:
                results[plan.change.key] = RowResult(plan.change.key, "accepted")
        return retry


def _documents(plans: list[_Plan], per_set: int, per_document: int) -> list[list[tuple[str, str, Any, list[_Plan]]]]:
    """The mutation fields for ``plans``, grouped into documents: (alias, mutation, argument, plans it serves).

    A customer's fields all go in one document, so its outcome is known from one answer."""
    documents: list[list[tuple[str, str, Any, list[_Plan]]]] = []
    current: list[tuple[str, str, Any, list[_Plan]]] = []
    sets: list[tuple[list[dict[str, Any]], list[_Plan]]] = []
    deletes: tuple[list[dict[str, Any]], list[_Plan]] = ([], [])

    def close() -> None:
        nonlocal current, sets, deletes
        fields = [(f"s{i}", "metafieldsSet", inputs, owners) for i, (inputs, owners) in enumerate(sets)]
        if deletes[0]:
            fields.append(("d0", "metafieldsDelete", deletes[0], deletes[1]))
        if fields or current:
            documents.append(fields + current)
        current, sets, deletes = [], [], ([], [])

    for plan in plans:
        new_sets = 0 if not plan.metafields or (sets and len(sets[-1][0]) + len(plan.metafields) <= per_set) else 1
        needed = plan.mutations() + new_sets + (1 if plan.deletions and not deletes[0] else 0)
        if (len(current) + len(sets) + bool(deletes[0]) + needed > per_document
                or len(deletes[0]) + len(plan.deletions) > MAX_METAFIELDS_PER_DELETE):
            close()
        if plan.metafields:
            if not sets or len(sets[-1][0]) + len(plan.metafields) > per_set:
                sets.append(([], []))
            sets[-1][0].extend(plan.metafields)
            sets[-1][1].append(plan)
        if plan.deletions:
            deletes[0].extend(plan.deletions)
            deletes[1].append(plan)
        number = len(documents) * 1000 + len(current)
        if plan.add:
            current.append((f"a{number}", "tagsAdd", (plan.owner, plan.add), [plan]))
        if plan.remove:
            current.append((f"r{number}", "tagsRemove", (plan.owner, plan.remove), [plan]))
    close()
    return documents


def _owner_of(inputs: list[dict[str, Any]], error: Mapping[str, Any]) -> str | None:
    """The customer a metafieldsSet userError names, by its ``elementIndex`` (or the index in its ``field``)."""
    index = error.get("elementIndex")
    if not isinstance(index, int):
        path = error.get("field") or []
        index = int(path[1]) if len(path) > 1 and str(path[1]).isdigit() else None
    return inputs[index]["ownerId"] if isinstance(index, int) and 0 <= index < len(inputs) else None


def _split(value: Any) -> list[str]:
    """A comma-separated text (or a list) as its non-empty, trimmed items, in order."""
    items = value if isinstance(value, list) else str(value).split(",") if value not in (None, "") else []
    return [str(i).strip() for i in items if str(i).strip()]


def _user_errors(errors: list[Mapping[str, Any]]) -> str:
    # code and message only: Shopify's messages name the input, never a person
    return "; ".join(f"{e.get('code') or 'ERROR'}: {e.get('message')}" for e in errors)[:500]
