"""Sync declarations: the shipped YAML loads, every sync is a dbt exposure, and bad declarations fail at load
time naming the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from narrowcast.activation import SyncConfigError, load_syncs
from narrowcast.activation.spec import SYNCS_DIR
from narrowcast.settings import PROJECT_ROOT

EXPOSURES = PROJECT_ROOT / "dbt_project" / "models" / "exposures" / "_activation__exposures.yml"
# The column of each audience model that says a row may go to ad platforms, or be e-mailed.
AD_CONSENT_COLUMN = {"audience_members": "consent_ads", "partner_audience_members": "may_advertise"}
EMAIL_CONSENT_COLUMN = {"audience_members": "consent_email", "partner_audience_members": "may_email"}
VALID: dict[str, Any] = {
    "model": "audience_members", "destination": "meta_audiences", "connection": "narrowcast_meta",
    "object": "custom_audience", "target": {"audience_id": "1"}, "key": "customer_id",
    "fields": {"EMAIL": "email_sha256"}, "schedule": "audiences",
}


def test_the_shipped_syncs_load_and_cover_every_default_activation():
    syncs = {s.id: s for s in load_syncs()}
    assert set(syncs) >= {
        "partner_awin_meta", "partner_awin_klaviyo_list", "abandoned_cart_klaviyo_list", "abandoned_cart_klaviyo_event", "rfm_champions_loyal_meta",
        "rfm_at_risk_google", "rfm_at_risk_klaviyo", "rfm_at_risk_klaviyo_event", "cross_sell_meta", "lapsed_google", "geo_meta",
        "stock_ebay", "stock_amazon", "stock_shop",
    }
    # ad-platform audiences are mirrored (so opted-out customers are removed), never include the holdout, and send
    # only rows whose model says they may be advertised to
    for spec in syncs.values():
        if spec.destination in ("meta_audiences", "google_audiences", "google_customer_match"):
            assert spec.mode == "mirror" and spec.filter.get("is_holdout") is False, spec.id
            assert spec.filter.get(AD_CONSENT_COLUMN[spec.model]) is True, spec.id
        if spec.destination == "klaviyo" and spec.model in EMAIL_CONSENT_COLUMN:
            assert spec.filter.get(EMAIL_CONSENT_COLUMN[spec.model]) is True, spec.id
    assert {s.schedule for s in syncs.values() if s.model == "marketplace_listing_feed"} == {"inventory"}
    # Google audiences go through the Data Manager API: the Google Ads API route is closed to new adopters
    assert {syncs[i].destination for i in ("lapsed_google", "rfm_at_risk_google")} == {"google_audiences"}


def test_every_sync_is_declared_as_a_dbt_exposure_on_the_mart_it_reads():
    exposures = {e["name"]: e for e in yaml.safe_load(EXPOSURES.read_text())["exposures"]}
    syncs = load_syncs()
    assert set(exposures) == {s.id for s in syncs}
    for spec in syncs:
        assert exposures[spec.id]["depends_on"] == [f"ref('{spec.model}')"]
        assert exposures[spec.id]["config"]["meta"]["destination"] == spec.destination


def write(folder: Path, name: str, body: dict[str, Any]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(body))
    return path


@pytest.mark.parametrize(("change", "key", "problem"), [
    pytest.param({"destination": "tiktok"}, "destination", "'tiktok' is unknown", id="unknown-destination"),
    pytest.param({"mode": "sometimes"}, "mode", "must be one of upsert, mirror, add_only", id="unknown-mode"),
    pytest.param({"batch_size": 20_000}, "batch_size", "exceeds the meta_audiences limit of 10000", id="batch-too-big"),
    pytest.param({"schedule": "hourly"}, "schedule", "must be one of audiences, inventory", id="unknown-schedule"),
    pytest.param({"fields": {"EMAIL": "email sha"}}, "fields.EMAIL", "is not a column name", id="bad-column"),
    pytest.param({"fields": {"SHOE_SIZE": "x"}}, "fields.SHOE_SIZE", "is not a field", id="unknown-field"),
    pytest.param({"target": {}}, "target", "exactly one of audience_id", id="missing-target"),
    pytest.param({"key": None}, "key", "is required", id="missing-key"),
    pytest.param({"rate_limit": {"rps": 0}}, "rate_limit.rps", "must be a number > 0", id="zero-rps"),
    pytest.param({"rate_limit": {"concurrency": 50}}, "rate_limit.concurrency", "1..4", id="too-concurrent"),
    pytest.param({"filter": {"audience_id": {"regex": "x"}}}, "filter.audience_id", "{like:", id="bad-filter"),
    pytest.param({"colour": "blue"}, "colour", "unknown key", id="unknown-key"),
    pytest.param({"pii": ["email"]}, "pii", "must list destination fields", id="pii-not-a-field"),
])
def test_an_invalid_declaration_fails_at_load_naming_file_key_and_problem(tmp_path, change, key, problem):
    path = write(tmp_path / "syncs", "broken_sync", {**VALID, **change})
    with pytest.raises(SyncConfigError) as error:
        load_syncs(path.parent)
    message = str(error.value)
    assert str(path) in message and f"key {key!r}" in message and problem in message


def test_klaviyo_list_members_need_email_and_external_id(tmp_path):
    body = {**VALID, "destination": "klaviyo", "connection": "narrowcast_klaviyo", "object": "list_members",
            "target": {"list_id": "L"}, "fields": {"email": "email"}}
    with pytest.raises(SyncConfigError, match=r"key 'fields': klaviyo/list_members needs field\(s\) external_id"):
        load_syncs(write(tmp_path / "syncs", "k", body).parent)


def test_two_files_declaring_the_same_id_are_refused(tmp_path):
    write(tmp_path / "syncs", "a", {**VALID, "id": "same"})
    write(tmp_path / "syncs", "b", {**VALID, "id": "same"})
    with pytest.raises(SyncConfigError, match="id 'same' is already declared"):
        load_syncs(tmp_path / "syncs")


def test_the_shipped_folder_is_the_default():
    assert SYNCS_DIR == PROJECT_ROOT / "include" / "syncs" and load_syncs() == load_syncs(SYNCS_DIR)
