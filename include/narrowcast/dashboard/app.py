"""The dashboard's FastAPI app: the HTML page, one JSON endpoint per chart, and the dbt docs site.

Each request opens the warehouse read-only and closes it before answering, so the dashboard never holds
DuckDB's write lock and never blocks a pipeline task for longer than one query.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from narrowcast import settings
from narrowcast.dashboard.charts import availability
from narrowcast.dashboard.charts.affiliates import affiliate_referrals
from narrowcast.dashboard.charts.budget import budget_vs_actual
from narrowcast.dashboard.charts.customers import rfm_segments, top_recommendations
from narrowcast.dashboard.charts.discounts import discount_codes
from narrowcast.dashboard.charts.funnel import funnel
from narrowcast.dashboard.charts.kpi import kpi_trend
from narrowcast.dashboard.charts.leads import leads_vs_remarketing
from narrowcast.dashboard.charts.listings import listing_health
from narrowcast.dashboard.charts.marketplaces import marketplace_economics
from narrowcast.dashboard.charts.syncs import sync_health
from narrowcast.dashboard.charts.uplift import audience_uplift
from narrowcast.dashboard.filters import CHANNELS, FilterError, Filters, parse_filters
from narrowcast.dashboard.sources_panel import no_data_message, sources_panel
from narrowcast.sources.enabled import ConnectionLookup, source_states
from narrowcast.warehouse import UndefinedObject, Warehouse, WarehouseBusy, read_only

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_DBT_TARGET = settings.PROJECT_ROOT / "dbt_project" / "target"
# Lets the dbt docs single-page app keep its #! routes in step with the Airflow UI around the iframe.
_IFRAME_HASH_SYNC = """
<script>
  window.addEventListener('hashchange', function () { window.parent.postMessage(window.location.hash, '*'); });
</script>
"""

ChartQuery = Callable[[Warehouse, Filters], dict[str, Any]]
CHARTS: dict[str, ChartQuery] = {
    "kpi": kpi_trend,
    "budget": budget_vs_actual,
    "funnel": funnel,
    "rfm": rfm_segments,
    "recommendations": top_recommendations,
    "listings": listing_health,
    "marketplaces": marketplace_economics,
    "syncs": sync_health,
    "uplift": audience_uplift,
    "discounts": discount_codes,
    "affiliates": affiliate_referrals,
    "leads": leads_vs_remarketing,
}


def _root(request: Request) -> str:
    """The prefix the app is mounted under (``/narrowcast`` inside Airflow, empty in tests)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _empty(missing: list[str], message: str, extra: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"status": "empty", "message": message, "missing": missing, **extra})


def create_app(
    warehouse: Path | None = None, dbt_target: Path | None = None, dependencies: Sequence[Any] = (),
    connected: ConnectionLookup | None = None,
) -> FastAPI:
    """The dashboard app; ``warehouse``/``dbt_target`` default to the settings, read again on every request.

    ``connected`` says whether a connection is set (default: its ``AIRFLOW_CONN_*`` variable), for the Sources
    panel and the empty charts' "not connected" notes.

    ``dependencies`` (FastAPI ``Depends(...)``) guard every route: the Airflow plugin passes Airflow's
    "authenticated user" check so the pages and JSON need the same login as the UI around them.
    """
    app = FastAPI(
        title="Narrowcast dashboard", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
        dependencies=list(dependencies),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def warehouse_path() -> Path:
        return warehouse if warehouse is not None else settings.paths().warehouse

    def run_query(
        query: Callable[[Warehouse], dict[str, Any]], extra: dict[str, Any] | None = None, chart: str | None = None
    ) -> JSONResponse:
        path = warehouse_path()
        extra = extra or {}
        try:
            with read_only(path) as wh:
                if wh is None:
                    return _empty([f"warehouse file {path.name}"], availability.NO_DATA_MESSAGE, extra)
                return JSONResponse({**query(wh), **extra})
        except availability.NoData as exc:
            not_connected = no_data_message(chart, source_states(connected)) if chart else None
            return _empty(exc.missing, not_connected or exc.message, extra)
        except WarehouseBusy:
            # A pipeline task holds the write lock; the page retries instead of showing an error.
            return JSONResponse(
                {"status": "busy", "detail": "the warehouse is being written by a pipeline task; retry in a moment"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        except UndefinedObject as exc:
            log.error("dashboard query does not match the warehouse: %s", exc)
            return JSONResponse(
                {"status": "error", "detail": f"the warehouse does not match docs/data-contracts.md: {exc}"},
                status_code=500,
            )

    @app.exception_handler(FilterError)
    def bad_filter(_: Request, exc: FilterError) -> JSONResponse:
        return JSONResponse({"status": "error", "detail": str(exc)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        body = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        body = body.replace("<!--BASE-->", f'<base href="{html.escape(_root(request))}/">')
        return HTMLResponse(body)

    @app.get("/api/overview")
    def overview() -> JSONResponse:
        return run_query(availability.overview, {"channels": list(CHANNELS)})

    @app.get("/api/sources")
    def sources() -> JSONResponse:
        """Which sources are connected, and for each that is not, the reason and the fix (no warehouse needed)."""
        return JSONResponse(sources_panel(connected))

    def chart_endpoint(name: str, query: ChartQuery) -> None:
        def endpoint(start: str | None = None, end: str | None = None, channel: str | None = None) -> JSONResponse:
            filters = parse_filters(start, end, channel)
            return run_query(lambda wh: query(wh, filters), chart=name)

        endpoint.__name__ = f"chart_{name}"
        app.add_api_route(f"/api/{name}", endpoint, methods=["GET"], summary=query.__doc__.splitlines()[0])

    for name, query in CHARTS.items():
        chart_endpoint(name, query)

    # ---- dbt docs ---------------------------------------------------------------------------------
    def target_dir() -> Path:
        return dbt_target if dbt_target is not None else DEFAULT_DBT_TARGET

    @app.get("/dbt-docs", include_in_schema=False)
    def dbt_docs_redirect(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{_root(request)}/dbt-docs/")

    @app.get("/dbt-docs/", response_class=HTMLResponse)
    def dbt_docs_index() -> HTMLResponse:
        target = target_dir()
        missing = [name for name in ("index.html", "manifest.json", "catalog.json") if not (target / name).is_file()]
        if missing:
            return HTMLResponse(_docs_howto(target, missing))
        body = (target / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(body.replace("</head>", f"{_IFRAME_HASH_SYNC}</head>", 1))

    def artifact(name: str) -> Response:
        path = target_dir() / name
        if not path.is_file():
            return JSONResponse({"detail": f"{path} does not exist yet: run `make docs`"}, status_code=404)
        return Response(path.read_bytes(), media_type="application/json")

    @app.get("/dbt-docs/manifest.json")
    def dbt_manifest() -> Response:
        return artifact("manifest.json")

    @app.get("/dbt-docs/catalog.json")
    def dbt_catalog() -> Response:
        return artifact("catalog.json")

    return app


def _docs_howto(target: Path, missing: list[str]) -> str:
    files = ", ".join(missing)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dbt docs not generated yet</title>
<style>body{{font-family:system-ui,sans-serif;margin:3rem auto;max-width:42rem;color:#1f2937;line-height:1.5}}
code{{background:#f3f4f6;padding:.1rem .35rem;border-radius:4px}}</style></head>
<body data-state="docs-missing">
<h1>dbt docs are not generated yet</h1>
<p>The documentation site is built from the dbt project. Generate it with:</p>
<p><code>make docs</code></p>
<p>(which runs <code>dbt docs generate</code> in <code>dbt_project/</code>), then reload this page.</p>
<p>Looked in <code>{html.escape(str(target))}</code>; missing: {html.escape(files)}.</p>
</body></html>"""
