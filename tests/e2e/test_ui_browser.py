"""Headless Chromium through the real Airflow UI: log in, see the project's DAGs, open the dashboard and dbt docs.

Screenshots go to ``test-output/`` so a human can look at what the marketer sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from os_packages import CHROMIUM_ARGS, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
DOCS_ARTIFACTS = ("index.html", "manifest.json", "catalog.json")
CHART_IDS = [
    "chart-roas", "chart-roi", "chart-cac", "chart-budget", "chart-funnel", "chart-rfm",
    "chart-recommendations", "chart-listings", "chart-syncs",
]
# The docs page of one mart: its name, a column and the grain its description states must all render.
DOCS_MODEL = "customer_rfm"
DOCS_MODEL_TEXT = ("customer_rfm", "rfm_segment", "Grain: one row per customer")


@pytest.fixture(scope="module")
def dbt_docs_site(demo_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dbt docs generate`` on the demo warehouse, as ``make docs`` does, into the target the plugin serves.

    dbt writes into a scratch target; only the three files the docs app reads are moved into place, each by an
    atomic rename, so the served site is never half-written.
    """
    scratch = tmp_path_factory.mktemp("dbt_docs")
    env = {**os.environ, "NARROWCAST_WAREHOUSE": str(demo_data_dir / "warehouse" / "narrowcast.duckdb"),
           "NARROWCAST_DBT_TARGET": "duckdb", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "docs", "generate", "--project-dir", str(DBT_PROJECT),
         "--profiles-dir", str(DBT_PROJECT), "--target-path", str(scratch), "--log-path", str(scratch / "logs")],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    served = DBT_PROJECT / "target"
    served.mkdir(exist_ok=True)
    for name in DOCS_ARTIFACTS:
        staged = served / f".{name}.partial"
        staged.write_bytes((scratch / name).read_bytes())
        os.replace(staged, served / name)
    return served


@pytest.fixture(scope="module")
def page(airflow_standalone) -> Iterator:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        # Log in once through the simple auth manager's form; the session cookie serves every test.
        page.goto(f"{airflow_standalone.base_url}/")
        page.wait_for_selector("input[name=username]")
        page.fill("input[name=username]", airflow_standalone.username)
        page.fill("input[name=password]", airflow_standalone.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/auth/login" not in url)
        yield page
        browser.close()


def test_every_project_dag_is_listed_without_import_errors(page, airflow_standalone, parsed_dags, project_dag_ids,
                                                           test_output: Path):
    assert project_dag_ids, "no dag_id found in dags/"
    assert parsed_dags["import_errors"] == [], parsed_dags["import_errors"]
    listed = {dag["dag_id"] for dag in parsed_dags["dags"]}
    assert set(project_dag_ids) <= listed

    page.goto(f"{airflow_standalone.base_url}/dags")
    for dag_id in project_dag_ids:
        page.get_by_text(dag_id, exact=True).first.wait_for()
    page.screenshot(path=str(test_output / "ui_dags.png"), full_page=True)


def test_the_dashboard_renders_every_chart_with_data_inside_the_airflow_ui(page, airflow_standalone, test_output: Path):
    page.goto(f"{airflow_standalone.base_url}/plugin/narrowcast-dashboard")
    frame_element = page.wait_for_selector("iframe[src*='/narrowcast/']")
    frame = frame_element.content_frame()
    assert frame is not None

    frame.wait_for_selector("body[data-loaded=true]")
    points = {chart: int(frame.get_attribute(f"#{chart}", "data-points") or 0) for chart in CHART_IDS}
    assert all(n > 0 for n in points.values()), points
    assert frame.is_hidden("#empty") and frame.is_hidden("#error")
    page.screenshot(path=str(test_output / "ui_dashboard.png"), full_page=True)
    frame_element.screenshot(path=str(test_output / "ui_dashboard_frame.png"))

    # A filter change redraws from the API: one channel, one month
    frame.fill("#f-start", "2026-08-01")
    frame.fill("#f-end", "2026-08-31")
    frame.select_option("#f-channel", "paid_social")
    frame.click("button[type=submit]")
    frame.wait_for_function("document.querySelector('#range-note').textContent.includes('2026-08-01 to 2026-08-31')")
    assert int(frame.get_attribute("#chart-roas", "data-points")) == 31  # one point per day of August


def test_the_whole_dashboard_page_for_a_screenshot(page, airflow_standalone, test_output: Path):
    # The page inside the frame scrolls on its own; open it directly (same login cookie) to capture all of it.
    page.goto(f"{airflow_standalone.base_url}/narrowcast/")
    page.wait_for_selector("body[data-loaded=true]")

    assert page.is_hidden("#empty")
    page.screenshot(path=str(test_output / "dashboard_full.png"), full_page=True)


def test_the_dbt_docs_view_renders_a_mart_page_inside_the_airflow_ui(page, airflow_standalone, dbt_docs_site: Path,
                                                                      test_output: Path):
    # GIVEN dbt docs generated on the demo warehouse
    assert all((dbt_docs_site / name).is_file() for name in DOCS_ARTIFACTS)

    # WHEN the Docs view of the Airflow UI opens and the docs app inside it navigates to a mart
    page.goto(f"{airflow_standalone.base_url}/plugin/narrowcast-dbt-docs")
    frame = page.wait_for_selector("iframe[src*='/narrowcast/dbt-docs/']").content_frame()
    assert frame is not None
    # The iframe starts as about:blank: wait for its own document, then for dbt's docs app, which keeps <body>
    # hidden until it has loaded manifest.json and catalog.json (slow on a busy machine) and then routes to its
    # overview. A route set before that is overwritten.
    frame.wait_for_url("**/narrowcast/dbt-docs/**")
    assert "make docs" not in frame.inner_text("body"), "the plugin served the 'docs not generated' page"
    frame.wait_for_function(
        "getComputedStyle(document.body).display !== 'none' && document.body.innerText.includes('Overview')",
        timeout=180_000,
    )
    frame.evaluate(f"window.location.hash = '#!/model/model.narrowcast.{DOCS_MODEL}'")

    # THEN the model's page renders its name, its grain and its columns
    frame.wait_for_function(
        "texts => getComputedStyle(document.body).display !== 'none'"
        " && texts.every(t => document.body.innerText.includes(t))",
        arg=list(DOCS_MODEL_TEXT), timeout=180_000,
    )
    page.screenshot(path=str(test_output / "ui_dbt_docs.png"), full_page=True)
