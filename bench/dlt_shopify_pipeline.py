"""The dlt side of ``bench_vs_dlt.py``: the same Shopify GraphQL reads as the narrowcast extract, loaded by dlt.

Runs in the dlt virtualenv (``bench/requirements-dlt.txt``), not the project's: it imports only dlt, requests and
the standard library. ``python dlt_shopify_pipeline.py SPEC.json`` where SPEC names the GraphQL endpoint, the
access token, the pipeline's folders and, per resource, the paged query, its variables and its connection.
Every resource pages ``edges { node }`` with ``pageInfo.endCursor`` as ``$after`` (what the narrowcast client
does) and yields the nodes; dlt normalises them (nested lists become child tables) and writes Parquet files to
the local filesystem destination. Prints one JSON line: rows per resource.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import dlt
import requests


def post(session: requests.Session, url: str, payload: dict) -> dict:
    """One GraphQL call; a THROTTLED answer waits until the cost bucket holds the query's cost, then retries."""
    while True:
        response = session.post(url, json=payload, timeout=60)
        response.raise_for_status()
        body = response.json()
        errors = body.get("errors") or []
        if not any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            return body
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        missing = cost.get("requestedQueryCost", 0) - status.get("currentlyAvailable", 0)
        time.sleep(max(missing, 1) / max(status.get("restoreRate", 50), 1))


def pages(session: requests.Session, url: str, query: str, variables: dict, connection: str):
    after = None
    while True:
        body = post(session, url, {"query": query, "variables": {**variables, "after": after}})
        if body.get("errors"):
            raise RuntimeError(f"{connection}: {body['errors']}")
        found = body["data"][connection]
        yield [edge["node"] for edge in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            return
        after = found["pageInfo"]["endCursor"]


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    session = requests.Session()
    session.headers.update({"X-Shopify-Access-Token": spec["token"], "Accept": "application/json"})

    def resource(item: dict):
        # Plain Parquet on a filesystem destination appends (dlt merges only into Delta or Iceberg tables).
        @dlt.resource(name=item["name"], write_disposition="append")
        def read():
            yield from pages(session, spec["url"], item["query"], item["variables"], item["connection"])

        return read

    pipeline = dlt.pipeline(pipeline_name="shopify_bench", pipelines_dir=spec["pipelines_dir"],
                            destination=dlt.destinations.filesystem(bucket_url=Path(spec["bucket"]).as_uri()),
                            dataset_name="shopify")
    info = pipeline.run([resource(item) for item in spec["resources"]], loader_file_format="parquet")
    info.raise_on_failed_jobs()
    counts = pipeline.last_trace.last_normalize_info.row_counts
    print(json.dumps({name: count for name, count in counts.items() if not name.startswith("_dlt")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
