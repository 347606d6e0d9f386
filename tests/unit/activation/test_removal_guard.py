"""The mirror removal guard: a run that would remove too many of a destination's members sends nothing until confirmed."""

from __future__ import annotations

import pytest
import requests
from activation_fixtures import audience_rows, audience_sync

from narrowcast import settings
from narrowcast.activation import SyncConfigError, SyncFailed, run_group, run_sync
from narrowcast.activation.report import RemovalsNotConfirmed


def klaviyo_calls(sandbox) -> int:
    return requests.get(f"{sandbox.url}/_sandbox/stats/klaviyo", timeout=5).json()["requests"]


@pytest.fixture()
def synced_list(emulators, connections, warehouse):
    """A Klaviyo list mirror sync whose 10 members are confirmed by a first run."""
    warehouse.replace("audience_members", audience_rows("win_back", range(10)))
    run_sync(audience_sync("klaviyo", "win_back"), connections=connections, warehouse=warehouse.path)
    assert emulators["klaviyo"].snapshot()["lists"]["LIST1"] == [str(i) for i in range(10)]
    return audience_sync("klaviyo", "win_back")


def state_rows(warehouse) -> list[tuple]:
    return warehouse.query("select record_key, payload_hash from activation.sync_state order by record_key")


def test_a_filter_typo_that_empties_the_list_is_refused_and_sends_nothing(sandbox, emulators, connections, warehouse,
                                                                          synced_list):
    # GIVEN a confirmed list of 10 members and its state
    state_before, calls_before = state_rows(warehouse), klaviyo_calls(sandbox)
    # WHEN the filter value is mistyped, so every member looks like a leaver
    typo = audience_sync("klaviyo", "win_back", filter={"audience_id": "winback"})
    with pytest.raises(RemovalsNotConfirmed) as refused:
        run_sync(typo, connections=connections, warehouse=warehouse.path)
    # THEN the run fails naming the sync, the counts, the threshold and how to confirm
    message = str(refused.value)
    assert "test_klaviyo_win_back" in message
    assert "10 of 10 members planned for removal (100.0% > max_remove_share 20.0%)" in message
    assert "--confirm-removals" in message and '{"confirm_removals": ["test_klaviyo_win_back"]}' in message
    # AND nothing reached Klaviyo, the state is unchanged, and the run log says why
    assert klaviyo_calls(sandbox) == calls_before
    assert emulators["klaviyo"].snapshot()["lists"]["LIST1"] == [str(i) for i in range(10)]
    assert state_rows(warehouse) == state_before
    status, removes, error = warehouse.query(
        "select status, planned_removes, error from activation.sync_runs order by started_at desc limit 1")[0]
    assert (status, removes) == ("refused", 10) and "--confirm-removals" in error
    assert refused.value.report is not None and refused.value.report.status == "refused"


def test_a_confirmed_run_removes_the_members(emulators, connections, warehouse, synced_list):
    typo = audience_sync("klaviyo", "win_back", filter={"audience_id": "winback"})
    report = run_sync(typo, connections=connections, warehouse=warehouse.path, confirm_removals=True)
    assert (report.status, report.planned_removes, report.accepted) == ("success", 10, 10)
    assert emulators["klaviyo"].snapshot()["lists"]["LIST1"] == []
    assert state_rows(warehouse) == []


def test_a_dry_run_reports_the_guard_numbers_without_failing(sandbox, connections, warehouse, synced_list):
    calls_before = klaviyo_calls(sandbox)
    typo = audience_sync("klaviyo", "win_back", filter={"audience_id": "winback"})
    report = run_sync(typo, connections=connections, warehouse=warehouse.path, dry_run=True)
    assert (report.status, report.members, report.planned_removes) == ("planned", 10, 10)
    assert (report.remove_share, report.max_remove_share, report.removals_need_confirmation) == (1.0, 0.2, True)
    assert "needs confirmation: 10 of 10 members planned for removal (100.0% > max_remove_share 20.0%)" in (
        report.summary())
    assert klaviyo_calls(sandbox) == calls_before


@pytest.mark.parametrize(("overrides", "refused"), [
    pytest.param({}, True, id="three-of-ten-exceeds-the-default-20-percent"),
    pytest.param({"max_remove_share": 0.5}, False, id="a-sync-may-allow-a-larger-share-in-its-yaml"),
])
def test_the_limit_is_per_sync_with_a_global_default(overrides, refused, emulators, connections, warehouse, synced_list):
    warehouse.replace("audience_members", audience_rows("win_back", range(3, 10)))
    spec = audience_sync("klaviyo", "win_back", **overrides)
    if refused:
        with pytest.raises(RemovalsNotConfirmed, match=r"3 of 10 members .*30.0% > max_remove_share 20.0%"):
            run_sync(spec, connections=connections, warehouse=warehouse.path)
    else:
        assert run_sync(spec, connections=connections, warehouse=warehouse.path).accepted == 3
    assert len(emulators["klaviyo"].snapshot()["lists"]["LIST1"]) == (10 if refused else 7)


def test_removals_up_to_the_limit_run_unconfirmed_and_the_global_setting_moves_the_limit(monkeypatch, connections,
                                                                                         warehouse, synced_list):
    warehouse.replace("audience_members", audience_rows("win_back", range(2, 10)))
    # 2 of 10 is exactly the default limit: allowed
    assert run_sync(synced_list, connections=connections, warehouse=warehouse.path).planned_removes == 2
    monkeypatch.setattr(settings, "MAX_REMOVE_SHARE", 0.1)
    warehouse.replace("audience_members", audience_rows("win_back", range(4, 10)))
    with pytest.raises(RemovalsNotConfirmed, match=r"2 of 8 members .*25.0% > max_remove_share 10.0%"):
        run_sync(synced_list, connections=connections, warehouse=warehouse.path)


def test_a_group_run_confirms_only_the_named_syncs(tmp_path, emulators, connections, warehouse):
    # GIVEN two mirror syncs of one group whose members all leave
    warehouse.replace("audience_members", audience_rows("win_back", range(5)) + audience_rows("champions", range(5)))
    for name, audience, list_id in (("first", "win_back", "LIST1"), ("second", "champions", "LIST2")):
        (tmp_path / f"{name}.yml").write_text(
            f"model: audience_members\nfilter: {{audience_id: {audience}}}\ndestination: klaviyo\n"
            f"connection: narrowcast_klaviyo\nobject: list_members\ntarget: {{list_id: {list_id}}}\nmode: mirror\n"
            "key: customer_id\nfields: {email: email, external_id: customer_id}\npii: [email]\n"
            "schedule: audiences\n")
    run_group("audiences", connections=connections, warehouse=warehouse.path, syncs_dir=tmp_path)
    warehouse.replace("audience_members", [])
    # WHEN only the first is confirmed
    with pytest.raises(SyncFailed, match="sync second: refused") as failed:
        run_group("audiences", connections=connections, warehouse=warehouse.path, syncs_dir=tmp_path,
                  confirm_removals=["first"])
    # THEN the first is emptied and the second keeps its members
    assert "sync first" not in str(failed.value)
    lists = emulators["klaviyo"].snapshot()["lists"]
    assert (lists["LIST1"], len(lists["LIST2"])) == ([], 5)


@pytest.mark.parametrize("value", [
    pytest.param(1.5, id="more-than-every-member"),
    pytest.param(-0.1, id="negative"),
    pytest.param("20%", id="a-percent-string"),
])
def test_an_invalid_max_remove_share_names_the_key(value):
    with pytest.raises(SyncConfigError, match="key 'max_remove_share'"):
        audience_sync("klaviyo", max_remove_share=value)


def test_max_remove_share_is_read_from_the_declaration():
    assert audience_sync("klaviyo", max_remove_share=0.35).max_remove_share == 0.35
    assert audience_sync("klaviyo").max_remove_share is None  # None: settings.MAX_REMOVE_SHARE applies
