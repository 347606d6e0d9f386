"""Amazon SP-API Finances emulator: ``GET /finances/2024-06-19/transactions`` (listTransactions,
finances_2024-06-19.json), served under the Amazon prefix.

One ``Shipment`` transaction per world Amazon order that has a price (not Pending or Canceled), posted at its last
update, with one item per order item: ``ProductCharges > Principal`` (the item price) and ``AmazonFees >
Commission`` (minus COMMISSION_RATE of it; the rate is the sandbox's, not Amazon's). ``postedAfter`` inclusive,
``postedBefore`` exclusive, paged by an opaque ``nextToken`` that must come back with the same arguments.

Errors as the model's listTransactions responses and the SP-API envelope give them (:class:`AmazonErrors`):
InvalidInput 400 (no postedAfter, "Start date cannot be null"; postedBefore not after postedAfter or within two
minutes of now), Unauthorized 403, QuotaExceeded 429 under the sandbox seller's usage plan, reported in
``x-amzn-RateLimit-Limit`` (Amazon's default plan for the operation is 0.5 requests/second, burst 10).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from narrowcast.sandbox.emulators.amazon import AmazonErrors, amazon_authorized
from narrowcast.sandbox.emulators.world_index import (
    KeyIndex,
    decode_cursor,
    encode_cursor,
    epoch_us,
    iso_z,
    json_array,
    read_world_table,
)
from narrowcast.sandbox.framework import Emulator

PAGE_SIZE = 50
COMMISSION_RATE = Decimal("0.15")
SETTLE_TIME = timedelta(minutes=2)
# The sandbox seller's plan (requests/second, burst): generous so the demo stays quick, enforced all the same.
SANDBOX_PLAN = (20.0, 1000.0)
CENT = Decimal("0.01")
_UNPOSTED = {"Pending", "Canceled"}


def _money(value: Decimal, currency: str) -> dict[str, Any]:
    return {"currencyAmount": float(value.quantize(CENT, rounding=ROUND_HALF_UP)), "currencyCode": currency}


def shipment_transaction(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The Shipment transaction of one world order (its rows of ``amazon_orders``), with the sandbox's fees."""
    head = items[0]
    currency = head["currency"]
    total = Decimal(0)
    served = []
    for row in items:
        price = Decimal(str(row["item_price"]))
        commission = -(price * COMMISSION_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
        total += price + commission
        served.append({
            "description": row["seller_sku"], "totalAmount": _money(price + commission, currency),
            "relatedIdentifiers": [{"itemRelatedIdentifierName": "ORDER_ADJUSTMENT_ITEM_ID",
                                    "itemRelatedIdentifierValue": row["order_item_id"]}],
            "breakdowns": [
                {"breakdownType": "ProductCharges", "breakdownAmount": _money(price, currency),
                 "breakdowns": [{"breakdownType": "Principal", "breakdownAmount": _money(price, currency),
                                 "breakdowns": []}]},
                {"breakdownType": "AmazonFees", "breakdownAmount": _money(commission, currency),
                 "breakdowns": [{"breakdownType": "Commission", "breakdownAmount": _money(commission, currency),
                                 "breakdowns": []}]},
            ],
            "contexts": [{"contextType": "ProductContext", "sku": row["seller_sku"],
                          "quantityShipped": row["quantity_shipped"], "fulfillmentNetwork": "MFN"}],
        })
    return {
        "sellingPartnerMetadata": {"sellingPartnerId": "NARROWCASTDEMO", "accountType": "Standard Orders",
                                   "marketplaceId": head["marketplace_id"]},
        "relatedIdentifiers": [{"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": head["amazon_order_id"]}],
        "transactionType": "Shipment", "transactionId": f"T-{head['amazon_order_id']}",
        "transactionStatus": "RELEASED", "description": "Order Payment",
        "postedDate": iso_z(head["last_update_date"]), "totalAmount": _money(total, currency),
        "marketplaceDetails": {"marketplaceId": head["marketplace_id"]}, "items": served,
    }


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AmazonFinancesEmulator(AmazonErrors, Emulator):
    name = "amazon_finances"
    prefix = "amazon"

    def load(self) -> None:
        self._plan_lock = threading.Lock()
        self._plan_tokens = (SANDBOX_PLAN[1], time.monotonic())
        self.seed_orders(read_world_table(self.world_dir, "amazon_orders"))

    def seed_orders(self, rows: list[dict[str, Any]]) -> None:
        """Serve the transactions of these order items (rows shaped as the world's ``amazon_orders``)."""
        items: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            if row["order_status"] not in _UNPOSTED:
                items[row["amazon_order_id"]].append(row)
        self.index = KeyIndex([
            (epoch_us(order_items[0]["last_update_date"]), order_id,
             json.dumps(shipment_transaction(order_items), separators=(",", ":")))
            for order_id, order_items in items.items()])

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/finances/2024-06-19/transactions", self.list_transactions, methods=["GET"])

    def list_transactions(self, request: Request) -> Response:
        if not amazon_authorized(request):
            return self.unauthorized()
        refused = self._over_plan()
        if refused is not None:
            return refused
        query = request.query_params
        arguments = {k: v for k, v in query.items() if k != "nextToken"}
        try:
            after, before = _instant(query.get("postedAfter")), _instant(query.get("postedBefore"))
        except ValueError:
            return self.amazon_error(400, "InvalidInput", "Invalid date", "postedAfter/postedBefore must be ISO 8601")
        if after is None:
            return self.amazon_error(400, "InvalidInput", "Start date cannot be null", "Start date cannot be null")
        latest = datetime.now(UTC) - SETTLE_TIME
        before = before or latest
        if before <= after or before > latest:
            return self.amazon_error(400, "InvalidInput", "Invalid date range",
                                     "postedBefore must be after postedAfter and two minutes before now")
        offset = 0
        if query.get("nextToken"):
            try:
                state = decode_cursor(query["nextToken"])
                if state.get("arguments") != arguments:
                    raise ValueError
                offset = int(state["offset"])
            except (ValueError, KeyError, TypeError):
                return self.amazon_error(400, "InvalidInput", "Invalid nextToken",
                                         "nextToken must come back with the arguments of the call that produced it")
        lo, hi = self.index.bounds(epoch_us(after.replace(tzinfo=None)), epoch_us(before.replace(tzinfo=None)),
                                   high_inclusive=False)
        start, stop = min(hi, lo + offset), min(hi, lo + offset + PAGE_SIZE)
        payload = f'"transactions":{json_array(self.index.payloads[start:stop])}'
        if stop < hi:
            token = encode_cursor({"arguments": arguments, "offset": offset + PAGE_SIZE})
            payload = f'"nextToken":{json.dumps(token)},{payload}'
        return Response(f'{{"payload":{{{payload}}}}}', media_type="application/json",
                        headers={"x-amzn-RateLimit-Limit": f"{SANDBOX_PLAN[0]:g}"})

    def _over_plan(self) -> Response | None:
        rate, burst = SANDBOX_PLAN
        now = time.monotonic()
        with self._plan_lock:
            tokens, last = self._plan_tokens
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._plan_tokens = (tokens, now)
                return self.rate_limited((1.0 - tokens) / rate)
            self._plan_tokens = (tokens - 1.0, now)
        return None


EMULATOR = AmazonFinancesEmulator
