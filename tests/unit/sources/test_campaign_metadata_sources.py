"""Campaign-metadata connectors (Meta campaigns/ad sets, Google Ads campaigns/user-list criteria) against a fake
HTTP layer, with responses shaped like the vendors' documented examples."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fake_http import FakeSession, fixture, reply

from narrowcast.contracts.connections import Connection
from narrowcast.contracts.windows import Window
from narrowcast.sources.google_ads.client import GoogleAdsClient
from narrowcast.sources.google_ads_campaigns import extract as google_extract
from narrowcast.sources.meta_ads.client import MetaClient
from narrowcast.sources.meta_campaigns import extract as meta_extract

META = Connection("narrowcast_meta", "https://graph.facebook.com", password="EAAB-secret",
                  extra={"ad_account_id": "act_1234567890", "api_version": "v27.0"})
GOOGLE = Connection("narrowcast_google_ads", "https://googleads.googleapis.com", password="ya29.secret",
                    extra={"developer_token": "dev-tok", "customer_id": "987-654-3210", "api_version": "v26"})
WINDOW = Window(datetime(2024, 3, 1), datetime(2024, 3, 2))
EMPTY = {"data": []}


def run_meta(session: FakeSession, http) -> list:
    return list(meta_extract(META, WINDOW, client=MetaClient.from_connection(META, **http(session))))


def run_google(session: FakeSession, http) -> list:
    return list(google_extract(GOOGLE, WINDOW, client=GoogleAdsClient.from_connection(GOOGLE, **http(session))))


def test_meta_reads_objects_changed_since_the_window_start_then_every_active_one(http):
    # GIVEN four empty edges WHEN the window of 2024-03-01 is extracted
    session = FakeSession(*(reply(body=EMPTY) for _ in range(4)))
    run_meta(session, http)
    # THEN campaigns then ad sets are read twice: changed since the window start (any status), then active ones
    paths = [s.path for s in session.sent]
    assert paths == ["/v27.0/act_1234567890/campaigns"] * 2 + ["/v27.0/act_1234567890/adsets"] * 2
    changed, active = session.sent[0].query, session.sent[1].query
    assert json.loads(changed["filtering"]) == [
        {"field": "campaign.updated_time", "operator": "GREATER_THAN", "value": 1709251200}]
    assert "ARCHIVED" in json.loads(changed["effective_status"])
    assert json.loads(active["effective_status"]) == ["ACTIVE"] and "filtering" not in active
    assert {"objective", "updated_time"} <= set(changed["fields"].split(","))
    assert json.loads(session.sent[2].query["filtering"])[0]["field"] == "adset.updated_time"
    assert "targeting" in session.sent[2].query["fields"].split(",")


def test_meta_campaigns_and_ad_sets_parse_into_the_raw_columns(http):
    session = FakeSession(reply(body=fixture("meta_campaigns_page.json")), reply(body=EMPTY),
                          reply(body=fixture("meta_adsets_page.json")), reply(body=EMPTY))
    pages = {p.entity: p.records for p in run_meta(session, http) if p.records}
    assert pages["meta_campaigns"][0] == {
        "account_id": 1234567890, "campaign_id": 23851234567890123, "campaign_name": "Spring sale - prospecting",
        "objective": "OUTCOME_SALES", "status": "ACTIVE", "effective_status": "ACTIVE", "buying_type": "AUCTION",
        "created_time": datetime(2024, 2, 20, 18, 12, 33), "updated_time": datetime(2024, 3, 1, 16)}
    assert pages["meta_campaigns"][1]["objective"] == "OUTCOME_LEADS"
    retargeting, broad = pages["meta_ad_sets"]
    assert retargeting == {
        "account_id": 1234567890, "adset_id": 23851234567891001, "campaign_id": 23851234567890999,
        "adset_name": "Retargeting - cart 14d", "status": "ACTIVE",
        "custom_audience_ids": "23850000000000001,23850000000000002",
        "custom_audience_names": "Website visitors 30d | Added to cart 14d",
        "excluded_custom_audience_ids": "23850000000000003", "updated_time": datetime(2024, 3, 1, 16, 5)}
    assert broad["custom_audience_ids"] is None and broad["custom_audience_names"] is None


def test_a_meta_campaign_in_both_reads_lands_once(http):
    page = fixture("meta_campaigns_page.json")
    session = FakeSession(reply(body=page), reply(body=page), reply(body=EMPTY), reply(body=EMPTY))
    campaigns = [r for p in run_meta(session, http) if p.entity == "meta_campaigns" for r in p.records]
    assert [r["campaign_id"] for r in campaigns] == [23851234567890123, 23851234567890456]


def test_a_meta_ad_set_with_a_malformed_audience_list_fails_naming_the_ad_set(http):
    bad = {"data": [{"id": "1", "campaign_id": "2", "targeting": {"custom_audiences": ["23850000000000001"]}}]}
    session = FakeSession(reply(body=EMPTY), reply(body=EMPTY), reply(body=bad))
    with pytest.raises(ValueError, match=r"ad set 1: targeting.custom_audiences is not a list"):
        run_meta(session, http)


def test_google_reads_campaign_settings_and_user_list_criteria_with_gaql(http):
    session = FakeSession(reply(body=fixture("google_ads_campaigns_stream.json")),
                          reply(body=fixture("google_ads_user_list_criteria_stream.json")))
    pages = {p.entity: p.records for p in run_google(session, http)}
    first, second = (s.json["query"] for s in session.sent)
    assert "campaign.advertising_channel_type" in first and "FROM campaign " in first
    assert "FROM campaign_criterion WHERE campaign_criterion.type = 'USER_LIST'" in second
    assert all(s.url.endswith("/v26/customers/9876543210/googleAds:searchStream") for s in session.sent)
    assert pages["google_ads_campaigns"] == [
        {"customer_id": 9876543210, "campaign_id": 17123456789, "campaign_name": "Brand - Search",
         "status": "ENABLED", "advertising_channel_type": "SEARCH", "advertising_channel_sub_type": None,
         "bidding_strategy_type": "TARGET_IMPRESSION_SHARE"},
        {"customer_id": 9876543210, "campaign_id": 17123456791, "campaign_name": "Display - remarketing",
         "status": "PAUSED", "advertising_channel_type": "DISPLAY",
         "advertising_channel_sub_type": "DISPLAY_SMART_CAMPAIGN", "bidding_strategy_type": "MAXIMIZE_CONVERSIONS"},
    ]
    # proto3 JSON leaves out negative=false: the first criterion targets its list, the second excludes one.
    assert pages["google_ads_campaign_criteria"] == [
        {"customer_id": 9876543210, "campaign_id": 17123456791, "criterion_id": 382917465,
         "criterion_type": "USER_LIST", "status": "ENABLED",
         "user_list": "customers/9876543210/userLists/6543219870", "negative": False},
        {"customer_id": 9876543210, "campaign_id": 17123456789, "criterion_id": 382917466,
         "criterion_type": "USER_LIST", "status": "ENABLED",
         "user_list": "customers/9876543210/userLists/6543219871", "negative": True},
    ]


def test_a_google_criterion_without_ids_fails_naming_it(http):
    bad = [{"results": [{"campaignCriterion": {"type": "USER_LIST"}}]}]
    session = FakeSession(reply(body=[{"results": []}]), reply(body=bad))
    with pytest.raises(ValueError, match="campaign.id or campaign_criterion.criterion_id is missing"):
        run_google(session, http)
