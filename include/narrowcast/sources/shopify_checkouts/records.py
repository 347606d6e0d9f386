"""Shopify checkout and order shapes → records of ``raw.shop_abandoned_checkouts``, ``…_checkout_lines`` and
``raw.shop_checkout_orders``, from either way they arrive.

GraphQL ``AbandonedCheckout`` (polled): id ← the number in ``id`` · name ← ``name`` · recovery_url ←
``abandonedCheckoutUrl`` · email, accepts_marketing ← ``customer.defaultEmailAddress.emailAddress`` /
``.marketingState == SUBSCRIBED`` · currency / total_price ← ``totalPriceSet.shopMoney`` · presentment_currency
/ total_price_presentment ← ``totalPriceSet.presentmentMoney`` · lines: ``originalUnitPriceSet`` (unit price,
both currencies), ``discountedTotalPriceSet.presentmentMoney`` (line total), ``image.url``.

REST checkout webhook (``checkouts/create``, ``checkouts/update``; https://shopify.dev/docs/api/webhooks, topic
payload examples): id, token, name, email, ``buyer_accepts_marketing``, ``abandoned_checkout_url``, ``currency``
(the shop's), ``presentment_currency``, ``total_price`` (in the presentment currency), ``created_at``,
``updated_at``, ``completed_at``, ``customer.id``, ``line_items[]`` with title, variant_title, quantity, sku,
product_id, variant_id, price, line_price. Webhook ``orders/create``: id, email, created_at, updated_at,
``customer.id``, ``checkout_id``, ``checkout_token``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from narrowcast.apis.shopify import gid_number
from narrowcast.contracts.timestamps import parse_timestamp
from narrowcast.sources.shopify.records import field, gid, linked_id, nodes, optional_money


def _bag(obj: dict[str, Any] | None, key: str, side: str) -> tuple[Decimal | None, str | None]:
    money = (((obj or {}).get(key) or {}).get(side) or {})
    return optional_money(money.get("amount"), f"{key}.{side}"), money.get("currencyCode")


def _number(value: Any) -> int | None:
    """A REST id: an integer, its text, or the GID holding it."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else gid_number(text)


def checkout_record(checkout: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} checkout {checkout.get('id')}"
    customer = checkout.get("customer") or {}
    address = customer.get("defaultEmailAddress") or {}
    state = address.get("marketingState")
    total, currency = _bag(checkout, "totalPriceSet", "shopMoney")
    presentment_total, presentment = _bag(checkout, "totalPriceSet", "presentmentMoney")
    return {
        "id": gid(checkout, "id", where),
        "token": None,
        "name": checkout.get("name"),
        "email": address.get("emailAddress") or None,
        "customer_id": linked_id(checkout, "customer"),
        "accepts_marketing": None if state is None else state == "SUBSCRIBED",
        "recovery_url": checkout.get("abandonedCheckoutUrl"),
        "currency": currency,
        "presentment_currency": presentment or currency,
        "total_price": total,
        "total_price_presentment": presentment_total if presentment_total is not None else total,
        "created_at": parse_timestamp(field(checkout, "createdAt", where), where=f"{where} createdAt"),
        "updated_at": parse_timestamp(field(checkout, "updatedAt", where), where=f"{where} updatedAt"),
        "completed_at": parse_timestamp(checkout.get("completedAt"), where=f"{where} completedAt"),
        "seen_via": "poll",
    }


def checkout_line_records(checkout: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    checkout_id = gid(checkout, "id", f"{ref} checkout")
    records = []
    for position, line in enumerate(nodes(checkout, "lineItems"), start=1):
        unit, _ = _bag(line, "originalUnitPriceSet", "shopMoney")
        unit_presentment, _ = _bag(line, "originalUnitPriceSet", "presentmentMoney")
        total_presentment, _ = _bag(line, "discountedTotalPriceSet", "presentmentMoney")
        quantity = int(field(line, "quantity", f"{ref} checkout {checkout_id} line {position}"))
        records.append({
            "checkout_id": checkout_id,
            "position": position,
            "sku": line.get("sku") or (line.get("variant") or {}).get("sku") or None,
            "title": line.get("title"),
            "variant_title": line.get("variantTitle"),
            "product_id": linked_id(line, "product"),
            "variant_id": linked_id(line, "variant"),
            "quantity": quantity,
            "price": unit,
            "price_presentment": unit_presentment if unit_presentment is not None else unit,
            "line_total_presentment": total_presentment,
            "image_url": (line.get("image") or {}).get("url"),
        })
    return records


def webhook_checkout_record(payload: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} checkout {payload.get('id')}"
    currency = payload.get("currency")
    presentment = payload.get("presentment_currency") or currency
    total = optional_money(payload.get("total_price"), f"{where} total_price")
    consent = payload.get("buyer_accepts_marketing")
    customer = payload.get("customer") or {}
    return {
        "id": _required_number(payload, "id", where),
        "token": payload.get("token"),
        "name": payload.get("name"),
        "email": payload.get("email") or customer.get("email") or None,
        "customer_id": _number(customer.get("id")),
        "accepts_marketing": consent if isinstance(consent, bool) else None,
        "recovery_url": payload.get("abandoned_checkout_url"),
        "currency": currency,
        "presentment_currency": presentment,
        # REST total_price is in the presentment currency; the shop amount is known only when they agree.
        "total_price": total if presentment == currency else None,
        "total_price_presentment": total,
        "created_at": parse_timestamp(field(payload, "created_at", where), where=f"{where} created_at"),
        "updated_at": parse_timestamp(field(payload, "updated_at", where), where=f"{where} updated_at"),
        "completed_at": parse_timestamp(payload.get("completed_at"), where=f"{where} completed_at"),
        "seen_via": "webhook",
    }


def webhook_checkout_line_records(payload: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    checkout_id = _required_number(payload, "id", f"{ref} checkout")
    same_currency = (payload.get("presentment_currency") or payload.get("currency")) == payload.get("currency")
    records = []
    for position, line in enumerate(payload.get("line_items") or [], start=1):
        where = f"{ref} checkout {checkout_id} line {position}"
        unit = optional_money(line.get("price"), f"{where} price")
        quantity = int(field(line, "quantity", where))
        line_price = optional_money(line.get("line_price"), f"{where} line_price")
        records.append({
            "checkout_id": checkout_id,
            "position": position,
            "sku": line.get("sku") or None,
            "title": line.get("title"),
            "variant_title": line.get("variant_title"),
            "product_id": _number(line.get("product_id")),
            "variant_id": _number(line.get("variant_id")),
            "quantity": quantity,
            "price": unit if same_currency else None,
            "price_presentment": unit,
            "line_total_presentment": line_price if line_price is not None else
            (unit * quantity if unit is not None else None),
            "image_url": None,
        })
    return records


def order_record(order: dict[str, Any], ref: str, *, seen_via: str) -> dict[str, Any]:
    """An order as the poll (GraphQL ``Order``) or the ``orders/create`` webhook (REST order) gives it."""
    where = f"{ref} order {order.get('id')}"
    graphql = seen_via == "poll"
    created = "createdAt" if graphql else "created_at"
    updated = "updatedAt" if graphql else "updated_at"
    return {
        "id": _required_number(order, "id", where),
        "checkout_id": None if graphql else _number(order.get("checkout_id")),
        "checkout_token": None if graphql else order.get("checkout_token"),
        "customer_id": _number((order.get("customer") or {}).get("id")),
        "email": order.get("email") or None,
        "created_at": parse_timestamp(field(order, created, where), where=f"{where} {created}"),
        "updated_at": parse_timestamp(order.get(updated) or order.get(created), where=f"{where} {updated}"),
        "seen_via": seen_via,
    }


def _required_number(obj: dict[str, Any], key: str, where: str) -> int:
    number = _number(field(obj, key, where))
    if number is None:
        raise ValueError(f"{where}: field {key!r} is not a Shopify id: {obj[key]!r}")
    return number



