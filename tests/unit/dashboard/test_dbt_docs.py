"""The dbt docs site is served from dbt_project/target, or a page says how to generate it."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient


def test_without_generated_docs_the_page_says_to_run_make_docs(client: TestClient):
    response = client.get("/dbt-docs/")

    assert response.status_code == 200
    assert "make docs" in response.text
    assert "index.html, manifest.json, catalog.json" in response.text


def test_generated_docs_are_served_with_their_artifacts(client: TestClient, dbt_target: Path):
    (dbt_target / "index.html").write_text("<html><head><title>dbt Docs</title></head><body>docs</body></html>")
    (dbt_target / "manifest.json").write_text(json.dumps({"nodes": {"model.narrowcast.kpi_funnel": {}}}))
    (dbt_target / "catalog.json").write_text(json.dumps({"nodes": {}}))

    index = client.get("/dbt-docs/")
    manifest = client.get("/dbt-docs/manifest.json")
    catalog = client.get("/dbt-docs/catalog.json")

    assert index.status_code == 200 and "<title>dbt Docs</title>" in index.text
    assert "postMessage" in index.text  # keeps the docs' #! routes in step with the Airflow UI frame
    assert manifest.json() == {"nodes": {"model.narrowcast.kpi_funnel": {}}}
    assert catalog.json() == {"nodes": {}}


def test_a_missing_artifact_is_a_404_naming_the_fix(client: TestClient):
    response = client.get("/dbt-docs/catalog.json")

    assert response.status_code == 404
    assert "make docs" in response.json()["detail"]


def test_the_docs_path_without_slash_redirects_so_relative_artifact_urls_resolve(client: TestClient):
    response = client.get("/dbt-docs", follow_redirects=False)

    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/dbt-docs/")
