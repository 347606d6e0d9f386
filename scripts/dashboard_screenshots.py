"""Screenshots of the marketers' dashboard over a built warehouse: the whole page and each section, as PNG files.

    .venv/bin/python scripts/dashboard_screenshots.py                      # after `make demo`: data/ → test-output/demo-dashboard/
    .venv/bin/python scripts/dashboard_screenshots.py --out some/dir --warehouse path/to/narrowcast.duckdb

Serves the same app the Airflow plugin mounts (``narrowcast.dashboard.app.create_app``) on a free loopback port,
opens it in headless Chromium (the Debian package ``scripts/setup-os.sh`` installs) and waits until every chart
has drawn. Sources count as connected the way the local runtime connects them (``narrowcast.runtime.airflow_env``:
the sandbox for each unset ``AIRFLOW_CONN_*``), so the Sources panel reads as it does in ``make ui`` after
``make demo``. Prints each file written and the page's headline cards (totals only: no customer data).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn

from narrowcast import settings
from narrowcast.dashboard.app import create_app
from narrowcast.runtime import airflow_env
from narrowcast.sources.enabled import connection_set_in_env

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(warehouse: Path, dbt_target: Path) -> tuple[uvicorn.Server, threading.Thread, str]:
    connected = connection_set_in_env(airflow_env(sandbox="http://127.0.0.1:8765"))
    app = create_app(warehouse, dbt_target, connected=connected)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("error: the dashboard did not start within 30 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}/"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: the data dir's)")
    parser.add_argument("--dbt-target", type=Path, default=settings.PROJECT_ROOT / "dbt_project" / "target")
    parser.add_argument("--out", type=Path, default=settings.PROJECT_ROOT / "test-output" / "demo-dashboard")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)

    warehouse = args.warehouse or settings.paths().warehouse
    if not warehouse.is_file():
        print(f"error: no warehouse at {warehouse}: run `make demo` first or pass --warehouse", file=sys.stderr)
        return 2
    if not Path(args.chromium).is_file():
        print(f"error: Chromium not found at {args.chromium}: run `sudo bash scripts/setup-os.sh`", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    server, thread, url = _serve(warehouse, args.dbt_target)
    errors: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(120_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url)
            page.wait_for_selector("body[data-loaded=true]")
            page.wait_for_timeout(1_500)  # chart.js animations settle
            # The sticky filter bar would cover the top of each section's picture: let it scroll away.
            page.add_style_tag(content="header { position: static !important; }")
            written = [args.out / "dashboard_full.png"]
            page.screenshot(path=str(written[0]), full_page=True)
            for section in page.query_selector_all("#content section[id^=sec-]"):
                if not section.is_visible():
                    continue
                name = (section.get_attribute("id") or "").removeprefix("sec-")
                target = args.out / f"section_{name}.png"
                section.screenshot(path=str(target))
                written.append(target)
            cards = page.inner_text("#cards")
            empty = [c.get_attribute("id") for c in page.query_selector_all("canvas[data-chart]")
                     if c.get_attribute("data-points") == "0"]
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    for path in written:
        print(f"wrote {path}")
    print("cards: " + " | ".join(line.strip() for line in cards.splitlines() if line.strip()))
    if empty:
        print(f"charts with no points: {', '.join(empty)}")
    if errors:
        print("page errors:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
