"""The campaign-metadata connectors against their emulators, over the generator's campaign settings: every
campaign and ad set read once with its objective and audiences, incremental reads, and documented refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tiny_world import sandbox_connection

from narrowcast.contracts.windows import Window
from narrowcast.datagen.campaign_metadata import build_campaign_metadata
from narrowcast.datagen.traffic import GOOGLE_CUSTOMER_ID, META_ACCOUNT_ID, campaigns
from narrowcast.http import FatalApiError
from narrowcast.sandbox.server import SandboxServer
from narrowcast.sources import google_ads_campaigns, meta_campaigns
from narrowcast.sources.google_ads.client import GoogleAdsClient
from narrowcast.sources.meta_ads.client import MetaClient

START = datetime(2026, 8, 1)
DAYS = 60


@pytest.fixture(scope="module")
def metadata_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    world = tmp_path_factory.mktemp("campaign_world")
    start_s = int((START - datetime(1970, 1, 1)).total_seconds())
    for name, table in build_campaign_metadata(campaigns(DAYS), start_s).items():
        pq.write_table(table, world / f"{name}.parquet")
    return world


@pytest.fixture(scope="module")
def server(metadata_world: Path) -> Iterator[SandboxServer]:
    with SandboxServer(metadata_world, only=["meta_campaigns", "google_ads_reporting"]) as running:
        yield running


def pull(module, client_cls, conn, window: Window) -> dict[str, list[dict]]:
    client = client_cls.from_connection(conn, sleep=lambda _s: None)
    out: dict[str, list[dict]] = {entity: [] for entity in module.ENTITIES}
    for page in module.extract(conn, window, client=client):
        out[page.entity].extend(page.records)
    return out


def meta_conn(server: SandboxServer):
    return sandbox_connection(server, "meta", "narrowcast_meta", ad_account_id=f"act_{META_ACCOUNT_ID}")


def test_a_window_from_before_the_campaigns_reads_every_meta_campaign_and_ad_set_once(server, metadata_world):
    got = pull(meta_campaigns, MetaClient, meta_conn(server), Window(START - timedelta(days=60), START))
    world = pq.read_table(metadata_world / "meta_campaigns.parquet").to_pylist()
    assert sorted((r["campaign_id"], r["objective"]) for r in got["meta_campaigns"]) == \
        sorted((w["campaign_id"], w["objective"]) for w in world)
    audiences = {r["campaign_id"]: r["custom_audience_names"] for r in got["meta_ad_sets"]}
    assert audiences[23_851_000_000_102] == "Website visitors 30d | Added to cart 14d"
    assert audiences[23_851_000_000_101] is None


def test_a_later_window_reads_only_the_active_meta_campaigns(server, metadata_world):
    # GIVEN a window after every campaign's last change WHEN extracted THEN only running campaigns come back
    later = START + timedelta(days=DAYS + 5)
    got = pull(meta_campaigns, MetaClient, meta_conn(server), Window(later, later + timedelta(days=1)))
    world = pq.read_table(metadata_world / "meta_campaigns.parquet").to_pylist()
    active = {w["campaign_id"] for w in world if w["status"] == "ACTIVE"}
    assert {r["campaign_id"] for r in got["meta_campaigns"]} == active
    assert active != {w["campaign_id"] for w in world}


def test_google_campaign_settings_and_user_lists_match_the_world(server, metadata_world):
    conn = sandbox_connection(server, "google_ads", "narrowcast_google_ads", customer_id=str(GOOGLE_CUSTOMER_ID),
                              developer_token="dev")
    got = pull(google_ads_campaigns, GoogleAdsClient, conn, Window(START, START + timedelta(days=1)))
    world = pq.read_table(metadata_world / "google_ads_campaigns.parquet").to_pylist()
    assert sorted((r["campaign_id"], r["advertising_channel_type"], r["bidding_strategy_type"])
                  for r in got["google_ads_campaigns"]) == \
        sorted((w["campaign_id"], w["advertising_channel_type"], w["bidding_strategy_type"]) for w in world)
    (criterion,) = got["google_ads_campaign_criteria"]
    assert criterion["criterion_type"] == "USER_LIST" and criterion["negative"] is False
    assert criterion["user_list"].startswith(f"customers/{GOOGLE_CUSTOMER_ID}/userLists/")


def test_an_unsupported_meta_filter_is_refused_with_the_graph_invalid_parameter_error(server):
    client = MetaClient.from_connection(meta_conn(server), sleep=lambda _s: None)
    bad = json.dumps([{"field": "campaign.spend", "operator": "GREATER_THAN", "value": 1}])
    with pytest.raises(FatalApiError, match=r"\(#100\)"):
        client.request("GET", f"{client.api_version}/act_{META_ACCOUNT_ID}/campaigns", params={"filtering": bad})


def test_a_settings_query_with_an_unknown_field_is_refused_as_an_unrecognized_field(server):
    conn = sandbox_connection(server, "google_ads", "narrowcast_google_ads", customer_id=str(GOOGLE_CUSTOMER_ID),
                              developer_token="dev")
    client = GoogleAdsClient.from_connection(conn, sleep=lambda _s: None)
    with pytest.raises(FatalApiError, match="UNRECOGNIZED_FIELD|Unrecognized field"):
        list(client.search_stream(str(GOOGLE_CUSTOMER_ID),
                                  "SELECT campaign.id, campaign.labels FROM campaign_criterion"))
