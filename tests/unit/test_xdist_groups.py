"""The parallel test run keeps the tests of an expensive session fixture, of the DAG folder and of a module together."""

from __future__ import annotations

from xdist_groups import work_group


def test_every_test_of_the_dbt_fixture_warehouse_runs_on_one_worker_wherever_it_lives():
    assert work_group("tests/dbt/test_a.py::test_x", ["request", "built_warehouse"]) == "dbt-fixture-warehouse"
    assert work_group("tests/unit/other/test_b.py::test_y", ["built_warehouse"]) == "dbt-fixture-warehouse"


def test_the_tests_of_the_demo_pipeline_and_of_the_dag_folder_share_one_worker():
    assert work_group("tests/e2e/test_pipeline_e2e.py::test_x", ["sandbox", "pipeline"]) == "dag-folder"
    assert work_group("tests/e2e/test_rest_api.py::test_y", ["airflow_standalone", "pipeline"]) == "dag-folder"
    assert work_group("tests/dags/test_dag_integrity.py::test_y[extract_shop]", []) == "dag-folder"
    # An e2e module with its own data dir and dbt target runs on its own.
    assert work_group("tests/e2e/test_merchant_variants.py::test_z", ["emulators"]) == \
        "tests/e2e/test_merchant_variants.py"


def test_any_other_test_runs_with_the_rest_of_its_module():
    assert work_group("tests/unit/test_alerts.py::test_x[a]", ["tmp_path"]) == "tests/unit/test_alerts.py"
    assert work_group("tests/dbt/test_postgres_parity.py::test_y", []) == "tests/dbt/test_postgres_parity.py"
