"""eBay Sell Finances emulator: ``GET /sell/finances/v1/transaction`` (getTransactions), served under the eBay
prefix (the real API sits on the apiz host; the source's client derives that host from the connection's).

One SALE transaction per world eBay order, dated at its creation, with demo marketplace fees per line: a final
value fee of FINAL_VALUE_FEE_RATE of the line and a fixed per-order fee on the first line (fee type names from
eBay's FeeTypeEnum; the rates are the sandbox's, not eBay's). Filter ``transactionDate:[a..b]`` (both ends
included), ``limit``/``offset`` paging with ``next`` hrefs and ``total``, 204 No Content when nothing matches.

Errors as sell_finances_v1_oas3 lists them for getTransactions: 135003 invalid pagination, 135008 invalid
transaction date filter, 135000 internal error; eBay's common 1001 (invalid access token) and 2001 (too many
requests) through :class:`EbayErrors`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from narrowcast.sandbox.emulators.ebay import EbayErrors, ebay_authorized
from narrowcast.sandbox.emulators.world_index import KeyIndex, epoch_us, iso_z, json_array, read_world_table
from narrowcast.sandbox.framework import Emulator

DEFAULT_LIMIT = 20  # getTransactions: "Default: 20"
MAX_LIMIT = 1000  # getTransactions: "Maximum: 1000"
FINAL_VALUE_FEE_RATE = Decimal("0.11")
FIXED_PER_ORDER_FEE = Decimal("0.35")
_FILTER = re.compile(r"^transactionDate:\[(?P<a>[^\]]*?)\.\.(?P<b>[^\]]*)\]$")
CENT = Decimal("0.01")


def _amount(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}", "currency": currency}


def sale_transaction(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The SALE transaction of one world order (its rows of ``ebay_orders``), with the sandbox's fees."""
    head = lines[0]
    currency = head["currency"]
    fee_lines, total_fees, total = [], Decimal(0), Decimal(0)
    for number, line in enumerate(lines):
        cost = Decimal(str(line["line_item_cost"]))
        fees = [("FINAL_VALUE_FEE", (cost * FINAL_VALUE_FEE_RATE).quantize(CENT, rounding=ROUND_HALF_UP))]
        if number == 0:
            fees.append(("FINAL_VALUE_FEE_FIXED_PER_ORDER", FIXED_PER_ORDER_FEE))
        total += cost
        total_fees += sum((amount for _, amount in fees), start=Decimal(0))
        fee_lines.append({"lineItemId": line["line_item_id"], "feeBasisAmount": _amount(cost, currency),
                          "marketplaceFees": [{"feeType": kind, "amount": _amount(amount, currency)}
                                              for kind, amount in fees]})
    return {
        "transactionId": f"T-{head['order_id']}", "orderId": head["order_id"], "transactionType": "SALE",
        "transactionStatus": "PAYOUT", "bookingEntry": "CREDIT",
        "transactionDate": iso_z(head["creation_date"], millis=True),
        "amount": _amount(total - total_fees, currency), "totalFeeAmount": _amount(total_fees, currency),
        "totalFeeBasisAmount": _amount(total, currency), "orderLineItems": fee_lines,
    }


def _micros(text: str) -> int | None:
    return epoch_us(datetime.fromisoformat(text)) if text else None


class EbayFinancesEmulator(EbayErrors, Emulator):
    name = "ebay_finances"
    prefix = "ebay"

    def load(self) -> None:
        self.seed_orders(read_world_table(self.world_dir, "ebay_orders"))

    def seed_orders(self, rows: list[dict[str, Any]]) -> None:
        """Serve the transactions of these order lines (rows shaped as the world's ``ebay_orders``)."""
        lines: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            lines[row["order_id"]].append(row)
        self.index = KeyIndex([
            (epoch_us(order_lines[0]["creation_date"]), order_id,
             json.dumps(sale_transaction(order_lines), separators=(",", ":")))
            for order_id, order_lines in lines.items()])

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/sell/finances/v1/transaction", self.get_transactions, methods=["GET"])

    def get_transactions(self, request: Request) -> Response:
        if not ebay_authorized(request):
            return self.unauthorized()
        query = request.query_params
        low = high = None
        if query.get("filter"):
            match = _FILTER.match(query["filter"].strip())
            try:
                if not match:
                    raise ValueError
                low, high = _micros(match["a"]), _micros(match["b"])
            except ValueError:
                return self.ebay_error(400, 135008, "API_FINANCES", "REQUEST",
                                       "The value of transaction date filter is invalid.")
        try:
            limit, offset = int(query.get("limit", DEFAULT_LIMIT)), int(query.get("offset", 0))
            if not 1 <= limit <= MAX_LIMIT or offset < 0:
                raise ValueError
        except ValueError:
            return self.ebay_error(400, 135003, "API_FINANCES", "REQUEST", "The value of pagination is invalid.")
        lo, hi = self.index.bounds(low, high)
        total = hi - lo
        if total == 0:
            return Response(status_code=204)
        start, stop = min(hi, lo + offset), min(hi, lo + offset + limit)

        def href(new_offset: int) -> str:
            return str(request.url.replace(query=urlencode({**query, "limit": limit, "offset": new_offset})))

        page: dict[str, Any] = {"href": href(offset), "total": total, "limit": limit, "offset": offset}
        if offset + limit < total:
            page["next"] = href(offset + limit)
        head = json.dumps(page, separators=(",", ":"))[:-1]
        body = f'{head},"transactions":{json_array(self.index.payloads[start:stop])}}}'
        return Response(body, media_type="application/json")

    def server_error(self) -> Response:
        return self.ebay_error(500, 135000, "API_FINANCES", "APPLICATION",
                               "There was a problem with an eBay internal system or process. Contact eBay developer "
                               "support for assistance.")


EMULATOR = EbayFinancesEmulator
