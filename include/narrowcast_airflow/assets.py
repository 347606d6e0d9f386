"""The Airflow Assets that chain Narrowcast's stages: raw tables → dbt marts → activation.

The raw-table assets come from the sources' declarations: a new source's tables become assets (and schedule
the transform DAG) without an edit here.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

from narrowcast.sources.registry import ENTITIES, source

RAW_URI = "x-narrowcast://warehouse/raw/{name}"
MART_URI = "x-narrowcast://warehouse/marts/{name}"

MARTS = (
    "customer_rfm",
    "customer_segments",
    "customer_recommendations",
    "kpi_channel_daily",
    "kpi_funnel",
    "budget_vs_actual",
    "marketplace_listing_feed",
    "audience_members",
)


def raw_asset(table: str) -> Asset:
    return Asset(RAW_URI.format(name=table), group="raw")


def mart_asset(name: str) -> Asset:
    return Asset(MART_URI.format(name=name), group="marts")


def raw_assets(source_name: str) -> list[Asset]:
    """The assets of every raw table a source declares (what its extract task emits)."""
    return [raw_asset(table.name) for table in source(source_name).entities]


def raw_alias(source_name: str) -> AssetAlias:
    """The outlet of an extract task that emits an event only for the raw tables that received rows.

    A task's plain ``Asset`` outlets all get an event whenever it succeeds; events added through an alias go to
    the assets named at run time only, and still trigger the DAGs scheduled on those assets.
    """
    return AssetAlias(f"raw-{source_name}", group="raw")


ALL_RAW_ASSETS = [raw_asset(name) for name in ENTITIES]
MART_ASSETS = {name: mart_asset(name) for name in MARTS}
