"""Shopify GraphQL objects → flat raw-table records (columns of ``raw.shop_*`` in docs/data-contracts.md).

The raw tables keep the columns and values the REST Admin API gave them, so the dbt models read them unchanged.
REST → GraphQL, per column (GraphQL Admin reference, https://shopify.dev/docs/api/admin-graphql/latest):

``shop_orders`` (``Order``)
  id ← the number in ``id`` (``gid://shopify/Order/<id>``, the REST id) · order_number ← ``number`` ·
  customer_id ← ``customer.id`` · email ← ``email`` · created_at/updated_at/processed_at/cancelled_at ←
  ``createdAt``/``updatedAt``/``processedAt``/``cancelledAt`` · financial_status ← ``displayFinancialStatus``
  in lower case (``PARTIALLY_REFUNDED`` → ``partially_refunded``) · fulfillment_status ←
  ``displayFulfillmentStatus``: ``UNFULFILLED`` → null (REST's value for it), ``PARTIALLY_FULFILLED`` →
  ``partial``, others lower case · currency ← ``currencyCode`` (the shop currency) · subtotal_price,
  total_discounts, total_tax, total_shipping, total_price ← ``subtotalPriceSet``, ``totalDiscountsSet``,
  ``totalTaxSet``, ``totalShippingPriceSet``, ``totalPriceSet`` ``.shopMoney.amount`` · discount_codes ←
  ``discountCodes`` comma-joined · test ← ``test`` · source_name ← ``sourceName`` · landing_site, referring_site
  ← ``customerJourneySummary.lastVisit.landingPage`` / ``.referrerUrl`` · billing_country_code ←
  ``billingAddress.countryCodeV2`` · new: presentment_currency ← ``presentmentCurrencyCode``,
  total_price_presentment ← ``totalPriceSet.presentmentMoney.amount``.
``shop_order_lines`` (``LineItem``)
  id ← ``id`` · order_id ← the order · product_id, variant_id ← ``product.id``, ``variant.id`` (null once
  deleted) · sku, title, quantity ← ``sku``, ``title``, ``quantity`` · price ←
  ``originalUnitPriceSet.shopMoney.amount`` · total_discount ← ``totalDiscountSet.shopMoney.amount``.
``shop_refunds`` (``Refund`` × ``RefundLineItem``)
  id, created_at ← the refund's ``id``, ``createdAt`` · line_item_id ← ``lineItem.id`` · quantity ←
  ``quantity`` · subtotal ← ``subtotalSet.shopMoney.amount``.
``shop_customers`` (``Customer``)
  email ← ``defaultEmailAddress.emailAddress`` · email_marketing_consent_state ←
  ``defaultEmailAddress.marketingState`` in lower case · accepts_marketing ← that state is ``SUBSCRIBED`` (REST's
  ``accepts_marketing`` is gone) · email_marketing_consent_updated_at ← ``defaultEmailAddress.marketingUpdatedAt``
  (when the customer last subscribed or unsubscribed) · phone ← ``defaultPhoneNumber.phoneNumber`` · first_name, last_name ←
  ``firstName``, ``lastName`` · country_code, province, city ← ``defaultAddress.countryCodeV2``, ``.province``,
  ``.city`` · tags ← ``tags`` joined with ", " as REST wrote them.
``shop_fulfillments`` (``Fulfillment`` × ``FulfillmentLineItem``, new with the GraphQL source)
  fulfillment_id, status, created_at, updated_at ← the fulfillment's ``id``, ``status`` in lower case,
  ``createdAt``, ``updatedAt`` · order_id ← the order · line_item_id, sku ← ``lineItem.id``, ``lineItem.sku``
  · quantity ← ``quantity`` · tracking_company, tracking_number, tracking_url ← the first ``trackingInfo``'s
  ``company``, ``number``, ``url`` (one package per fulfillment, as the admin records it); further numbers
  comma-joined in tracking_numbers · order_source_name, order_source_identifier ← the order's ``sourceName``
  and ``sourceIdentifier`` (an imported marketplace order's own id).
``shop_order_attributes`` (``Order.customAttributes``, the order's note attributes)
  order_id ← the order · name, value ← ``key``, ``value``; read with the fulfillments, for orders that have one.
``shop_products`` (``Product`` × ``ProductVariant``, one row per variant; GraphQL has no 100-variant cap)
  product_id ← product ``id`` · variant_id ← variant ``id`` · inventory_item_id ← ``inventoryItem.id`` · sku,
  price, compare_at_price ← ``sku``, ``price``, ``compareAtPrice`` (shop-currency decimal strings) · title,
  product_type, vendor ← ``title``, ``productType``, ``vendor`` · status ← ``status`` in lower case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from narrowcast.apis.shopify import gid_number
from narrowcast.contracts.money import parse_money
from narrowcast.contracts.timestamps import parse_timestamp

# OrderDisplayFulfillmentStatus values whose REST fulfillment_status differs from the lower-cased enum.
_REST_FULFILLMENT = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial"}


def field(obj: dict[str, Any], key: str, where: str) -> Any:
    """A field the record cannot do without; the error names the object and the field."""
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: field {key!r} is missing") from None


def gid(obj: dict[str, Any], key: str, where: str) -> int:
    """The REST id inside a required GID field."""
    number = gid_number(field(obj, key, where))
    if number is None:
        raise ValueError(f"{where}: field {key!r} is not a Shopify GID: {obj[key]!r}")
    return number


def linked_id(obj: dict[str, Any] | None, key: str) -> int | None:
    """The REST id of a linked object (``customer { id }``), or None when there is none."""
    linked = (obj or {}).get(key)
    return gid_number(linked.get("id")) if isinstance(linked, dict) else None


def shop_amount(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> Decimal | None:
    """``<key>.shopMoney.amount`` of a ``MoneyBag`` as a Decimal."""
    bag = obj.get(key)
    amount = ((bag or {}).get("shopMoney") or {}).get("amount") if isinstance(bag, dict) else None
    if amount is None and not required:
        return None
    return parse_money(amount, where=f"{where} {key}")


def optional_money(value: Any, where: str) -> Decimal | None:
    return None if value is None or value == "" else parse_money(value, where=where)


def lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def nodes(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The nodes of a connection field (``edges { node }``), as a paged query or :func:`reassemble` gives it."""
    connection = obj.get(key) or {}
    return [e["node"] for e in connection.get("edges") or [] if isinstance(e, dict) and isinstance(e.get("node"), dict)]


def order_record(order: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} order {order.get('id')}"
    fulfillment = order.get("displayFulfillmentStatus")
    visit = (order.get("customerJourneySummary") or {}).get("lastVisit") or {}
    presentment = ((order.get("totalPriceSet") or {}).get("presentmentMoney") or {}).get("amount")
    return {
        "id": gid(order, "id", where),
        "order_number": int(field(order, "number", where)),
        "customer_id": linked_id(order, "customer"),
        "email": order.get("email") or None,
        "created_at": parse_timestamp(field(order, "createdAt", where), where=f"{where} createdAt"),
        "updated_at": parse_timestamp(field(order, "updatedAt", where), where=f"{where} updatedAt"),
        "processed_at": parse_timestamp(order.get("processedAt"), where=f"{where} processedAt"),
        "cancelled_at": parse_timestamp(order.get("cancelledAt"), where=f"{where} cancelledAt"),
        "financial_status": lower(order.get("displayFinancialStatus")),
        "fulfillment_status": _REST_FULFILLMENT.get(fulfillment, lower(fulfillment)),
        "currency": field(order, "currencyCode", where),
        "subtotal_price": shop_amount(order, "subtotalPriceSet", where),
        "total_discounts": shop_amount(order, "totalDiscountsSet", where),
        "total_tax": shop_amount(order, "totalTaxSet", where),
        "total_shipping": shop_amount(order, "totalShippingPriceSet", where),
        "total_price": shop_amount(order, "totalPriceSet", where),
        "discount_codes": ",".join(c for c in order.get("discountCodes") or [] if c) or None,
        "test": bool(order.get("test")),
        "source_name": order.get("sourceName"),
        "landing_site": visit.get("landingPage"),
        "referring_site": visit.get("referrerUrl"),
        "billing_country_code": (order.get("billingAddress") or {}).get("countryCodeV2"),
        "presentment_currency": order.get("presentmentCurrencyCode"),
        "total_price_presentment": optional_money(presentment, f"{where} totalPriceSet.presentmentMoney"),
    }


def line_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    order_id = gid(order, "id", f"{ref} order")
    records = []
    for line in nodes(order, "lineItems"):
        where = f"{ref} order {order_id} line {line.get('id')}"
        records.append({
            "id": gid(line, "id", where),
            "order_id": order_id,
            "product_id": linked_id(line, "product"),
            "variant_id": linked_id(line, "variant"),
            "sku": line.get("sku") or None,
            "title": line.get("title"),
            "quantity": int(field(line, "quantity", where)),
            "price": shop_amount(line, "originalUnitPriceSet", where),
            "total_discount": shop_amount(line, "totalDiscountSet", where),
        })
    return records


def refund_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One record per refunded line (``raw.shop_refunds`` is keyed on refund id + line item id)."""
    order_id = gid(order, "id", f"{ref} order")
    records = []
    for refund in order.get("refunds") or []:
        where = f"{ref} order {order_id} refund {refund.get('id')}"
        refund_id = gid(refund, "id", where)
        created_at = parse_timestamp(field(refund, "createdAt", where), where=f"{where} createdAt")
        for item in nodes(refund, "refundLineItems"):
            records.append({
                "id": refund_id,
                "order_id": order_id,
                "created_at": created_at,
                "line_item_id": gid(field(item, "lineItem", where), "id", where),
                "quantity": int(field(item, "quantity", where)),
                "subtotal": shop_amount(item, "subtotalSet", where),
            })
    return records


def fulfillment_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One record per shipped line of each fulfillment (``raw.shop_fulfillments`` is keyed on fulfillment id +
    line item id)."""
    order_id = gid(order, "id", f"{ref} order")
    records = []
    for fulfillment in order.get("fulfillments") or []:
        where = f"{ref} order {order_id} fulfillment {fulfillment.get('id')}"
        numbers = [t for t in fulfillment.get("trackingInfo") or [] if isinstance(t, dict) and t.get("number")]
        first = numbers[0] if numbers else {}
        head = {
            "fulfillment_id": gid(fulfillment, "id", where),
            "order_id": order_id,
            "status": lower(fulfillment.get("status")),
            "created_at": parse_timestamp(field(fulfillment, "createdAt", where), where=f"{where} createdAt"),
            "updated_at": parse_timestamp(field(fulfillment, "updatedAt", where), where=f"{where} updatedAt"),
            "tracking_company": first.get("company") or None,
            "tracking_number": first.get("number") or None,
            "tracking_url": first.get("url") or None,
            "tracking_numbers": ",".join(str(t["number"]) for t in numbers) or None,
            "order_source_name": order.get("sourceName") or None,
            "order_source_identifier": order.get("sourceIdentifier") or None,
        }
        for item in nodes(fulfillment, "fulfillmentLineItems"):
            line = field(item, "lineItem", where)
            records.append({**head, "line_item_id": gid(line, "id", where), "sku": line.get("sku") or None,
                            "quantity": int(field(item, "quantity", where))})
    return records


def order_attribute_records(order: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """The note attributes of an order with a fulfillment: where marketplace importers write the marketplace's
    order id. The last of a repeated key wins, as it does on the order page."""
    if not order.get("fulfillments"):
        return []
    order_id = gid(order, "id", f"{ref} order")
    attributes = {str(a["key"]): a.get("value") for a in order.get("customAttributes") or []
                  if isinstance(a, dict) and a.get("key")}
    customer_id = linked_id(order, "customer")
    return [{"order_id": order_id, "customer_id": customer_id, "name": name, "value": value}
            for name, value in attributes.items()]


def customer_record(customer: dict[str, Any], ref: str) -> dict[str, Any]:
    where = f"{ref} customer {customer.get('id')}"
    address = customer.get("defaultAddress") or {}
    email = customer.get("defaultEmailAddress") or {}
    state = lower(email.get("marketingState"))
    tags = customer.get("tags") or []
    return {
        "id": gid(customer, "id", where),
        "email": email.get("emailAddress") or None,
        "phone": (customer.get("defaultPhoneNumber") or {}).get("phoneNumber") or None,
        "first_name": customer.get("firstName"),
        "last_name": customer.get("lastName"),
        "accepts_marketing": state == "subscribed",
        "email_marketing_consent_state": state,
        "email_marketing_consent_updated_at": parse_timestamp(email.get("marketingUpdatedAt"),
                                                              where=f"{where} marketingUpdatedAt"),
        "country_code": address.get("countryCodeV2"),
        "province": address.get("province"),
        "city": address.get("city"),
        "created_at": parse_timestamp(field(customer, "createdAt", where), where=f"{where} createdAt"),
        "updated_at": parse_timestamp(field(customer, "updatedAt", where), where=f"{where} updatedAt"),
        "tags": ", ".join(tags) if isinstance(tags, list) else str(tags),
    }


def product_records(product: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """One record per variant (``raw.shop_products`` is keyed on variant id)."""
    where = f"{ref} product {product.get('id')}"
    product_id = gid(product, "id", where)
    created_at = parse_timestamp(field(product, "createdAt", where), where=f"{where} createdAt")
    updated_at = parse_timestamp(field(product, "updatedAt", where), where=f"{where} updatedAt")
    records = []
    for variant in nodes(product, "variants"):
        vwhere = f"{where} variant {variant.get('id')}"
        records.append({
            "product_id": product_id,
            "variant_id": gid(variant, "id", vwhere),
            "inventory_item_id": linked_id(variant, "inventoryItem"),
            "sku": variant.get("sku") or None,
            "title": product.get("title"),
            "product_type": product.get("productType") or None,
            "vendor": product.get("vendor") or None,
            "price": parse_money(variant.get("price"), where=f"{vwhere} price"),
            "compare_at_price": optional_money(variant.get("compareAtPrice"), f"{vwhere} compareAtPrice"),
            "status": lower(product.get("status")),
            "created_at": created_at,
            "updated_at": updated_at,
        })
    return records
