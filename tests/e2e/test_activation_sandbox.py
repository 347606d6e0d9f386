"""End to end against the sandbox: every destination, faults, privacy, and stock going to zero and back."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "activation"))

from activation_fixtures import (  # noqa: E402
    AUDIENCE_SYNCS,
    FEED_SYNCS,
    audience_rows,
    audience_sync,
    connections,
    emulators,
    feed_rows,
    feed_sync,
    make_connections,
    sandbox,
    warehouse,
)

from narrowcast.activation import load_syncs, run_group, run_sync  # noqa: E402

pytestmark = pytest.mark.e2e
__all__ = ["connections", "emulators", "sandbox", "warehouse"]  # fixtures used by name
_HEX = re.compile(r"^[0-9a-f]{64}$")
META_AUDIENCE, GOOGLE_LIST = "2385000001", "customers/1234567890/userLists/555"


def write_syncs(folder: Path) -> Path:
    """The test syncs as YAML files, so the loader and run_group are exercised as the DAGs use them."""
    folder.mkdir()
    for kind, body in AUDIENCE_SYNCS.items():
        doc = {"model": "audience_members", "key": "customer_id", "filter": {"audience_id": "champions"},
               "schedule": "audiences", "rate_limit": {"rps": 200, "burst": 20, "concurrency": 2}, **body}
        (folder / f"champions_{kind}.yml").write_text(yaml.safe_dump(doc))
    for marketplace, body in FEED_SYNCS.items():
        doc = {"model": "marketplace_listing_feed", "key": "sku", "filter": {"marketplace": marketplace},
               "schedule": "inventory", "rate_limit": {"rps": 200, "burst": 20, "concurrency": 2}, **body}
        (folder / f"stock_{marketplace}.yml").write_text(yaml.safe_dump(doc))
    return folder


def audience_state(emulators: dict[str, Any]) -> dict[str, set[str]]:
    meta = emulators["meta_audiences"].snapshot()
    google = emulators["google_customer_match"].snapshot()
    klaviyo = emulators["klaviyo"].snapshot()
    return {
        "meta": set(meta["audiences"].get(META_AUDIENCE, [])),
        "google": set(google["user_lists"].get(GOOGLE_LIST, [])),
        "klaviyo": set(klaviyo["lists"].get("LIST1", [])),
    }


def expected_audience(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {"meta": {r["email_sha256"] for r in rows}, "google": {r["email_sha256"] for r in rows},
            "klaviyo": {str(r["customer_id"]) for r in rows}}


def test_an_opted_out_customer_disappears_from_every_destination_in_one_run(tmp_path, emulators, connections, warehouse):
    syncs = write_syncs(tmp_path / "syncs")
    assert {s.id for s in load_syncs(syncs)} >= {"champions_meta", "champions_google", "champions_klaviyo"}
    rows = audience_rows("champions", range(60))
    warehouse.replace("audience_members", rows)
    run_group("audiences", connections=connections, warehouse=warehouse.path, syncs_dir=syncs)
    assert audience_state(emulators) == expected_audience(rows)
    # WHEN customer 17 opts out, the mart drops them; one audiences run follows
    remaining = [r for r in rows if r["customer_id"] != 17]
    warehouse.replace("audience_members", remaining)
    reports = run_group("audiences", connections=connections, warehouse=warehouse.path, syncs_dir=syncs)
    # THEN they are gone everywhere, and nothing else moved
    assert [(r.planned_removes, r.accepted) for r in reports] == [(1, 1)] * len(AUDIENCE_SYNCS)
    assert audience_state(emulators) == expected_audience(remaining)


def test_no_raw_email_reaches_the_ad_platforms(tmp_path, emulators, connections, warehouse):
    rows = audience_rows("champions", range(30))
    rows[4]["email_sha256"] = rows[4]["email"]  # a broken mart row: the engine must refuse it
    warehouse.replace("audience_members", rows)
    for kind in ("meta", "google"):
        run_sync(audience_sync(kind), connections=connections, warehouse=warehouse.path, rejected_threshold=1.0)
    meta = emulators["meta_audiences"].snapshot()
    google = emulators["google_customer_match"].snapshot()
    sent_values = [v for row in meta["rows"][META_AUDIENCE].values() for v in row if v] + [
        v for members in emulators["google_customer_match"].user_lists.values()
        for identifiers in members.values() for i in identifiers for v in i.values()]
    assert sent_values and all(_HEX.match(v) for v in sent_values)
    assert meta["invalid_values"] == [] and google["invalid_values"] == []


def test_with_twenty_percent_faults_every_destination_ends_equal_to_the_marts(sandbox, emulators, warehouse):
    # GIVEN 429s with Retry-After, 5xx and timeouts on 20% of requests to every API
    connections = make_connections(sandbox.url, timeout_seconds=0.8, max_attempts=10)
    for prefix in ("meta", "google_ads", "klaviyo", "ebay", "amazon", "shopify"):
        sandbox.faults(prefix, rate_limit_share=0.08, retry_after_seconds=0.02, error_share=0.07,
                       timeout_share=0.05, timeout_seconds=1.5, seed=7)
    rows = audience_rows("champions", range(120))
    warehouse.replace("audience_members", rows)
    warehouse.replace("marketplace_listing_feed", feed_rows(80))
    specs = [audience_sync(k, batch_size=20) for k in ("meta", "google", "klaviyo")] + [
        feed_sync(m) for m in ("ebay", "amazon", "shop")]
    # WHEN each sync runs, then the mart changes and each runs again
    for spec in specs:
        run_sync(spec, connections=connections, warehouse=warehouse.path)
    changed = rows[10:] + audience_rows("champions", range(500, 510))
    warehouse.replace("audience_members", changed)
    feed = feed_rows(80)
    for row in feed[::9]:
        row["quantity"], row["status"] = 0, "withdrawn"
    warehouse.replace("marketplace_listing_feed", feed)
    reports = [run_sync(spec, connections=connections, warehouse=warehouse.path) for spec in specs]
    # THEN faults really happened, nothing was rejected, and every destination holds exactly the marts
    stats = [sandbox.app.state.api_states[p].faults_injected for p in ("meta", "klaviyo", "ebay")]
    assert all(sum(s.values()) > 0 for s in stats)
    assert all(r.rejected == 0 for r in reports)
    assert audience_state(emulators) == expected_audience(changed)
    assert marketplace_state(emulators) == expected_marketplaces(feed)


def marketplace_state(emulators: dict[str, Any]) -> dict[str, dict[str, tuple[int, str]]]:
    ebay = emulators["ebay_inventory"].snapshot()["offers"]
    amazon = emulators["amazon_listings"].snapshot()["listings"]
    shop = emulators["shopify_inventory"].snapshot()["levels"]
    return {
        "ebay": {o["sku"]: (o["quantity"] if o["status"] == "PUBLISHED" else 0, o["status"])
                 for o in ebay.values() if o["revisions"] or o["status"] != "PUBLISHED"},
        "amazon": {sku: (v["quantity"], v["status"]) for sku, v in amazon.items() if v["price"] is not None},
        "shop": {f"SKU-{int(k.split('@')[0]) - 900000:05d}": (v, "ACTIVE" if v else "INACTIVE") for k, v in shop.items()},
    }


def expected_marketplaces(feed: list[dict[str, Any]]) -> dict[str, dict[str, tuple[int, str]]]:
    out: dict[str, dict[str, tuple[int, str]]] = {"ebay": {}, "amazon": {}, "shop": {}}
    for row in feed:
        live = row["status"] == "active" and row["quantity"] > 0
        qty = row["quantity"] if row["status"] == "active" else 0
        if row["marketplace"] == "ebay":
            out["ebay"][row["sku"]] = (qty, "PUBLISHED" if row["status"] == "active" else "UNPUBLISHED")
        else:
            out[row["marketplace"]][row["sku"]] = (qty, "ACTIVE" if live else "INACTIVE")
    return out


def test_stock_at_zero_withdraws_everywhere_in_one_run_and_returning_stock_relists(tmp_path, emulators, connections,
                                                                                   warehouse):
    syncs = write_syncs(tmp_path / "syncs")
    feed = feed_rows(60)
    warehouse.replace("marketplace_listing_feed", feed)
    run_group("inventory", connections=connections, warehouse=warehouse.path, syncs_dir=syncs)
    assert marketplace_state(emulators) == expected_marketplaces(feed)
    # the first Amazon sync of 60 SKUs went as one JSON_LISTINGS_FEED, not 60 PATCHes
    assert emulators["amazon_listings"].calls.get("createFeed") == 1
    assert "patchListingsItem" not in emulators["amazon_listings"].calls
    # WHEN SKU-00003 sells out
    for row in feed:
        if row["sku"] == "SKU-00003":
            row["quantity"], row["available_quantity"], row["status"] = 0, 0, "withdrawn"
    warehouse.replace("marketplace_listing_feed", feed)
    reports = run_group("inventory", connections=connections, warehouse=warehouse.path, syncs_dir=syncs)
    # THEN one run later every marketplace shows it at 0 / withdrawn, with one call per marketplace (two for the
    # shop: compare-and-set reads the level before setting it)
    assert [(r.sync_id, r.planned_changes, r.accepted, r.api_calls) for r in reports] == [
        (s, 1, 1, 2 if s.endswith("shop") else 1) for s in (r.sync_id for r in reports)]
    assert len(reports) == 3
    state = marketplace_state(emulators)
    assert state["ebay"]["SKU-00003"] == (0, "UNPUBLISHED")
    assert state["amazon"]["SKU-00003"] == (0, "INACTIVE")
    assert state["shop"]["SKU-00003"] == (0, "INACTIVE")
    # WHEN stock returns, it is relisted (eBay publishes the offer again before setting the quantity)
    for row in feed:
        if row["sku"] == "SKU-00003":
            row["quantity"], row["available_quantity"], row["status"] = 4, 4, "active"
    warehouse.replace("marketplace_listing_feed", feed)
    run_group("inventory", connections=connections, warehouse=warehouse.path, syncs_dir=syncs)
    state = marketplace_state(emulators)
    assert (state["ebay"]["SKU-00003"], state["amazon"]["SKU-00003"], state["shop"]["SKU-00003"]) == (
        (4, "PUBLISHED"), (4, "ACTIVE"), (4, "ACTIVE"))
    assert marketplace_state(emulators) == expected_marketplaces(feed)
