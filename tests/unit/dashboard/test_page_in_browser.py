"""The dashboard page in headless Chromium, without Airflow: charts drawn, empty state, bad-filter message.

Serves the app with uvicorn on a free loopback port. Chromium comes from ``scripts/setup-os.sh``; without it the
tests fail under CI and skip locally, naming the script.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from os_packages import CHROMIUM_ARGS, chromium

from narrowcast.dashboard.app import create_app

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def base_url(mart_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    empty_dir = tmp_path_factory.mktemp("no_warehouse")
    outer = FastAPI()
    outer.mount("/narrowcast", create_app(mart_warehouse, empty_dir))
    outer.mount("/empty", create_app(empty_dir / "absent.duckdb", empty_dir))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(outer, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def test_every_chart_draws_points_and_the_page_logs_no_errors(page, base_url: str):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{base_url}/narrowcast/")
    page.wait_for_selector("body[data-loaded=true]")

    points = {c.get_attribute("id"): int(c.get_attribute("data-points")) for c in page.query_selector_all("canvas[data-chart]")}
    assert len(points) == 14 and all(n > 0 for n in points.values()), sorted(points.items())
    assert page.inner_text("#cards").count("€") >= 3
    assert errors == []


def test_without_a_warehouse_the_page_says_to_run_the_pipeline(page, base_url: str):
    page.goto(f"{base_url}/empty/")
    page.wait_for_selector("body[data-loaded=true]")

    assert page.is_visible("#empty") and page.is_hidden("#content")
    assert "No data yet: run the pipeline (make demo)" in page.inner_text("#empty")


def test_a_bad_filter_in_the_url_shows_the_apis_message(page, base_url: str):
    page.goto(f"{base_url}/narrowcast/?start=2026-10-01&end=2026-09-01")
    page.wait_for_selector("#error:not(.hidden)")

    assert "start=2026-10-01 is after end=2026-09-01" in page.inner_text("#error")


def test_the_sources_panel_shows_what_is_connected_and_how_to_connect_the_rest(page, base_url: str, monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_CONN_NARROWCAST_SHOPIFY", '{"conn_type": "https", "host": "shop.example.com"}')
    monkeypatch.setenv("NARROWCAST_SOURCES", "shopify,inbox,ebay")

    page.goto(f"{base_url}/empty/")
    page.wait_for_selector("body[data-loaded=true]")

    assert page.is_visible("#sec-sources")  # shown even before the pipeline has built anything
    assert "Connected: inbox shopify" in page.inner_text("#sources-connected")
    ebay = page.inner_text("#sources-not-connected li[data-source=ebay]")
    assert "source ebay not connected: set connection narrowcast_ebay (AIRFLOW_CONN_NARROWCAST_EBAY" in ebay
