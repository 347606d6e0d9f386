"""An invalid sync declaration disables that sync alone: the others load and run, the bad one is named with its key."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from activation_fixtures import audience_rows

from narrowcast.activation import SyncConfigError, SyncFailed, run_group
from narrowcast.activation.__main__ import main
from narrowcast.activation.engine import resolve
from narrowcast.activation.spec import SYNCS_DIR, load_syncs, read_syncs

BAD_MODE = SYNCS_DIR / "rfm_champions_loyal_meta.yml"


@pytest.fixture()
def syncs(tmp_path: Path) -> Path:
    """The project's declarations plus one audience sync with a mistyped mode and one file that is not YAML."""
    folder = tmp_path / "syncs"
    shutil.copytree(SYNCS_DIR, folder)
    (folder / "champions_typo.yml").write_text(BAD_MODE.read_text().replace("mode: mirror", "mode: mirorr"))
    (folder / "half_saved.yml").write_text("model: audience_members\nfilter: {audience_id: [vip\n")
    return folder


def test_the_other_declarations_load_and_the_invalid_ones_are_named_with_file_and_key(syncs):
    declarations = read_syncs(syncs)
    # THEN every project sync is still there, stock pushes included
    assert [s.id for s in declarations.specs] == [s.id for s in load_syncs(SYNCS_DIR)]
    assert {"stock_ebay", "stock_amazon", "stock_shop"} <= {s.id for s in declarations.specs}
    typo, half_saved = declarations.invalid
    assert (typo.id, typo.schedule, typo.path) == ("champions_typo", "audiences", syncs / "champions_typo.yml")
    assert str(typo.error).startswith(f"{syncs / 'champions_typo.yml'}: key 'mode': 'mirorr'")
    assert (half_saved.id, half_saved.schedule) == ("half_saved", None)
    assert "half_saved.yml: not valid YAML" in str(half_saved.error)


def test_an_invalid_declaration_shows_in_its_own_group_and_an_unreadable_one_in_every_group(syncs):
    declarations = read_syncs(syncs)
    inventory_specs, inventory_invalid = declarations.in_group("inventory")
    assert [s.id for s in inventory_specs] == ["shipments_amazon", "shipments_ebay", "shipments_etsy", "stock_amazon",
                                               "stock_ebay", "stock_etsy", "stock_shop"]
    assert [i.id for i in inventory_invalid] == ["half_saved"]
    assert [i.id for i in declarations.in_group("audiences")[1]] == ["champions_typo", "half_saved"]


def test_a_valid_sync_resolves_and_an_invalid_one_raises_its_own_error(syncs):
    assert resolve("stock_ebay", syncs).id == "stock_ebay"
    with pytest.raises(SyncConfigError, match="champions_typo.yml: key 'mode'"):
        resolve("champions_typo", syncs)


def test_the_strict_loader_still_refuses_an_invalid_folder(syncs):
    with pytest.raises(SyncConfigError, match="champions_typo.yml: key 'mode'"):
        load_syncs(syncs)


def test_a_group_run_sends_the_valid_syncs_and_then_fails_naming_the_invalid_one(tmp_path, emulators, connections,
                                                                                  warehouse):
    # GIVEN a valid Meta audience sync beside one whose mode is mistyped
    folder = tmp_path / "syncs"
    folder.mkdir()
    body = ("model: audience_members\nfilter: {audience_id: champions}\ndestination: meta_audiences\n"
            "connection: narrowcast_meta\nobject: custom_audience\ntarget: {audience_id: '2385000001'}\n"
            "key: customer_id\nfields: {EMAIL: email_sha256}\nschedule: audiences\n")
    (folder / "champions_meta.yml").write_text(body + "mode: mirror\n")
    (folder / "broken_meta.yml").write_text(body + "mode: mirorr\n")
    warehouse.replace("audience_members", audience_rows("champions", range(5)))
    # WHEN the group runs
    with pytest.raises(SyncFailed, match=r"sync broken_meta is disabled: .*broken_meta.yml: key 'mode'"):
        run_group("audiences", connections=connections, warehouse=warehouse.path, syncs_dir=folder)
    # THEN the valid sync was sent all the same
    assert len(emulators["meta_audiences"].snapshot()["audiences"]["2385000001"]) == 5


def test_sync_list_shows_the_invalid_declarations_with_their_reason(syncs, capsys):
    assert main(["list", "--syncs", str(syncs)]) == 0
    out = capsys.readouterr().out
    assert "stock_ebay" in out
    assert "champions_typo" in out and "invalid, not run:" in out and "key 'mode'" in out


def test_running_an_invalid_sync_by_id_exits_2_naming_the_file_and_key(syncs, capsys, tmp_path):
    assert main(["run", "champions_typo", "--dry-run", "--syncs", str(syncs),
                 "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "champions_typo.yml: key 'mode'" in capsys.readouterr().err


def test_a_group_run_skips_the_syncs_whose_destination_is_not_connected_and_runs_the_others(
        tmp_path, emulators, connections, warehouse, monkeypatch, capsys):
    # GIVEN two audience syncs, Meta and Klaviyo, and only the Meta connection set
    folder = tmp_path / "syncs"
    folder.mkdir()
    body = ("model: audience_members\nfilter: {audience_id: champions}\nkey: customer_id\nschedule: audiences\n"
            "mode: mirror\n")
    (folder / "champions_meta.yml").write_text(
        body + "destination: meta_audiences\nconnection: narrowcast_meta\nobject: custom_audience\n"
               "target: {audience_id: '2385000001'}\nfields: {EMAIL: email_sha256}\n")
    (folder / "champions_klaviyo.yml").write_text(
        body + "destination: klaviyo\nconnection: narrowcast_klaviyo\nobject: list_members\ntarget: {list_id: 'Xk1'}\n"
               "fields: {email: email, external_id: customer_id}\n")
    warehouse.replace("audience_members", audience_rows("champions", range(5)))
    for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(name)
    meta = connections["narrowcast_meta"]
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_META", json.dumps(
        {"host": meta.base_url, "password": meta.password, "extra": meta.extra}))
    # WHEN the group runs from the command line
    code = main(["run", "--group", "audiences", "--syncs", str(folder), "--warehouse", str(warehouse.path)])
    # THEN the Klaviyo sync is skipped with the fix named, and the Meta one is sent
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured.err
    assert ("skipped: sync champions_klaviyo: destination klaviyo not connected: set connection narrowcast_klaviyo "
            "(AIRFLOW_CONN_NARROWCAST_KLAVIYO or the Airflow UI)") in out
    assert "champions_meta: success;" in out
    assert len(emulators["meta_audiences"].snapshot()["audiences"]["2385000001"]) == 5
