"""``narrowcast serve``: issuing an API key and exporting the profile snapshot from a warehouse file."""

from __future__ import annotations

import json

import duckdb

from narrowcast.cli import main as narrowcast
from narrowcast.serve.api_keys import digest, load_keys
from narrowcast.serve.profile_snapshot import ProfileSnapshot, snapshot_path


def test_a_new_api_key_is_printed_once_and_stored_only_as_its_digest(tmp_path, capsys):
    keys_file = tmp_path / "api_keys.json"
    assert narrowcast(["serve", "new-api-key", "--client", "storefront", "--source", "shop", "--rate", "5",
                       "--keys-file", str(keys_file)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("ncp_") and token not in keys_file.read_text()
    (key,) = load_keys({"NARROWCAST_PROFILE_API_KEYS_FILE": str(keys_file)}).items()
    assert key[0] == digest(token) and key[1].client == "storefront" and key[1].sources == {"shop"}


def test_export_profiles_reads_the_warehouse_file_without_a_discount_code_table(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "narrowcast.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""create table customer_rfm as select '42' as customer_id, 'Champions' as rfm_segment,
            '555' as rfm_score, 5 as r_score, 5 as f_score, 5 as m_score, 1 as recency_days, 9 as frequency,
            900.00::decimal(18,2) as monetary, 100.00::decimal(18,2) as avg_order_value,
            timestamp '2026-12-01 10:00:00' as last_order_at""")
        con.execute("create table customer_segments as select '42' as customer_id, 'vip' as segment")
        con.execute("""create table customer_recommendations as select '42' as customer_id, 1 as rank,
            'SKU-1' as sku, 'Mug' as product_title, 'kitchen' as category, 'upsell' as kind, 1.0::double as score""")
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(warehouse))
    assert narrowcast(["serve", "export-profiles"]) == 0
    assert "1 customers" in capsys.readouterr().out
    found = ProfileSnapshot(snapshot_path(tmp_path)).lookup("42")
    assert json.loads(found.profile)["segments"] == ["vip"] and found.discounts is None
    assert not found.known_to("shop"), "without customer_identity_links no source is known"


def test_an_unknown_serve_command_prints_the_commands(capsys):
    assert narrowcast(["serve", "nonsense"]) == 2
    assert "export-profiles" in capsys.readouterr().out


def test_export_profiles_without_a_warehouse_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NARROWCAST_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    assert narrowcast(["serve", "export-profiles"]) == 2
    assert "make demo" in capsys.readouterr().err
