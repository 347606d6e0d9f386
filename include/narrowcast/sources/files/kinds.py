"""The file kinds the inbox accepts: name pattern, target raw table, required and optional columns.

Generic orders export (``orders_export_*.csv`` or ``.parquet`` → ``raw.file_orders``), header row, empty cell =
NULL; separator, encoding, decimal and date conventions as in ``dialect.py``:

- required: ``order_id``, ``customer_id``, ``ordered_at`` (date ``2024-03-30``/``30/03/2024`` or timestamp, an
  offset such as ``Z``/``+02:00`` is converted to UTC), ``currency`` (ISO 4217), ``total_price`` (≥ 0)
- optional: ``email``, ``financial_status``, ``cancelled_at``, ``refunded_amount``, ``discount_amount``,
  ``sku``, ``quantity``, ``line_price``, ``line_number``. With any of ``sku``/``quantity``/``line_price`` the
  file has one row per order line (the order columns repeated); lines are numbered per order in file order
  unless the file gives ``line_number`` itself. Without them: one row per order (``line_number`` 1).
- optional consent: ``accepts_marketing``, the buyer's marketing consent as the shop recorded it with the order
  (one answer for e-mail and ad audiences alike, as Shopify's legacy ``accepts_marketing`` flag feeds both of the
  marts' consents): ``true``/``false``, ``yes``/``no``, ``1``/``0``,
  ``y``/``n``, ``ja``/``nein``, ``oui``/``non``, ``sì``/``sí``/``si``/``no``, in any case (Parquet: a boolean
  column, or ``true``/``false`` text). An empty cell says nothing (the buyer's earlier answer stands); any other
  value quarantines the row as ``type:accepts_marketing`` with its file:line. The buyer's latest order with a
  value decides (``docs/identity.md``).

Privacy requests (``privacy_requests_*.csv`` or ``.parquet`` → ``raw.file_privacy_requests``):

- required: ``request_type`` (``opt_out`` or ``delete``, exactly), ``requested_at``
- optional: ``customer_id`` (text, kept exactly), ``email``; every row needs at least one of them.
  One invalid row rejects the whole file, naming each bad line and its rule: fix it and drop it again.

Exchange rates (``fx_rates_*.csv`` or ``.parquet`` → ``raw.file_fx_rates``), the merchant's own rates:

- required: ``date`` (the day the rate holds for), ``currency`` (ISO 4217), ``rate_per_eur`` (units of the
  currency per 1 EUR, as the ECB quotes; > 0). A file's rate overrides the ECB's of the same day and currency
  (``int_fx_rates_daily``); of two files, the one loaded last wins.

Shipments (``shipments_*.csv`` or ``.parquet`` → ``raw.file_shipments``), one row per shipped order line, pushed
to the marketplace the order was placed on (``include/syncs/shipments_*.yml``):

- required: ``order_id`` (the marketplace's own order id, e.g. eBay ``12-34567-89012``, Amazon
  ``305-1234567-1234567``), ``marketplace`` (``ebay``, ``amazon``, ``shop``: the order's source), ``carrier`` (the
  merchant's name for it, e.g. ``DHL``; mapped to each marketplace's code by the ``carrier_codes`` seed),
  ``tracking_number``, ``shipped_at`` (date or timestamp, as for orders), ``sku``, ``quantity`` (> 0)
- The rows of one ``order_id`` + ``tracking_number`` are one package; a shipment is sent once, so a file dropped
  again changes nothing at the marketplace.

Product catalogue (``catalogue_*.csv`` or ``.parquet`` → ``raw.file_catalogue``), the content listings are created
from, one row per variant SKU:

- required: ``sku``, ``title``
- optional: ``description``, ``brand``, ``gtin`` (EAN/UPC digits), ``mpn``, ``condition`` (``new``, ``used``,
  ``like_new``, ``refurbished``), ``category`` (the shop's category or product type, mapped per marketplace by
  the seed ``listing_category_map``), ``image_urls`` (URLs separated by ``|``, the first is the main image),
  ``price`` and ``currency`` (the base price; empty = the shop's), ``parent_sku`` (the variants of one product
  share it), ``colour``, ``size``, ``material`` (attributes, renamed per marketplace by the seed
  ``listing_attribute_map``). A new version of a file replaces what the previous one loaded.

Partner lists (``partner_list_*.csv`` or ``.parquet`` → ``raw.file_partner_lists``), contacts a partner shares
with the merchant, one row per person:

- required: ``partner_id`` (the partner's key, e.g. its utm_source), ``email``, ``consent_basis`` (``consent``,
  ``legitimate_interest`` or ``contract``, exactly: the lawful basis the partner collected the contact under)
- optional: ``allowed_uses`` (the uses the partner permits, separated by ``|``: ``email``, ``ads``; empty = none),
  ``collected_at`` (date or timestamp). A contact is used only as both its basis (seed ``partner_consent_uses``:
  only ``consent`` rows may go to ad audiences) and its ``allowed_uses`` permit (``partner_audience_members``).
  A row with an unknown basis or no e-mail is quarantined with its line and rule; the rest of the file loads.

Budget plans (``budget_plan_*``) may carry a ``currency`` column; a row without one is planned in the reporting
currency.

Any other column rejects the file (``schema:extra_column``), see ``inbox.py`` for why.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class FileKind:
    entity: str
    patterns: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # Present in the header → one row per order line, numbered per order (``line_number``).
    line_columns: tuple[str, ...] = ()
    # Each row keyed by its position in the file (``line_number``: CSV line, Parquet row), the number the
    # quality gate names when it rejects the file.
    numbered: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.required + self.optional

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name, p) for p in self.patterns)


def _both(stem: str) -> tuple[str, ...]:
    return (f"{stem}.csv", f"{stem}.parquet")


FILE_KINDS: tuple[FileKind, ...] = (
    FileKind(
        "file_orders",
        _both("orders_export_*"),
        required=("order_id", "customer_id", "ordered_at", "currency", "total_price"),
        optional=(
            "email", "financial_status", "cancelled_at", "refunded_amount", "discount_amount",
            "sku", "quantity", "line_price", "line_number", "accepts_marketing",
        ),
        line_columns=("sku", "quantity", "line_price"),
    ),
    FileKind("file_erp_stock", _both("erp_stock_*"), required=("sku", "on_hand", "cost", "warehouse", "snapshot_at")),
    FileKind(
        "file_budget_plan",
        _both("budget_plan_*"),
        required=("month", "channel", "planned_spend", "planned_sessions", "planned_orders", "planned_revenue"),
        optional=("currency",),
    ),
    FileKind(
        "file_marketplace_listings",
        _both("marketplace_listings*"),
        required=("sku", "marketplace", "listing_id", "enabled"),
    ),
    FileKind(
        "file_privacy_requests",
        _both("privacy_requests_*"),
        required=("request_type", "requested_at"),
        optional=("customer_id", "email"),
        numbered=True,
    ),
    FileKind("file_fx_rates", _both("fx_rates_*"), required=("date", "currency", "rate_per_eur")),
    FileKind(
        "file_shipments",
        _both("shipments_*"),
        required=("order_id", "marketplace", "carrier", "tracking_number", "shipped_at", "sku", "quantity"),
    ),
    FileKind(
        "file_partner_lists",
        _both("partner_list_*"),
        required=("partner_id", "email", "consent_basis"),
        optional=("allowed_uses", "collected_at"),
        numbered=True,
    ),
    FileKind(
        "file_catalogue",
        _both("catalogue_*"),
        required=("sku", "title"),
        optional=("description", "brand", "gtin", "mpn", "condition", "category", "image_urls", "price", "currency",
                  "parent_sku", "colour", "size", "material"),
    ),
)


def kind_of(file_name: str) -> FileKind | None:
    """The kind a file name belongs to, or None for a file the inbox does not take (left alone)."""
    for kind in FILE_KINDS:
        if kind.matches(file_name):
            return kind
    return None
