"""The activation DAGs' task bodies and wiring, loaded in-process: an invalid sync declaration fails its own task
only, and the stock push waits for a successful build of the listing feed's whole chain."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dag_of(name: str):
    spec = importlib.util.spec_from_file_location(f"dag_{name}", ROOT / "dags" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


@pytest.fixture()
def syncs_with_a_broken_stock_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from narrowcast.activation import spec

    folder = tmp_path / "syncs"
    shutil.copytree(spec.SYNCS_DIR, folder)
    text = (folder / "stock_ebay.yml").read_text()
    (folder / "stock_ebay_eu.yml").write_text(text.replace("batch_size: 25", "batch_size: 2500"))
    monkeypatch.setattr(spec, "SYNCS_DIR", folder)
    monkeypatch.setenv("NARROWCAST_DATA_DIR", str(tmp_path / "data"))
    # The merchant has every stock destination connected (a sync without its connection is skipped).
    for conn_id in ("narrowcast_ebay", "narrowcast_amazon", "narrowcast_shopify", "narrowcast_etsy"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", '{"conn_type": "https", "host": "api.example.com"}')
    return folder


def test_the_invalid_sync_is_a_failed_task_with_its_file_and_key_and_the_others_still_run(
        syncs_with_a_broken_stock_sync, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from narrowcast import settings
    from narrowcast.alerts import send_alert
    from narrowcast_airflow.notifiers import alert_from_context

    dag = dag_of("activate_inventory")
    # GIVEN the inventory DAG's list of syncs to map over
    ids = dag.get_task("inventory_syncs").python_callable()
    assert ids == ["shipments_amazon", "shipments_ebay", "shipments_etsy", "stock_amazon", "stock_ebay",
                   "stock_ebay_eu", "stock_etsy", "stock_shop"]
    sent = []
    monkeypatch.setattr("narrowcast.activation.run_sync",
                        lambda spec, **kw: sent.append(spec.id) or SimpleNamespace(as_dict=lambda: {}))
    # WHEN each mapped task runs
    sync = dag.get_task("sync").python_callable
    failures = {}
    for sync_id in ids:
        try:
            sync(sync_id)
        except AirflowFailException as exc:  # fails the task without its retries
            failures[sync_id] = exc
    # THEN the valid syncs ran and the invalid one failed, naming its file and key
    assert sent == ["shipments_amazon", "shipments_ebay", "shipments_etsy", "stock_amazon", "stock_ebay", "stock_etsy",
                    "stock_shop"]
    message = str(failures["stock_ebay_eu"])
    assert "stock_ebay_eu.yml: key 'batch_size'" in message and "disabled" in message
    # AND the failure alert (what the DAG's failure callback sends) names them too
    ti = SimpleNamespace(dag_id="activate_inventory", task_id="sync", run_id="r1", map_index=5, try_number=1,
                         max_tries=2)
    send_alert(alert_from_context({"ti": ti, "exception": failures["stock_ebay_eu"]}))
    (line,) = settings.paths().alerts.read_text().splitlines()
    assert "stock_ebay_eu.yml: key 'batch_size'" in json.loads(line)["reason"]


def test_the_inventory_build_refreshes_every_model_an_inventory_sync_reads():
    from narrowcast.activation.spec import read_syncs
    from narrowcast_airflow.dbt_selections import INVENTORY_BUILD, INVENTORY_MODELS

    declared = read_syncs()
    enabled, invalid = declared.in_group("inventory")
    assert not invalid
    # the paused ones too: enabling a sync must not leave it reading a table only the daily transform refreshes
    every = [spec for spec in declared.specs if spec.schedule == "inventory"]
    assert {spec.model for spec in every} == set(INVENTORY_MODELS) and len(every) > len(enabled)
    assert {f"+{model}" for model in INVENTORY_MODELS} <= set(INVENTORY_BUILD)


def test_the_stock_push_runs_only_after_the_feed_and_its_inputs_built_successfully():
    from narrowcast_airflow.dbt_selections import INVENTORY_BUILD

    dag = dag_of("activate_inventory")
    refresh = dag.get_task("refresh_listing_feed")
    # the listing feed is rebuilt with every model upstream of it, not alone
    assert f"build {' '.join(INVENTORY_BUILD)} --project-dir" in refresh.bash_command
    assert "+marketplace_listing_feed" in INVENTORY_BUILD
    # every push is downstream of that build and needs all its upstream tasks to have succeeded
    for task_id in ("inventory_syncs", "sync"):
        task = dag.get_task(task_id)
        assert "refresh_listing_feed" in task.get_flat_relative_ids(upstream=True)
        assert task.trigger_rule == "all_success"


@pytest.mark.parametrize(("conf", "confirmed"), [
    pytest.param({}, False, id="unconfirmed-run-fails-without-retries"),
    pytest.param({"confirm_removals": ["stock_ebay"]}, True, id="run-conf-naming-the-sync-confirms-it"),
    pytest.param({"confirm_removals": ["stock_shop"]}, False, id="run-conf-naming-another-sync-does-not"),
    pytest.param({"confirm_removals": True}, True, id="run-conf-true-confirms-every-sync"),
])
def test_a_refused_mirror_run_fails_the_task_at_once_unless_the_run_conf_confirms_it(conf, confirmed, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from narrowcast.activation.report import RemovalsNotConfirmed

    def guarded_run(spec, *, confirm_removals, **_):
        if not confirm_removals:
            raise RemovalsNotConfirmed(f"sync {spec.id}: refused: 30 of 100 members planned for removal")
        return SimpleNamespace(as_dict=lambda: {"status": "success"})

    monkeypatch.setattr("narrowcast.activation.run_sync", guarded_run)
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_EBAY", '{"conn_type": "https", "host": "api.ebay.com"}')
    sync = dag_of("activate_inventory").get_task("sync").python_callable
    dag_run = SimpleNamespace(conf=conf)
    if confirmed:
        assert sync("stock_ebay", dag_run=dag_run) == {"status": "success"}
    else:
        with pytest.raises(AirflowFailException, match="sync stock_ebay: refused: 30 of 100"):
            sync("stock_ebay", dag_run=dag_run)
