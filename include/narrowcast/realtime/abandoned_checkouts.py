"""Abandoned checkouts → one Klaviyo event each, with the cart, the recovery URL and a unique discount code.

One run (every few minutes, :func:`run`): load the checkouts and orders changed since the last run
(``shopify_checkouts`` source: poll + landed webhooks), decide which checkouts qualify, give each a unique code
in the shop, then send one event per checkout, packed into Klaviyo's bulk-create requests (up to 1,000
events or 5 MB each, so a run's events cost one call per thousand). A checkout qualifies when

- it has been quiet for ``quiet_period`` since its last update (default 60 minutes) and is at most ``max_age`` old;
- it is not recovered: not completed, and no order since it was created by its customer, its e-mail, its
  checkout id or token (``orders/create`` webhooks, polled orders, and ``raw.shop_orders`` when loaded);
- it has an e-mail (else skipped as ``no_email``) and e-mail consent (the checkout's buyer consent, else the
  customer's in ``raw.shop_customers``; else ``no_consent``);
- the customer is not in the holdout (:mod:`.holdout`, the rule of ``audience_members.is_holdout``; ``holdout``);
- it was not sent before (``activation.realtime_checkouts``).

Exactly once: a checkout's code is chosen and stored before the shop is asked to create it, so a crash is
followed by the same code (a code the shop already has for this campaign's discount counts as created); the
event carries ``unique_id`` = campaign:checkout id, and Klaviyo records only the first event with a given
unique_id for a profile and metric ("Create Event", unique_id), so a re-send after a crash between the send
and the state commit is not a second event. While Klaviyo is unavailable the events wait with their code and go
on a later run. A code the shop fails to create holds its event back; the checkout is tried again next run.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from narrowcast import settings
from narrowcast.apis import klaviyo
from narrowcast.apis.shopify import (
    CODE_TAKEN,
    ShopifyApi,
    add_redeem_codes,
    create_code_discount,
    discount_of_code,
)
from narrowcast.contracts.connections import Connection
from narrowcast.contracts.redaction import redacting_logger
from narrowcast.contracts.timestamps import utc_naive
from narrowcast.contracts.windows import Window
from narrowcast.extract import run_catching_up, stored_watermark
from narrowcast.http import FatalApiError, RetriableApiError
from narrowcast.realtime.holdout import Holdout, project_holdout
from narrowcast.realtime.offers import Offer, campaign_offer
from narrowcast.warehouse import UndefinedObject, Warehouse, connect

log = redacting_logger(__name__)

SOURCE = "shopify_checkouts"
DDL = (
    # Shared with the discount_redemptions mart and the profile API: every unique code issued, one row each.
    """create table if not exists activation.discount_codes (
        code varchar primary key, campaign varchar not null, customer_key varchar, checkout_id varchar,
        shopify_discount_id varchar, value_type varchar, value decimal(18, 2), currency varchar, usage_limit integer,
        starts_at timestamp, expires_at timestamp, created_at timestamp not null)""",
    # The shop discount each campaign's codes of one issue day belong to (its end date is the codes' expiry).
    """create table if not exists activation.realtime_discounts (
        campaign varchar not null, issue_date date not null, shopify_discount_id varchar not null,
        starts_at timestamp not null, expires_at timestamp not null, created_at timestamp not null,
        primary key (campaign, issue_date))""",
    # Per campaign and checkout: the code chosen for it and how far it got (code_pending → code_ready → sent).
    """create table if not exists activation.realtime_checkouts (
        campaign varchar not null, checkout_id varchar not null, customer_key varchar, code varchar not null,
        status varchar not null, unique_id varchar not null, attempts integer not null, last_error varchar,
        updated_at timestamp not null, sent_at timestamp, primary key (campaign, checkout_id))""",
)
CANDIDATE_COLUMNS = ("id", "email", "customer_id", "recovery_url", "currency", "presentment_currency",
                     "total_price_presentment", "created_at", "updated_at", "completed_at", "consent", "recovered")
STATE_COLUMNS = ("campaign", "checkout_id", "customer_key", "code", "status", "unique_id", "attempts", "last_error",
                 "updated_at", "sent_at")
LINE_COLUMNS = ("sku", "title", "variant_title", "quantity", "price_presentment", "line_total_presentment", "image_url")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand


@dataclass(frozen=True)
class Config:
    """What the merchant tunes; environment ``NARROWCAST_ABANDONED_CHECKOUT_*`` overrides the defaults."""

    campaign: str = "abandoned_cart"
    quiet_period: timedelta = timedelta(minutes=60)
    max_age: timedelta = timedelta(days=2)
    metric: str = "Checkout Abandoned"
    code_prefix: str = "CART"
    recommendations: int = 3

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        try:
            return cls(
                campaign=env.get("NARROWCAST_ABANDONED_CHECKOUT_CAMPAIGN", cls.campaign),
                quiet_period=timedelta(minutes=float(env.get("NARROWCAST_ABANDONED_CHECKOUT_QUIET_MINUTES", 60))),
                max_age=timedelta(hours=float(env.get("NARROWCAST_ABANDONED_CHECKOUT_MAX_AGE_HOURS", 48))),
                metric=env.get("NARROWCAST_ABANDONED_CHECKOUT_METRIC", cls.metric),
                code_prefix=env.get("NARROWCAST_ABANDONED_CHECKOUT_CODE_PREFIX", cls.code_prefix),
            )
        except ValueError as exc:
            raise settings.ConfigError(f"NARROWCAST_ABANDONED_CHECKOUT_*: {exc}") from None


@dataclass
class Report:
    checkouts_loaded: int = 0
    evaluated: int = 0
    waiting: int = 0  # still inside the quiet period
    skipped: Counter = field(default_factory=Counter)  # reason -> checkouts
    qualified: int = 0
    codes_created: int = 0
    codes_failed: int = 0
    sent: int = 0
    waiting_for_klaviyo: int = 0
    rejected_by_klaviyo: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds from qualifying (quiet period over) to sent

    def as_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in self.__dict__.items() if k != "latencies"}


def ensure_tables(wh: Warehouse) -> None:
    wh.ensure_schema("activation")
    for statement in DDL:
        wh.execute(statement)


def _records(wh: Warehouse, sql: str, params: list[Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows as dicts of their typed values (timestamps stay datetimes, amounts Decimals)."""
    return [dict(zip(names, row, strict=True)) for row in wh.fetchall(sql, params)]


def customer_key(customer_id: Any, email: str | None) -> str | None:
    """The customer's key as the warehouse writes it (the Shopify customer id as text); a guest's normalised
    e-mail."""
    if customer_id is not None:
        return str(customer_id)
    return email.strip().lower() if email else None


# ---- qualification ---------------------------------------------------------------------------------------
def _candidates_sql(wh: Warehouse) -> str:
    """Checkouts of the horizon not sent yet, with their consent and whether an order recovered them."""
    orders = ["select checkout_id, checkout_token, customer_id, email, created_at from raw.shop_checkout_orders"]
    if wh.table_exists("raw", "shop_orders"):
        orders.append("select null, null, customer_id, email, created_at from raw.shop_orders")
    consent = "c.accepts_marketing"
    customers = ""
    if wh.table_exists("raw", "shop_customers"):
        consent = "coalesce(c.accepts_marketing, sc.accepts_marketing)"
        customers = "left join raw.shop_customers sc on sc.id = c.customer_id"
    return f"""
        with orders as ({' union all '.join(orders)})
        select {", ".join(f"c.{name}" for name in CANDIDATE_COLUMNS[:-2])},
               {consent} as consent,
               exists (select 1 from orders o where o.created_at >= c.created_at and (
                   o.checkout_id = c.id or o.checkout_token = c.token or o.customer_id = c.customer_id
                   or lower(o.email) = lower(c.email))) as recovered
        from raw.shop_abandoned_checkouts c
        {customers}
        where c.updated_at >= ?
          and not exists (select 1 from activation.realtime_checkouts s
                          where s.campaign = ? and s.checkout_id = cast(c.id as varchar) and s.status = 'sent')
        order by c.updated_at, c.id"""


def decide(row: dict[str, Any], now: datetime, config: Config, holdout: Holdout) -> str:
    """'qualified', 'waiting' (quiet period not over) or the reason the checkout is skipped."""
    if row["completed_at"] is not None or row["recovered"]:
        return "recovered"
    if row["updated_at"] > now - config.quiet_period:
        return "waiting"
    if not row["email"]:
        return "no_email"
    if row["consent"] is not True:
        return "no_consent"
    if holdout.holds_out(customer_key(row["customer_id"], row["email"]) or ""):
        return "holdout"
    return "qualified"


def qualifying(wh: Warehouse, now: datetime, config: Config, holdout: Holdout, report: Report
               ) -> list[dict[str, Any]]:
    found = []
    for row in _records(wh, _candidates_sql(wh), [now - config.max_age, config.campaign], CANDIDATE_COLUMNS):
        report.evaluated += 1
        verdict = decide(row, now, config, holdout)
        if verdict == "qualified":
            found.append(row)
        elif verdict == "waiting":
            report.waiting += 1
        else:
            report.skipped[verdict] += 1
    report.qualified = len(found)
    return found


# ---- codes -----------------------------------------------------------------------------------------------
def new_code(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def _claim_codes(wh: Warehouse, rows: list[dict[str, Any]], config: Config, now: datetime) -> dict[str, dict[str, Any]]:
    """The state row of each qualifying checkout; a checkout met for the first time gets its code now, stored
    before the shop hears of it."""
    with wh.transaction():
        for row in rows:
            wh.execute(
                """insert into activation.realtime_checkouts
                   select ?, ?, ?, ?, 'code_pending', ?, 0, null, ?, null
                   where not exists (select 1 from activation.realtime_checkouts where campaign = ? and checkout_id = ?)""",
                [config.campaign, str(row["id"]), customer_key(row["customer_id"], row["email"]),
                 new_code(config.code_prefix), f"{config.campaign}:{row['id']}", now, config.campaign, str(row["id"])])
    state = _records(wh, f"select {', '.join(STATE_COLUMNS)} from activation.realtime_checkouts "
                     "where campaign = ? and status <> 'sent'", [config.campaign], STATE_COLUMNS)
    return {s["checkout_id"]: s for s in state}


def _discount_for(wh: Warehouse, shop: ShopifyApi, offer: Offer, first_code: str, currency: str | None,
                  now: datetime) -> tuple[str, datetime, datetime, bool]:
    """The campaign's discount of today (created with ``first_code`` when there is none yet): (id, starts,
    expires, whether ``first_code`` went into it)."""
    today = now.date()
    found = wh.fetchone("select shopify_discount_id, starts_at, expires_at from activation.realtime_discounts "
                        "where campaign = ? and issue_date = ?", [offer.campaign, today])
    if found:
        return str(found[0]), found[1], found[2], False
    starts = datetime.combine(today, datetime.min.time())
    expires = starts + timedelta(days=1 + offer.valid_days)
    discount_id = _create_discount(shop, offer, first_code, currency, today, starts, expires)
    with wh.transaction():
        wh.execute("insert into activation.realtime_discounts values (?, ?, ?, ?, ?, ?)",
                   [offer.campaign, today, discount_id, starts, expires, now])
    return discount_id, starts, expires, True


def _create_discount(shop: ShopifyApi, offer: Offer, first_code: str, currency: str | None, day: date,
                     starts: datetime, expires: datetime) -> str:
    value: dict[str, Any] = ({"percentage": float(offer.value / 100)} if offer.value_type == "percentage"
                             else {"discountAmount": {"amount": str(offer.value), "appliesOnEachItem": False}})
    discount = {"title": f"{offer.campaign} {day.isoformat()}", "code": first_code,
                "startsAt": starts.isoformat() + "Z", "endsAt": expires.isoformat() + "Z",
                "usageLimit": offer.usage_limit, "appliesOncePerCustomer": True, "context": {"all": "ALL"},
                "customerGets": {"value": value, "items": {"all": True}}}
    try:
        return create_code_discount(shop, discount)
    except FatalApiError as exc:
        # Created before a crash but not recorded: the first code is already the shop's, in that discount.
        taken = [e for e in (exc.body or {}).get("userErrors") or [] if e.get("code") == CODE_TAKEN]
        existing = discount_of_code(shop, first_code) if taken else None
        if existing is None:
            raise
        return existing


def issue_codes(wh: Warehouse, shop: ShopifyApi, offer: Offer, rows: list[dict[str, Any]],
                state: dict[str, dict[str, Any]], now: datetime, report: Report) -> None:
    """Create in the shop the codes of the qualifying checkouts still waiting for one."""
    pending = [(row, state[str(row["id"])]) for row in rows if state[str(row["id"])]["status"] == "code_pending"]
    if not pending:
        return
    codes = [s["code"] for _, s in pending]
    try:
        discount_id, starts, expires, first_done = _discount_for(wh, shop, offer, codes[0], pending[0][0]["currency"],
                                                                 now)
        outcome = {codes[0]: None} if first_done else {}
        outcome.update(add_redeem_codes(shop, discount_id, [c for c in codes if c not in outcome]))
    except (RetriableApiError, FatalApiError, requests.RequestException) as exc:
        # The shop is not creating codes now: these checkouts wait; those with a code still get their event.
        report.codes_failed += len(pending)
        log.warning("%s: the shop did not create %d discount code(s) (%s); their events are held back and the "
                    "checkouts are tried again next run", offer.campaign, len(pending), exc)
        return
    with wh.transaction():
        for row, s in pending:
            failure = outcome.get(s["code"], "no answer for the code")
            if failure is not None:
                report.codes_failed += 1
                wh.execute("update activation.realtime_checkouts set attempts = attempts + 1, last_error = ?, "
                           "updated_at = ? where campaign = ? and checkout_id = ?",
                           [f"code not created: {failure}", now, offer.campaign, s["checkout_id"]])
                log.warning("%s: the discount code for checkout %s was not created (%s); its event is held back "
                            "and the checkout is tried again next run", offer.campaign, s["checkout_id"], failure)
                continue
            report.codes_created += 1
            wh.execute("delete from activation.discount_codes where code = ?", [s["code"]])
            wh.execute("insert into activation.discount_codes values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [s["code"], offer.campaign, s["customer_key"], s["checkout_id"], discount_id, offer.value_type,
                        offer.value, row["currency"] if offer.value_type == "fixed_amount" else None,
                        offer.usage_limit, starts, expires, now])
            wh.execute("update activation.realtime_checkouts set status = 'code_ready', last_error = null, "
                       "updated_at = ? where campaign = ? and checkout_id = ?", [now, offer.campaign, s["checkout_id"]])
            s["status"] = "code_ready"


# ---- the event -------------------------------------------------------------------------------------------
def _lines(wh: Warehouse, checkout_ids: list[Any]) -> dict[Any, list[dict[str, Any]]]:
    """The lines of each checkout, in checkout order."""
    found: dict[Any, list[dict[str, Any]]] = {c: [] for c in checkout_ids}
    for group in _groups(checkout_ids, 500):
        marks = ", ".join("?" for _ in group)
        for line in _records(wh, f"select checkout_id, {', '.join(LINE_COLUMNS)} from raw.shop_abandoned_checkout_lines "
                             f"where checkout_id in ({marks}) order by checkout_id, position", group,
                             ("checkout_id", *LINE_COLUMNS)):
            found[line.pop("checkout_id")].append(line)
    return found


def _recommendations(wh: Warehouse, keys: list[str], limit: int) -> dict[str, list[str]]:
    """Each customer's top ``limit`` recommended SKUs from the ``customer_recommendations`` mart, if built."""
    found: dict[str, list[str]] = {k: [] for k in keys}
    if limit <= 0:
        return found
    for group in _groups(keys, 500):
        marks = ", ".join("?" for _ in group)
        try:
            rows = wh.fetchall(f"select cast(customer_id as varchar), sku from customer_recommendations "
                               f"where cast(customer_id as varchar) in ({marks}) and rank <= ? order by rank",
                               [*group, limit])
        except UndefinedObject:  # the daily build has not made the mart yet: no recommendations
            return found
        for key, sku in rows:
            if sku is not None:
                found[key].append(str(sku))
    return found


def _groups(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _amount(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def event_body(row: dict[str, Any], state: dict[str, Any], lines: list[dict[str, Any]], recommendations: list[str],
               offer: Offer, expires: datetime | None, metric: str) -> dict[str, Any]:
    """One checkout's event in Klaviyo's Create Event shape (sent through bulk create, see :func:`bulk_entry`)."""
    items = [{"ProductName": line["title"], "SKU": line["sku"], "ImageURL": line["image_url"],
              "Quantity": line["quantity"], "ItemPrice": _amount(line["price_presentment"]),
              "RowTotal": _amount(line["line_total_presentment"])} for line in lines]
    properties = {
        "CheckoutId": str(row["id"]), "CheckoutURL": row["recovery_url"], "Currency": row["presentment_currency"],
        "ItemNames": [line["title"] for line in lines], "Items": items, "Recommendations": recommendations,
        "DiscountCode": state["code"], "DiscountValue": float(offer.value), "DiscountValueType": offer.value_type,
        "DiscountExpiresAt": expires.isoformat() + "Z" if expires else None,
    }
    profile = {"email": row["email"]}
    if row["customer_id"] is not None:
        profile["external_id"] = str(row["customer_id"])
    attributes = {
        "properties": properties, "time": row["updated_at"].isoformat() + "Z",
        "value": _amount(row["total_price_presentment"]), "value_currency": row["presentment_currency"],
        "unique_id": state["unique_id"],
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {"data": {"type": "profile", "attributes": profile}},
    }
    return {"data": {"type": "event", "attributes": attributes}}


def send_events(wh: Warehouse, client: klaviyo.KlaviyoApi, offer: Offer, rows: list[dict[str, Any]],
                state: dict[str, dict[str, Any]], config: Config, now: datetime, report: Report) -> None:
    """Every ready checkout's event in as few bulk-create requests as Klaviyo's caps allow (1,000 events, 5 MB);
    the first request Klaviyo does not answer stops the run's sending (the rest wait for the next run). Sent
    checkouts are committed together at the end: a crash before that re-sends them under the same unique_id,
    which Klaviyo keeps once."""
    ready = [(row, state[str(row["id"])]) for row in rows if state[str(row["id"])]["status"] == "code_ready"]
    if not ready:
        return
    expiries = dict(wh.fetchall("select code, expires_at from activation.discount_codes where campaign = ?",
                                [offer.campaign]))
    lines = _lines(wh, [row["id"] for row, _ in ready])
    recommended = _recommendations(wh, sorted({s["customer_key"] for _, s in ready if s["customer_key"]}),
                                   config.recommendations)
    by_checkout = {str(row["id"]): (row, s) for row, s in ready}
    entries = [bulk_entry(event_body(row, s, lines[row["id"]], recommended.get(s["customer_key"], []), offer,
                                     expiries.get(s["code"]), config.metric), str(row["id"])) for row, s in ready]
    sent: list[tuple[dict[str, Any], datetime]] = []
    refused: list[tuple[dict[str, Any], str]] = []
    for group in klaviyo.pack_event_requests(entries):
        checkouts = [by_checkout[key] for _, keys in group for key in keys]
        outcome = _send(client, klaviyo.bulk_events_body(group))
        if isinstance(outcome, datetime):
            sent += [(row, outcome) for row, _ in checkouts]
        elif isinstance(outcome, FatalApiError):
            refused += [(s, outcome.message) for _, s in checkouts]
        else:
            waiting = len(ready) - len(sent) - len(refused)
            report.waiting_for_klaviyo += waiting
            log.warning("%s: Klaviyo is not answering (%s); %d event(s) wait with their codes for the next run",
                        offer.campaign, type(outcome).__name__, waiting)
            break
    with wh.transaction():
        for row, sent_at in sent:
            wh.execute("update activation.realtime_checkouts set status = 'sent', sent_at = ?, updated_at = ? "
                       "where campaign = ? and checkout_id = ?", [sent_at, sent_at, offer.campaign, str(row["id"])])
        for s, message in refused:
            wh.execute("update activation.realtime_checkouts set attempts = attempts + 1, last_error = ?, "
                       "updated_at = ? where campaign = ? and checkout_id = ?",
                       [f"Klaviyo refused the event: {message}"[:500], now, offer.campaign, s["checkout_id"]])
            log.error("%s: Klaviyo refused the event of checkout %s: %s", offer.campaign, s["checkout_id"], message)
    report.sent += len(sent)
    report.rejected_by_klaviyo += len(refused)
    report.latencies += [max(0.0, (at - (row["updated_at"] + config.quiet_period)).total_seconds())
                         for row, at in sent]


def bulk_entry(body: dict[str, Any], checkout_id: str) -> tuple[dict[str, Any], list[str]]:
    """One checkout's Create Event body as a bulk-create entry (its profile and its one event), keyed by checkout:
    each checkout is its own entry, so one customer's two checkouts are two events of the same profile."""
    attributes = dict(body["data"]["attributes"])
    profile = attributes.pop("profile")
    return ({"type": "event-bulk-create", "attributes": {
        "profile": profile, "events": {"data": [{"type": "event", "attributes": attributes}]}}}, [checkout_id])


def _send(client: klaviyo.KlaviyoApi, body: dict[str, Any]) -> datetime | Exception:
    """When Klaviyo accepted the request, or why not (a wrong key fails the whole run)."""
    try:
        client.post_json("api/event-bulk-create-jobs", body)
    except FatalApiError as exc:
        if exc.status in (401, 403):
            raise
        return exc
    except (RetriableApiError, requests.RequestException) as exc:
        return exc
    return utc_naive(datetime.now(UTC))


# ---- one run ---------------------------------------------------------------------------------------------
def load_window(warehouse: Path, now: datetime, config: Config) -> Window:
    """From the source's watermark (the last ``max_age`` on the first run) to now."""
    watermark = stored_watermark(SOURCE, warehouse)
    start = now - config.max_age if watermark is None else min(utc_naive(watermark), now - timedelta(seconds=1))
    return Window(start, now)


def run(shopify: Connection, klaviyo_conn: Connection, *, warehouse: Path | None = None, data_dir: Path | None = None,
        config: Config | None = None, now: datetime | None = None, holdout: Holdout | None = None,
        offer: Offer | None = None) -> Report:
    """One run of the abandoned-checkout trigger (what the real-time DAG's task calls)."""
    config = config or Config.from_env()
    paths = settings.Paths(Path(data_dir)) if data_dir else settings.paths()
    warehouse = Path(warehouse) if warehouse else paths.warehouse
    now = utc_naive(now or datetime.now(UTC))
    offer = offer or campaign_offer(config.campaign)
    holdout = holdout or project_holdout()
    report = Report()
    for extracted in run_catching_up(SOURCE, shopify, load_window(warehouse, now, config), data_dir=paths.data_dir,
                                     warehouse=warehouse):
        report.checkouts_loaded += extracted.entities["shop_abandoned_checkouts"].loaded
    shop = ShopifyApi.from_connection(shopify)
    events = klaviyo.KlaviyoApi.from_connection(klaviyo_conn)
    with connect(warehouse) as wh:
        ensure_tables(wh)
        rows = qualifying(wh, now, config, holdout, report)
        if rows:
            state = _claim_codes(wh, rows, config, now)
            issue_codes(wh, shop, offer, rows, state, now, report)
            send_events(wh, events, offer, rows, state, config, now, report)
    log.info("%s: %s", config.campaign, report.as_dict())
    return report
