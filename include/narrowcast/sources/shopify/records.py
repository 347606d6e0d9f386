"""Shopify JSON objects → flat raw-table records (columns of ``raw.shop_*`` in docs/data-contracts.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from narrowcast.contracts.money import parse_money
from narrowcast.contracts.timestamps import parse_timestamp


def field(obj: dict[str, Any], key: str, where: str) -> Any:
    """A field the record cannot do without; the error names the object and the field."""
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: field {key!r} is missing") from None


def optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def optional_money(value: Any, where: str) -> Decimal | None:
    return None if value is None or value == "" else parse_money(value, where=where)


def order_record(order: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} order {order.get('id')}"
    shipping = ((order.get("total_shipping_price_set") or {}).get("shop_money") or {}).get("amount", "0")
    return {
        "id": int(field(order, "id", where)),
        "order_number": int(field(order, "order_number", where)),
        "customer_id": optional_int((order.get("customer") or {}).get("id")),
        "email": order.get("email") or None,
        "created_at": parse_timestamp(field(order, "created_at", where), where=f"{where} created_at"),
        "updated_at": parse_timestamp(field(order, "updated_at", where), where=f"{where} updated_at"),
        "processed_at": parse_timestamp(order.get("processed_at"), where=f"{where} processed_at"),
        "cancelled_at": parse_timestamp(order.get("cancelled_at"), where=f"{where} cancelled_at"),
        "financial_status": order.get("financial_status"),
        "fulfillment_status": order.get("fulfillment_status"),
        "currency": field(order, "currency", where),
        "subtotal_price": parse_money(order.get("subtotal_price"), where=f"{where} subtotal_price"),
        "total_discounts": parse_money(order.get("total_discounts", "0"), where=f"{where} total_discounts"),
        "total_tax": parse_money(order.get("total_tax", "0"), where=f"{where} total_tax"),
        "total_shipping": parse_money(shipping, where=f"{where} total_shipping_price_set"),
        "total_price": parse_money(order.get("total_price"), where=f"{where} total_price"),
        "discount_codes": ",".join(d["code"] for d in order.get("discount_codes") or [] if d.get("code")) or None,
        "test": bool(order.get("test")),
        "source_name": order.get("source_name"),
        "landing_site": order.get("landing_site"),
        "referring_site": order.get("referring_site"),
        "billing_country_code": (order.get("billing_address") or {}).get("country_code"),
    }


def line_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    order_id = int(order["id"])
    records = []
    for line in order.get("line_items") or []:
        where = f"{ref} order {order_id} line {line.get('id')}"
        records.append({
            "id": int(field(line, "id", where)),
            "order_id": order_id,
            "product_id": optional_int(line.get("product_id")),
            "variant_id": optional_int(line.get("variant_id")),
            "sku": line.get("sku") or None,
            "title": line.get("title"),
            "quantity": int(field(line, "quantity", where)),
            "price": parse_money(line.get("price"), where=f"{where} price"),
            "total_discount": parse_money(line.get("total_discount", "0"), where=f"{where} total_discount"),
        })
    return records


def refund_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One record per refunded line (``raw.shop_refunds`` is keyed on refund id + line item id)."""
    order_id = int(order["id"])
    records = []
    for refund in order.get("refunds") or []:
        where = f"{ref} order {order_id} refund {refund.get('id')}"
        refund_id = int(field(refund, "id", where))
        created_at = parse_timestamp(field(refund, "created_at", where), where=f"{where} created_at")
        for item in refund.get("refund_line_items") or []:
            records.append({
                "id": refund_id,
                "order_id": order_id,
                "created_at": created_at,
                "line_item_id": int(field(item, "line_item_id", where)),
                "quantity": int(field(item, "quantity", where)),
                "subtotal": parse_money(item.get("subtotal"), where=f"{where} subtotal"),
            })
    return records


def customer_record(customer: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} customer {customer.get('id')}"
    address = customer.get("default_address") or {}
    consent = customer.get("email_marketing_consent") or {}
    state = consent.get("state")
    accepts = customer.get("accepts_marketing")
    return {
        "id": int(field(customer, "id", where)),
        "email": customer.get("email") or None,
        "phone": customer.get("phone") or None,
        "first_name": customer.get("first_name"),
        "last_name": customer.get("last_name"),
        # accepts_marketing is deprecated in newer API versions: fall back to the consent state.
        "accepts_marketing": bool(accepts) if accepts is not None else state == "subscribed",
        "email_marketing_consent_state": state,
        "country_code": address.get("country_code"),
        "province": address.get("province"),
        "city": address.get("city"),
        "created_at": parse_timestamp(field(customer, "created_at", where), where=f"{where} created_at"),
        "updated_at": parse_timestamp(field(customer, "updated_at", where), where=f"{where} updated_at"),
        "tags": customer.get("tags") or "",
    }


def product_records(product: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One record per variant (``raw.shop_products`` is keyed on variant id)."""
    where = f"{ref} product {product.get('id')}"
    product_id = int(field(product, "id", where))
    created_at = parse_timestamp(field(product, "created_at", where), where=f"{where} created_at")
    updated_at = parse_timestamp(field(product, "updated_at", where), where=f"{where} updated_at")
    records = []
    for variant in product.get("variants") or []:
        vwhere = f"{where} variant {variant.get('id')}"
        records.append({
            "product_id": product_id,
            "variant_id": int(field(variant, "id", vwhere)),
            "inventory_item_id": optional_int(variant.get("inventory_item_id")),
            "sku": variant.get("sku") or None,
            "title": product.get("title"),
            "product_type": product.get("product_type") or None,
            "vendor": product.get("vendor") or None,
            "price": parse_money(variant.get("price"), where=f"{vwhere} price"),
            "compare_at_price": optional_money(variant.get("compare_at_price"), f"{vwhere} compare_at_price"),
            "status": product.get("status"),
            "created_at": created_at,
            "updated_at": updated_at,
        })
    return records
