"""Customers' own codes as redeem codes of one code discount in the merchant's Shopify shop (GraphQL Admin API).

Connection ``narrowcast_shopify`` (as for inventory; the token needs the ``write_discounts`` scope). Object
``redeem_code``; field ``code`` (the customer's code, e.g. a referral code). The target describes the one code
discount every code redeems, created on the first run that has a code to add:

* ``title`` (required): the discount's name in the Shopify admin, and how the discount is found again when no
  ``discount_id`` is given: exactly one code discount of the shop may carry it.
* ``percentage`` (0 < p ≤ 100, percent off) or ``amount`` (a fixed amount off the order, in the shop's currency):
  exactly one of them.
* ``minimum_subtotal`` (optional): the order subtotal the code needs, in the shop's currency.
* ``once_per_customer`` (default true): a buyer may use the discount once.
* ``combines_with`` (optional): ``order_discounts``, ``product_discounts``, ``shipping_discounts`` booleans.
* ``discount_id`` (optional): the ``DiscountCodeNode`` id, to pin an existing discount instead of looking it up.

The discount is created with ``discountCodeBasicCreate`` carrying the first code to add
(https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeBasicCreate). A run finds it first by
title (one query), so a rerun, or a run whose warehouse state was lost, never creates a second one; its id is kept
for the rest of the run. Codes are added with ``discountRedeemCodeBulkAdd``, 250 per call and asynchronous: the
``DiscountRedeemCodeBulkCreation`` is polled by its counts until ``done`` and, when a code failed, each code's
``errors`` are read, so a code Shopify refuses (``TAKEN`` by another discount, ``TOO_LONG``) is a rejected row with
Shopify's reason, while a code this discount already holds (a resend after a crash) counts as added; when many do
(a state rebuilt after it was lost), the discount's codes are read once and later batches skip the codes it holds.

A removed row (the customer left the model: consent withdrawn, erasure) has its code deleted with
``discountCodeRedeemCodeBulkDelete``, which takes redeem code ids. Shopify offers no lookup of a redeem code by its
text (the discount's ``codes`` connection filters on ``times_used`` only), so a run that deletes codes pages
through the discount's codes (250 a page, about one query point per code) until it has found them, at most once
per run; removals go through the
engine's removal guard like any mirror sync's. A changed code is added, then the batch's old codes deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from narrowcast.activation.destinations.base import (
    Batch,
    Change,
    Destination,
    Limits,
    ObjectSpec,
    RowResult,
    SendContext,
)
from narrowcast.apis import shopify
from narrowcast.contracts.connections import Connection
from narrowcast.http import FatalApiError

COMBINES = {"order_discounts": "orderDiscounts", "product_discounts": "productDiscounts",
            "shipping_discounts": "shippingDiscounts"}
TARGET_KEYS = {"title", "percentage", "amount", "minimum_subtotal", "once_per_customer", "combines_with",
               "discount_id"}


def _positive(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and number > 0 else None


def discount_input(target: Mapping[str, Any], first_code: str, starts_at: datetime) -> dict[str, Any]:
    """The ``DiscountCodeBasicInput`` of the programme's discount, from a checked target."""
    value: dict[str, Any] = ({"percentage": float(Decimal(str(target["percentage"])) / 100)}
                             if "percentage" in target else
                             {"discountAmount": {"amount": str(_positive(target["amount"])), "appliesOnEachItem": False}})
    discount: dict[str, Any] = {
        "title": str(target["title"]), "code": first_code, "startsAt": starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "context": {"all": "ALL"}, "customerGets": {"value": value, "items": {"all": True}},
        "appliesOncePerCustomer": bool(target.get("once_per_customer", True)),
    }
    if target.get("minimum_subtotal") is not None:
        discount["minimumRequirement"] = {
            "subtotal": {"greaterThanOrEqualToSubtotal": str(_positive(target["minimum_subtotal"]))}}
    if target.get("combines_with"):
        discount["combinesWith"] = {COMBINES[k]: bool(v) for k, v in target["combines_with"].items()}
    return discount


class ShopifyDiscountCodes(Destination):
    name = "shopify_discount_codes"
    connection_id = shopify.CONNECTION_ID
    client_class = shopify.ShopifyApi
    api_name = "shopify_admin"
    objects = {
        "redeem_code": ObjectSpec(required_fields=frozenset({"code"}), optional_fields=frozenset(),
                                  required_target=frozenset({"title"}), default_mode="mirror",
                                  allowed_modes=frozenset({"upsert", "mirror", "add_only"})),
    }
    # discountRedeemCodeBulkAdd takes at most 250 codes; one batch is one call. One batch at a time: the first
    # batch may create the discount, which every other batch then adds to.
    limits = Limits(max_batch_size=shopify.MAX_REDEEM_CODES, default_rps=4.0, default_burst=4.0, max_concurrency=1,
                    request_caps={"add": shopify.MAX_REDEEM_CODES, "delete": shopify.MAX_INPUT_ARRAY})

    def __init__(self, context: SendContext) -> None:
        super().__init__(context)
        # Batches arrive on the engine's worker threads; one at a time, so the discount is created once.
        self._lock = threading.Lock()
        self._discount_id: str | None = str(self.target["discount_id"]) if self.target.get("discount_id") else None
        self._looked_up = self._discount_id is not None
        self._code_ids: dict[str, str] = {}  # casefolded code -> DiscountRedeemCode id, as far as read
        self._pages: Iterator[dict[str, str]] | None = None  # the discount's codes, read on as needed

    @classmethod
    def check_declaration(cls, object_name: str, target: Mapping[str, Any], fields: set[str]) -> str | None:
        unknown = set(target) - TARGET_KEYS
        if unknown:
            return f"unknown target key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(TARGET_KEYS))}"
        if not str(target.get("title") or "").strip():
            return "target title must name the discount (it is how the discount is found again)"
        if ("percentage" in target) == ("amount" in target):
            return "target needs exactly one of percentage (percent off) or amount (fixed amount off)"
        if "percentage" in target and not (_positive(target["percentage"]) and _positive(target["percentage"]) <= 100):
            return f"target percentage must be a number in (0, 100], got {target['percentage']!r}"
        if "amount" in target and _positive(target["amount"]) is None:
            return f"target amount must be a number > 0, got {target['amount']!r}"
        if target.get("minimum_subtotal") is not None and _positive(target["minimum_subtotal"]) is None:
            return f"target minimum_subtotal must be a number > 0, got {target['minimum_subtotal']!r}"
        combines = target.get("combines_with") or {}
        if not isinstance(combines, Mapping) or set(combines) - set(COMBINES) or not all(
                isinstance(v, bool) for v in combines.values()):
            return f"target combines_with takes true/false for {', '.join(COMBINES)}"
        if not isinstance(target.get("once_per_customer", True), bool):
            return "target once_per_customer must be true or false"
        return None

    def client_settings(self, connection: Connection) -> dict[str, Any]:
        return {"headers": {"Content-Type": "application/json"}}

    # ---- the programme's discount -----------------------------------------------------------------------------
    def _existing_discount(self) -> str | None:
        """The discount's id: pinned, already known this run, or found by its title (None: the shop has none)."""
        if not self._looked_up:
            title = str(self.target["title"])
            found = shopify.discounts_titled(self.client, title)
            if len(found) > 1:
                raise FatalApiError(self.client.api_name, "POST", self.client.url(self.client.graphql_path), 200,
                                    f"{len(found)} code discounts are titled {title!r}: set target discount_id to "
                                    "the one the codes belong to", {"ids": found})
            self._discount_id = found[0] if found else None
            self._looked_up = True
        return self._discount_id

    def _create_discount(self, first_code: str) -> str:
        self._discount_id = shopify.create_code_discount(
            self.client, discount_input(self.target, first_code, datetime.now(UTC)))
        return self._discount_id

    # ---- sending ----------------------------------------------------------------------------------------------
    def send(self, batch: Batch) -> list[RowResult]:
        with self._lock:
            if batch.kind == "remove":
                results = self._remove(batch.changes)
            else:
                results = self._add(batch.changes)
        return [results[c.key] for c in batch.changes]

    def _add(self, changes: list[Change]) -> dict[str, RowResult]:
        results: dict[str, RowResult] = {}
        owners: dict[str, Change] = {}
        for change in changes:
            code = str(change.payload.get("code") or "").strip()
            if not code:
                results[change.key] = RowResult(change.key, "rejected", "not sent: the code is empty", sent=False)
            elif code.casefold() in owners:
                results[change.key] = RowResult(change.key, "rejected", f"not sent: the code repeats row "
                                                f"{owners[code.casefold()].key}'s (codes are case-insensitive)",
                                                sent=False)
            else:
                owners[code.casefold()] = change
        if not owners:
            return results
        codes = [str(c.payload["code"]).strip() for c in owners.values()]
        outcome: dict[str, str | None] = {}
        discount_id = self._existing_discount()
        while discount_id is None and len(outcome) < len(codes):
            first = codes[len(outcome)]
            try:
                discount_id = self._create_discount(first)
                outcome[first] = None
            except FatalApiError as exc:
                # The discount is made with its first code; a code another discount holds only rejects its row.
                errors = [e for e in (exc.body or {}).get("userErrors") or [] if isinstance(e, Mapping)]
                if not errors or any(e.get("code") != shopify.CODE_TAKEN for e in errors):
                    raise
                outcome[first] = shopify.user_error_messages(errors)
        unsent: set[str] = set()
        if discount_id is not None and self._code_ids:
            # The discount's codes were read this run (a state rebuilt from the shop): codes it holds need no call.
            unsent = {c for c in codes if c not in outcome and c.casefold() in self._code_ids}
            outcome.update(dict.fromkeys(unsent))
        if discount_id is not None:
            outcome.update(shopify.add_redeem_codes(self.client, discount_id, [c for c in codes if c not in outcome],
                                                    held=lambda taken: self._held(discount_id, taken)))
        added = [(code, change) for code, change in zip(codes, owners.values(), strict=True)
                 if outcome.get(code, "no answer for the code") is None]
        for code, change in zip(codes, owners.values(), strict=True):
            if outcome.get(code, "no answer for the code") is not None:
                results[change.key] = RowResult(change.key, "rejected",
                                                f"Shopify refused the code: {outcome.get(code, 'no answer for the code')}")
        # A changed code replaces the old one: the old codes of the batch go in one deletion, once the new are in.
        old = {change.key: str((change.previous or {}).get("code") or "").strip() for code, change in added
               if change.op == "change" and (change.previous or {}).get("code")
               and str(change.previous["code"]).strip().casefold() != code.casefold()}
        problems = self._delete(list(old.values())) if old else {}
        for code, change in added:
            problem = problems.get(old.get(change.key, ""))
            results[change.key] = (
                RowResult(change.key, "rejected", f"added, but the old code was not deleted: {problem}")
                if problem is not None else
                RowResult(change.key, "accepted", sent=code not in unsent or old.get(change.key, "") in problems))
        return results

    def _remove(self, changes: list[Change]) -> dict[str, RowResult]:
        codes = {c.key: str(c.payload.get("code") or "").strip() for c in changes}
        problems = self._delete([c for c in codes.values() if c])
        return {key: RowResult(key, "accepted", sent=code in problems) if problems.get(code) is None
                else RowResult(key, "rejected", f"not deleted: {problems[code]}") for key, code in codes.items()}

    def _find(self, discount_id: str, codes: list[str] | None) -> dict[str, str]:
        """The discount's codes read so far (casefolded → DiscountRedeemCode id), read on from where the run left
        off until ``codes`` (None: every code) are all found or the discount has no more: one pass over the
        discount per run at most. Removals come after every add of a run, and the codes they delete were confirmed
        by earlier runs."""
        if self._pages is None:
            self._pages = shopify.redeem_code_pages(self.client, discount_id)
        missing = {c.casefold() for c in codes} - set(self._code_ids) if codes is not None else None
        while missing is None or missing:
            page = next(self._pages, None)
            if page is None:
                break
            self._code_ids.update((code.casefold(), rid) for code, rid in page.items())
            if missing is not None:
                missing -= {code.casefold() for code in page}
        return self._code_ids

    def _held(self, discount_id: str, taken: list[str]) -> set[str]:
        """Which codes Shopify answered TAKEN the programme's discount holds: a few looked up one by one; many
        (a state rebuilt after it was lost) by reading all the discount's codes, which later batches then skip."""
        if self._pages is None and len(taken) <= shopify.TAKEN_LOOKUPS:
            return shopify.codes_held_by(self.client, discount_id, taken)
        found = self._find(discount_id, None)
        return {c for c in taken if c.casefold() in found}

    def _delete(self, codes: list[str]) -> dict[str, str | None]:
        """Delete ``codes`` from the discount: per code sent, None once deleted or the reason it was not. A code
        the discount does not hold (already deleted, never added) is absent: there is nothing to do."""
        discount_id = self._existing_discount()
        if discount_id is None or not codes:
            return {}
        listing = self._find(discount_id, codes)
        held = {c: listing[c.casefold()] for c in codes if c.casefold() in listing}
        if not held:
            return {}
        failure = shopify.delete_redeem_codes(self.client, discount_id, list(held.values()))
        if failure is None:
            for code in held:
                listing.pop(code.casefold(), None)
        return dict.fromkeys(held, failure)
