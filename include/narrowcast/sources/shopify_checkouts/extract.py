"""Abandoned-checkout extraction for one window: the poll and the landed webhooks, merged into one row each.

Both ways may bring the same checkout (or order): the version with the later ``updated_at`` is kept, the poll's
on a tie (it carries the customer's consent and the line images). Rows outside ``[window.start, window.end)``
are dropped, as in the shop source, so windows partition the timeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrowcast.contracts.extraction import ExtractContext
from narrowcast.contracts.pages import Page
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.windows import Window
from narrowcast.sources.shopify.client import ShopifyClient, window_search
from narrowcast.sources.shopify_checkouts import queries
from narrowcast.sources.shopify_checkouts.records import (
    checkout_line_records,
    checkout_record,
    order_record,
    webhook_checkout_line_records,
    webhook_checkout_record,
)
from narrowcast.sources.shopify_checkouts.tables import SHOP_ABANDONED_CHECKOUTS, SHOP_CHECKOUT_ORDERS
from narrowcast.sources.shopify_checkouts.webhooks import CHECKOUT_TOPICS, ORDER_TOPICS, deliveries

log = redacting_logger(__name__)

Checkout = tuple[dict[str, Any], list[dict[str, Any]]]


def polled_checkouts(client: ShopifyClient, window: Window) -> Iterator[Checkout]:
    """Every abandoned checkout updated in the window, with all its lines."""
    variables = {"first": queries.CHECKOUTS_PAGE, "query": window_search(window), "lines": queries.CHECKOUT_LINES_PAGE}
    for number, page in enumerate(client.connection_pages(queries.ABANDONED_CHECKOUTS, variables,
                                                          "abandonedCheckouts"), start=1):
        ref = f"POST graphql.json abandonedCheckouts page {number}"
        for checkout in page:
            lines = checkout.get("lineItems") or {}
            if (lines.get("pageInfo") or {}).get("hasNextPage"):
                checkout = {**checkout, "lineItems": _all_lines(client, checkout["id"], lines)}
            yield checkout_record(checkout, ref), checkout_line_records(checkout, ref)


def _all_lines(client: ShopifyClient, checkout_id: str, first_page: dict[str, Any]) -> dict[str, Any]:
    edges = list(first_page.get("edges") or [])
    after = (first_page.get("pageInfo") or {}).get("endCursor")
    number = checkout_id.rsplit("/", 1)[-1]
    while after:
        data = client.graphql(queries.CHECKOUT_LINES, {"first": queries.CHECKOUT_LINES_PAGE, "after": after,
                                                       "query": f"id:{number}"})
        found = [e["node"]["lineItems"] for e in (data.get("abandonedCheckouts") or {}).get("edges") or []]
        if not found:
            break
        edges += found[0].get("edges") or []
        info = found[0].get("pageInfo") or {}
        after = info.get("endCursor") if info.get("hasNextPage") else None
    return {"edges": edges}


def webhook_checkouts(context: ExtractContext) -> Iterator[Checkout]:
    for payload, ref in deliveries(context.input_dir, CHECKOUT_TOPICS, context.window):
        yield webhook_checkout_record(payload, ref), webhook_checkout_line_records(payload, ref)


def recent_orders(client: ShopifyClient, context: ExtractContext) -> Iterator[dict[str, Any]]:
    for payload, ref in deliveries(context.input_dir, ORDER_TOPICS, context.window):
        yield order_record(payload, ref, seen_via="webhook")
    variables = {"first": queries.ORDERS_PAGE, "query": window_search(context.window)}
    for number, page in enumerate(client.connection_pages(queries.RECENT_ORDERS, variables, "orders"), start=1):
        for order in page:
            yield order_record(order, f"POST graphql.json orders page {number}", seen_via="poll")


def _keep_newest(found: dict[int, dict[str, Any]], record: dict[str, Any], keep: tuple[str, ...], *,
                 wins_tie: bool) -> bool:
    """Keep the newer of ``record`` and the one already found for its id, filling the winner's empty ``keep``
    columns from the other (what only one way tells: the webhook's token, the poll's consent). True when
    ``record`` won."""
    current = found.get(record["id"])
    won = current is None or record["updated_at"] > current["updated_at"] or (
        wins_tie and record["updated_at"] == current["updated_at"])
    winner, loser = (record, current) if won else (current, record)
    found[record["id"]] = {**winner, **{c: loser[c] for c in keep
                                        if loser is not None and winner.get(c) is None and loser.get(c) is not None}}
    return won


def extract(context: ExtractContext, *, client: ShopifyClient | None = None) -> Iterator[Page]:
    """The checkouts, their lines and the orders of ``context.window``, one page per table."""
    if context.connection is None:
        raise ValueError("shopify_checkouts needs the narrowcast_shopify connection")
    client = client or ShopifyClient.from_connection(context.connection)
    window = context.window
    checkouts: dict[int, dict[str, Any]] = {}
    lines: dict[int, list[dict[str, Any]]] = {}
    for via_poll, found in ((False, webhook_checkouts(context)), (True, polled_checkouts(client, window))):
        for record, its_lines in found:
            if _keep_newest(checkouts, record, SHOP_ABANDONED_CHECKOUTS.keep_stored, wins_tie=via_poll):
                lines[record["id"]] = its_lines
    orders: dict[int, dict[str, Any]] = {}
    for order in recent_orders(client, context):
        _keep_newest(orders, order, SHOP_CHECKOUT_ORDERS.keep_stored, wins_tie=order["seen_via"] == "poll")
    kept = [(record, lines[record["id"]]) for record in checkouts.values() if window.contains(record["updated_at"])]
    ref = f"shopify_checkouts {window.start.isoformat()}..{window.end.isoformat()}"
    log.info("shopify_checkouts: %d checkouts (%d by webhook), %d orders in the window", len(kept),
             sum(r["seen_via"] == "webhook" for r, _ in kept), len(orders))
    yield Page("shop_abandoned_checkouts", [record for record, _ in kept], ref)
    yield Page("shop_abandoned_checkout_lines", [line for _, its_lines in kept for line in its_lines], ref)
    yield Page("shop_checkout_orders", [o for o in orders.values() if window.contains(o["updated_at"])], ref)
