"""The dbt selections DAGs build outside the full transform, shared with the tests that check what they rebuild."""

from __future__ import annotations

# The inventory DAG's build before every push: each model its syncs read (the listing feed, the shipments, the
# listing content) with every model and seed upstream of them (ERP snapshots, products, order lines, open orders and
# fulfilments of every channel; the marketplaces, their rules, carrier codes, category and attribute maps), so a
# stock file, an order or a shipment loaded since the last transform reaches the push, the DAG works on a warehouse
# no transform has built yet, and a failed test of any of them stops it. The seeds are a few rows each.
# "cautious" leaves out the tests that also read models outside this chain, which only transform refreshes.
INVENTORY_MODELS = ("marketplace_listing_feed", "marketplace_shipments", "marketplace_listing_content")
INVENTORY_BUILD = ("--select", *(f"+{model}" for model in INVENTORY_MODELS), "--indirect-selection", "cautious")

# A transform run may build part of the project (run conf ``{"build": "<name>"}``, one-task build mode only): the
# name's selection, and nothing is published (no mart asset event, no docs, no profile snapshot).
# audience_history: audience_membership_history with every model and seed it is built from, without tests, to
# record who was in which audience on a past as_of_date (the demo's audience-entry day; the full transform after
# it builds and tests everything at the end date).
PARTIAL_BUILDS = {
    "audience_history": ("--select", "+audience_membership_history", "--indirect-selection", "empty"),
}


def partial_build(conf: dict | None) -> str | None:
    """The run conf's partial build name (None: the whole project); ``ValueError`` naming the known ones."""
    name = (conf or {}).get("build")
    if name is None:
        return None
    if name not in PARTIAL_BUILDS:
        raise ValueError(f"run conf build={name!r} is not a partial build; known: {', '.join(sorted(PARTIAL_BUILDS))}")
    return name


def select_partial_build(context) -> None:
    """``pre_execute`` of the one-task ``dbt build``: adds the run conf's partial build selection to its command."""
    name = partial_build(context["dag_run"].conf)
    if name is not None:
        task = context["task"]
        task.dbt_cmd_flags = [*(task.dbt_cmd_flags or []), *PARTIAL_BUILDS[name]]


def refuse_partial_build(context) -> None:
    """``pre_execute`` of the dbt tasks of a task-per-node transform: its tasks are the whole project."""
    name = partial_build(context["dag_run"].conf)
    if name is not None:
        raise ValueError(f"run conf build={name!r} needs NARROWCAST_DBT_EXECUTION_MODE=build (one dbt build "
                         "task); this transform renders a task per dbt node, which builds the whole project")


def unpublished_reason(conf: dict | None) -> str | None:
    """Why a transform run publishes nothing (a partial build), or None when it publishes the marts."""
    name = partial_build(conf)
    return None if name is None else f"run conf build={name!r} built part of the project: nothing is published"
