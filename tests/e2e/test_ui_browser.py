"""Headless Chromium through the real Airflow UI: log in, see the project's DAGs, open the dashboard and dbt docs.

Screenshots go to ``test-output/`` so a human can look at what the marketer sees.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
CHART_IDS = [
    "chart-roas", "chart-roi", "chart-cac", "chart-budget", "chart-funnel", "chart-rfm",
    "chart-recommendations", "chart-listings", "chart-syncs",
]


def _ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get is not available")
    subprocess.run(["apt-get", "install", "-y", "chromium"], check=False, capture_output=True, timeout=600)
    if not CHROMIUM.exists():
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def page(airflow_standalone) -> Iterator:
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
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
    assert parsed_dags["import_errors"] == [], parsed_dags["import_errors"]
    listed = {dag["dag_id"] for dag in parsed_dags["dags"]}
    assert set(project_dag_ids) <= listed
    if project_dag_ids:
        assert listed, "dags/ has DAG files but the server lists none"

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


def test_the_dbt_docs_view_opens_inside_the_airflow_ui(page, airflow_standalone, test_output: Path):
    page.goto(f"{airflow_standalone.base_url}/plugin/narrowcast-dbt-docs")
    frame = page.wait_for_selector("iframe[src*='/narrowcast/dbt-docs/']").content_frame()
    assert frame is not None

    # dbt's docs app keeps <body> hidden until it has loaded manifest.json and catalog.json (slow on a busy
    # machine), so wait for the document rather than a visible body.
    frame.wait_for_selector("body", state="attached")
    target = Path(__file__).resolve().parents[2] / "dbt_project" / "target"
    if all((target / name).is_file() for name in ("index.html", "manifest.json", "catalog.json")):
        frame.wait_for_function("document.title.toLowerCase().includes('dbt')", timeout=180_000)
        assert "dbt" in frame.title().lower()
    else:
        assert "make docs" in frame.inner_text("body")
    page.screenshot(path=str(test_output / "ui_dbt_docs.png"), full_page=True)
