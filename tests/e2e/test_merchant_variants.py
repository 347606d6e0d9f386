"""Merchants who use only some sources, run end to end the way a user runs the pieces: ``narrowcast extract``,
``dbt build`` with the project's profile, ``narrowcast sync run`` and the dashboard's JSON, against the sandbox.

- a second merchant with files only: a European orders export (semicolons, decimal comma, Windows-1252,
  day-first dates, text customer ids, EUR and GBP, marketing consent as ja/nein/oui), the exchange rates it was
  paid in and an e-mail-only opt-out, checked against a computation written here over the fixture rows;
- a merchant with only Shopify connected, and one with only eBay and Amazon.

Each variant has its own data directory and warehouse; they share one small generated world behind one sandbox
(no demo run, no Airflow process: the skip of an absent source is checked through the DAG's task callable).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from narrowcast.local_ports import free_port
from narrowcast.runtime import sandbox_connection_json
from narrowcast_airflow.defaults import dbt_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
from dbt_invocation import run_dbt  # noqa: E402

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SECOND_MERCHANT = REPO / "tests" / "fixtures" / "merchants" / "second_merchant"
SCRIPTS = Path(sys.executable).parent
NARROWCAST = [str(SCRIPTS / "narrowcast")] if (SCRIPTS / "narrowcast").exists() else [
    sys.executable, "-m", "narrowcast.cli"]
WORLD_START, WORLD_DAYS = date(2026, 8, 1), 10
WORLD_WINDOW = ("2026-08-01", "2026-08-12")
WINBACK_SYNC, WINBACK_LIST = "rfm_at_risk_klaviyo", "XWinBack1"
OPTED_OUT_EMAIL = "anna.weiss@example.de"


@dataclass
class Merchant:
    """One merchant's data directory and the environment their shell would have."""

    data_dir: Path
    env: dict[str, str]

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse" / "narrowcast.duckdb"

    def narrowcast(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*NARROWCAST, *args], env=self.env, cwd=REPO, capture_output=True, text=True,
                              timeout=300)

    def extract(self, source: str, start: str = "2026-08-01", end: str = "2026-12-01") -> subprocess.CompletedProcess:
        done = self.narrowcast("extract", source, "--start", start, "--end", end)
        assert done.returncode == 0, f"narrowcast extract {source} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done

    def build(self, target_path: Path, as_of_date: str) -> None:
        """The whole dbt project (models, seeds, data tests), as the transform DAG builds it: dbt's unit tests
        left out (their inputs are fixed rows, not the merchant's data; the dbt fixture warehouse runs them)."""
        run_dbt(["build"], warehouse=self.warehouse, target_path=target_path, as_of_date=as_of_date,
                env={**self.env, **dbt_env()})

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory):
    """A small generated world (60 customers, 10 days) served by the API emulators on a free port."""
    from narrowcast.datagen.generator import generate
    from narrowcast.sandbox.server import SandboxServer

    world = tmp_path_factory.mktemp("world")
    generate(world, customers=60, days=WORLD_DAYS, start=WORLD_START)
    with SandboxServer(world / "world", port=free_port()) as server:
        yield server


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder for the module's builds, so each later build reuses the parse."""
    return tmp_path_factory.mktemp("dbt_target")


def merchant(base: Path, sandbox_url: str, connections: tuple[str, ...], **settings: str) -> Merchant:
    """A shell with only ``connections`` set (pointing at the sandbox), and nothing else of Narrowcast's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "NARROWCAST_", "DBT_"))}
    data_dir = base / "data"
    (data_dir / "inbox").mkdir(parents=True)
    env.update({
        "NARROWCAST_DATA_DIR": str(data_dir),
        "NARROWCAST_WAREHOUSE": str(data_dir / "warehouse" / "narrowcast.duckdb"),
        "NARROWCAST_INBOX_SETTLE_SECONDS": "0",
        "PYTHONPATH": str(REPO / "include"),
        **settings,
    })
    for conn_id in connections:
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = sandbox_connection_json(conn_id, sandbox_url)
    return Merchant(data_dir, env)


def skip_reason_of_task(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], dag_id: str, task_id: str) -> str:
    """Run one extract task's callable in this merchant's environment; it must skip, and this is its reason."""
    from airflow.sdk.exceptions import AirflowSkipException

    for name in list(os.environ):
        if name.startswith(("AIRFLOW_CONN_", "NARROWCAST_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(("AIRFLOW_CONN_", "NARROWCAST_")):
            monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(f"dag_{dag_id}", REPO / "dags" / f"{dag_id}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    task = getattr(module, dag_id)().get_task(task_id)
    with pytest.raises(AirflowSkipException) as skipped:
        list(task.python_callable())
    return str(skipped.value)


# --- the second merchant: files only ---------------------------------------------------------------------------

def _european_csv(name: str) -> list[dict[str, str]]:
    """A fixture file read the way this test reads it (not the inbox's reader): Windows-1252, semicolons."""
    text = (SECOND_MERCHANT / "inbox" / name).read_bytes().decode("cp1252")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _amount(text: str) -> Decimal:
    """``€ 1.234,56`` → 1234.56 (thousands dot, decimal comma, currency sign)."""
    return Decimal(re.sub(r"[^0-9,]", "", text).replace(",", "."))


def _day_first(text: str) -> date:
    return datetime.strptime(text.split()[0], "%d.%m.%Y").date()


# The merchant's words in the fixture's consent column; an empty cell states nothing.
_CONSENT_WORDS = {"ja": True, "oui": True, "sì": True, "nein": False}


@dataclass(frozen=True)
class Expected:
    frequency: dict[str, int]
    monetary_eur: dict[str, Decimal]
    opted_out_ids: frozenset[str]
    consenting_ids: frozenset[str]  # the latest order stating consent says yes
    emailable_ids: frozenset[str]  # an order gives an e-mail address


def expected_second_merchant() -> Expected:
    """Each customer's order count and revenue in EUR, from the fixture rows and the merchant's own rates."""
    rates = {(_day_first(r["date"]), r["currency"]): _amount(r["rate_per_eur"])
             for r in _european_csv("fx_rates_2026-11.csv")}
    opted_out = {r["email"].strip().lower() for r in _european_csv("privacy_requests_2026-11.csv")
                 if r["request_type"] == "opt_out"}
    frequency: dict[str, int] = defaultdict(int)
    monetary: dict[str, Decimal] = defaultdict(Decimal)
    opted_out_ids = set()
    stated: dict[str, tuple[datetime, bool]] = {}
    emailable = set()
    for order in _european_csv("orders_export_2026-11.csv"):
        customer = order["customer_id"]
        amount = _amount(order["total_price"])
        if order["currency"] != "EUR":
            amount = amount / rates[(_day_first(order["ordered_at"]), order["currency"])]
        frequency[customer] += 1
        monetary[customer] += amount
        if order["email"].strip().lower() in opted_out:
            opted_out_ids.add(customer)
        if order["email"].strip():
            emailable.add(customer)
        if word := order["accepts_marketing"].strip().lower():
            at = datetime.strptime(order["ordered_at"], "%d.%m.%Y %H:%M")
            if customer not in stated or at > stated[customer][0]:
                stated[customer] = (at, _CONSENT_WORDS[word])
    consenting = frozenset(c for c, (_, yes) in stated.items() if yes)
    return Expected(dict(frequency), {c: round(v, 2) for c, v in monetary.items()}, frozenset(opted_out_ids),
                    consenting, frozenset(emailable))


@dataclass
class FilesOnlyRun:
    merchant: Merchant
    skipped_shop: subprocess.CompletedProcess
    sync: subprocess.CompletedProcess
    klaviyo: dict


@pytest.fixture(scope="module")
def files_only(emulators, dbt_target, tmp_path_factory) -> FilesOnlyRun:
    """The second merchant: files in the inbox, Klaviyo for e-mail, nothing else; extract → dbt → sync."""
    shop = merchant(tmp_path_factory.mktemp("second_merchant"), emulators.url, ("narrowcast_klaviyo",),
                    NARROWCAST_SOURCES="inbox")
    for path in (SECOND_MERCHANT / "inbox").iterdir():
        shutil.copyfile(path, shop.data_dir / "inbox" / path.name)
    shop.extract("inbox")
    skipped_shop = shop.narrowcast("extract", "shopify", "--start", "2026-08-01", "--end", "2026-12-01")
    shop.build(dbt_target, as_of_date="2026-11-30")
    sync = shop.narrowcast("sync", "run", WINBACK_SYNC, "--warehouse", str(shop.warehouse))
    return FilesOnlyRun(shop, skipped_shop, sync, emulators.received("klaviyo"))


def test_files_only_the_absent_shop_is_skipped_by_the_cli_with_its_connection_named(files_only):
    assert files_only.skipped_shop.returncode == 0
    assert files_only.skipped_shop.stdout.strip() == (
        "skipped: source shopify not selected: NARROWCAST_SOURCES=inbox does not list it")


def test_files_only_every_declared_raw_table_exists_after_the_build(files_only):
    from narrowcast.sources.registry import ENTITIES

    present = {name for (name,) in files_only.merchant.query(
        "select table_name from information_schema.tables where table_schema = 'raw'")}
    assert set(ENTITIES) <= present
    assert files_only.merchant.query("select count(*) from raw.shop_orders") == [(0,)]
    assert files_only.merchant.query("select count(*) from raw.file_orders") == [(19,)]


def test_files_only_the_european_export_loads_every_order_with_its_amount_and_day(files_only):
    loaded = dict(files_only.merchant.query(
        "select order_id, total_price from raw.file_orders order by order_id"))
    expected = {r["order_id"]: _amount(r["total_price"]) for r in _european_csv("orders_export_2026-11.csv")}
    assert loaded == expected
    (first,) = files_only.merchant.query("select ordered_at from raw.file_orders where order_id = 'EU-1001'")
    assert first[0] == datetime(2026, 8, 14, 10, 15)


def test_files_only_the_e_mail_only_opt_out_loads_without_a_customer_id(files_only):
    assert files_only.merchant.query(
        "select customer_id, lower(email), request_type from raw.file_privacy_requests"
    ) == [(None, OPTED_OUT_EMAIL, "opt_out")]


def test_files_only_the_merchants_exchange_rates_load_from_the_inbox(files_only):
    # The merchant's rates have their own raw table (one owner per raw table); dbt prefers them over the ECB's.
    loaded = files_only.merchant.query(
        "select date, currency, rate_per_eur from raw.file_fx_rates order by date, currency")
    expected = sorted((_day_first(r["date"]), r["currency"], _amount(r["rate_per_eur"]))
                      for r in _european_csv("fx_rates_2026-11.csv"))
    assert [(d, c, Decimal(str(rate))) for d, c, rate in loaded] == expected


def test_files_only_customers_keep_their_text_ids_exactly(files_only):
    ids = {cid for (cid,) in files_only.merchant.query("select customer_id from main.customer_rfm")}
    assert ids == set(expected_second_merchant().frequency)  # 'C-17', '00017' and '17' are three customers


def test_files_only_order_counts_per_customer_match_the_fixture(files_only):
    counts = dict(files_only.merchant.query("select customer_id, frequency from main.customer_rfm"))
    assert counts == expected_second_merchant().frequency


def test_files_only_monetary_is_in_euros_at_the_merchants_own_rates(files_only):
    monetary = dict(files_only.merchant.query("select customer_id, monetary from main.customer_rfm"))
    expected = expected_second_merchant().monetary_eur
    assert set(monetary) == set(expected)
    for customer, value in expected.items():
        assert monetary[customer] == pytest.approx(value, abs=Decimal("0.02")), customer


def test_files_only_the_opted_out_person_is_in_no_audience_and_not_in_the_klaviyo_list(files_only):
    expected = expected_second_merchant()
    assert files_only.sync.returncode == 0, files_only.sync.stdout[-2000:] + files_only.sync.stderr[-2000:]
    assert f"{WINBACK_SYNC}: success;" in files_only.sync.stdout
    members = set(files_only.klaviyo["lists"].get(WINBACK_LIST, []))
    emails = {str(p.get("email", "")).lower() for p in files_only.klaviyo["profiles"].values()}
    in_audiences = {cid for (cid,) in files_only.merchant.query("select customer_id from main.audience_members")}
    # the opted-out person is still a customer (RFM counts their orders) ...
    assert expected.opted_out_ids <= {cid for (cid,) in files_only.merchant.query(
        "select customer_id from main.customer_rfm")}
    # ... but reachable nowhere: no audience, not in the list, no profile with their address
    assert expected.opted_out_ids.isdisjoint(in_audiences)
    assert expected.opted_out_ids.isdisjoint(members)
    assert OPTED_OUT_EMAIL not in emails
    # and the list holds exactly the win-back customers the fixture's consent column allows: in an At Risk
    # segment, consenting by their latest stated answer, with an e-mail address, not opted out, not held out
    # (the fixture's at-risk customers: one said 'ja' and then nothing, one 'sì' and then 'nein', one is opted out)
    at_risk = {cid for (cid,) in files_only.merchant.query(
        "select customer_id from main.customer_segments "
        "where segment in ('rfm:At Risk', 'rfm:Can''t Lose Them')")}
    held_out = {cid for (cid,) in files_only.merchant.query(
        "select customer_id from main.audience_members where audience_id = 'rfm_at_risk' and is_holdout")}
    expected_list = (at_risk & expected.consenting_ids & expected.emailable_ids) - expected.opted_out_ids - held_out
    assert expected_list, "the fixture should put a consenting customer in the win-back list"
    assert members == expected_list


def test_files_only_the_dashboard_names_the_sources_not_connected(files_only, monkeypatch):
    from fastapi.testclient import TestClient

    from narrowcast.dashboard.app import create_app

    for name in list(os.environ):
        if name.startswith(("AIRFLOW_CONN_", "NARROWCAST_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NARROWCAST_SOURCES", "inbox")
    client = TestClient(create_app(files_only.merchant.warehouse, files_only.merchant.data_dir))

    sources = client.get("/api/sources").json()
    assert sources["connected"] == ["inbox"]
    assert {s["source"] for s in sources["not_connected"]} >= {"shopify", "ebay", "amazon", "ga4"}
    rfm = client.get("/api/rfm").json()
    assert rfm["status"] == "ok"
    listings = client.get("/api/listings").json()  # no ERP stock file and no shop catalogue
    assert listings["status"] == "empty"
    assert listings["message"] == "no data: shopify not connected"


# --- Shopify only ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop_only(emulators, dbt_target, tmp_path_factory) -> Merchant:
    shop = merchant(tmp_path_factory.mktemp("shop_only"), emulators.url, ("narrowcast_shopify",))
    shop.extract("shopify", *WORLD_WINDOW)
    shop.build(dbt_target, as_of_date="2026-08-31")
    return shop


def test_shop_only_every_mart_builds_and_the_shops_orders_reach_the_customer_marts(shop_only):
    models = {m for (m,) in shop_only.query("select distinct orders_model from main.int_orders")}
    assert models == {"stg_shop__orders"}
    shop_customers = {str(cid) for (cid,) in shop_only.query(
        "select distinct customer_id from raw.shop_orders where customer_id is not null and cancelled_at is null")}
    rfm = {str(cid) for (cid,) in shop_only.query("select customer_id from main.customer_rfm")}
    assert rfm and rfm <= shop_customers
    assert shop_only.query("select count(*) > 0, sum(revenue) > 0 from main.kpi_channel_daily") == [(True, True)]
    assert shop_only.query("select count(*) from raw.ebay_orders") == [(0,)]


def test_shop_only_the_marketplace_extract_is_skipped_naming_its_connection(shop_only, monkeypatch):
    cli = shop_only.narrowcast("extract", "ebay", "--start", "2026-08-01", "--end", "2026-08-02")
    assert cli.returncode == 0
    assert cli.stdout.strip().startswith("skipped: source ebay not connected: set connection narrowcast_ebay")
    reason = skip_reason_of_task(monkeypatch, shop_only.env, "extract_marketplace_orders", "extract_amazon")
    assert reason.startswith("source amazon not connected: set connection narrowcast_amazon")


# --- marketplaces only (eBay + Amazon) -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def marketplaces_only(emulators, dbt_target, tmp_path_factory) -> Merchant:
    seller = merchant(tmp_path_factory.mktemp("marketplaces_only"), emulators.url,
                      ("narrowcast_ebay", "narrowcast_amazon"))
    seller.extract("ebay", *WORLD_WINDOW)
    seller.extract("amazon", *WORLD_WINDOW)
    seller.build(dbt_target, as_of_date="2026-08-31")
    return seller


def test_marketplaces_only_every_mart_builds_with_marketplace_revenue(marketplaces_only):
    models = {m for (m,) in marketplaces_only.query("select distinct orders_model from main.int_orders")}
    assert models == {"stg_ebay__orders", "stg_amazon__orders"}
    assert marketplaces_only.query(
        "select count(*) > 0, sum(revenue) > 0 from main.kpi_channel_daily where channel = 'marketplace'"
    ) == [(True, True)]
    assert marketplaces_only.query("select count(*) from raw.shop_orders") == [(0,)]


def test_marketplaces_only_buyers_are_customers_of_their_own(marketplaces_only):
    assert marketplaces_only.query("select count(*) > 0 from main.customer_rfm") == [(True,)]


def test_marketplaces_only_the_shop_extract_task_skips_naming_its_connection(marketplaces_only, monkeypatch):
    reason = skip_reason_of_task(monkeypatch, marketplaces_only.env, "extract_shop", "extract_shopify")
    assert reason == ("source shopify not connected: set connection narrowcast_shopify "
                      "(AIRFLOW_CONN_NARROWCAST_SHOPIFY or the Airflow UI)")
