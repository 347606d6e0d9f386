"""Defaults every Narrowcast DAG shares: owner, retries, failure alerts, the warehouse pool, the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# Every task that writes the DuckDB warehouse runs in this pool; it has one slot (DuckDB: one writer).
WAREHOUSE_POOL = "narrowcast_warehouse"

# The run's date as a Jinja expression: its data interval's end, or, for a run that has no data interval (an
# asset-triggered run, a manual run without a logical date), when it was due to run. Airflow leaves
# ``data_interval_end`` undefined in such runs, and its strict templates fail on an undefined name.
RUN_DATE = "(data_interval_end if data_interval_end is defined and data_interval_end else dag_run.run_after) | ds"
# The transform's run date: the run conf's `as_of_date`, else the run's date.
TRANSFORM_DATE = "dag_run.conf.get('as_of_date') or " + RUN_DATE
# The days a daily run rebuilds (dbt var incremental_lookback_days in dbt_project.yml; docs/scaling.md).
INCREMENTAL_LOOKBACK_DAYS = 3


def dbt_dates_env(date_expression: str) -> dict[str, str]:
    """The environment that gives a DAG's dbt command its run date, as templates, for the run date
    ``date_expression`` (Jinja).

    ``NARROWCAST_AS_OF_DATE`` is that date (the dbt macro ``as_of_date()``). ``NARROWCAST_DATA_TESTS_SINCE_DATE``:
    the data tests of the large incremental models read only the days a daily run rebuilt; a full refresh tests
    every row. ``NARROWCAST_DBT_SCOPED_TESTS`` says which of the two a run is (the same every day), which leaves
    the tests of the project's own lists out of daily runs.

    The environment and not dbt vars: dbt re-parses the whole project whenever its vars change, so a daily run's
    first dbt command paid a full parse (~9 s on 2 cores). The dbt macros read the two dates only when dbt
    executes (``as_of_date()``, ``data_tests_since_date()``), so a new day re-parses nothing; the scoped-tests
    flag, which ``dbt_project.yml`` reads, is the same every day.
    """
    full_refresh = "dag_run.conf.get('full_refresh')"
    return {
        "NARROWCAST_AS_OF_DATE": "{{ " + date_expression + " }}",
        "NARROWCAST_DATA_TESTS_SINCE_DATE": "{{ '1900-01-01' if " + full_refresh + " else macros.ds_add("
                                            + date_expression + f", -{INCREMENTAL_LOOKBACK_DAYS}) }}}}",
        "NARROWCAST_DBT_SCOPED_TESTS": "{{ 'false' if " + full_refresh + " else 'true' }}",
    }


# The variables :func:`dbt_dates_env` sets (the dbt project reads them; a saved parse does not depend on the dates).
DBT_DATE_VARIABLES = ("NARROWCAST_AS_OF_DATE", "NARROWCAST_DATA_TESTS_SINCE_DATE", "NARROWCAST_DBT_SCOPED_TESTS")

# The transform DAG's dbt dates: its dbt build and its docs generate pass the same.
TRANSFORM_DATES_ENV = dbt_dates_env(TRANSFORM_DATE)


def dbt_env() -> dict[str, str]:
    """The environment of every dbt command a DAG runs (added to the task's own): telemetry off, and dbt's unit
    tests left out of scheduled builds through ``DBT_EXCLUDE_RESOURCE_TYPES`` (dbt 1.9+, ``dbt build``/``dbt test``).

    dbt Labs recommends running unit tests in development and CI only: their inputs are static, so running them
    against production data every day spends compute and proves nothing new (docs.getdbt.com, "Unit tests", "When
    to run unit tests"). The project's test command builds every unit test on the fixture warehouse. Set
    ``NARROWCAST_DBT_UNIT_TESTS_IN_RUNS=true`` to run them in the DAGs' builds as well.
    """
    from narrowcast import settings

    env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}
    if not settings.env_bool("NARROWCAST_DBT_UNIT_TESTS_IN_RUNS", False):
        env["DBT_EXCLUDE_RESOURCE_TYPES"] = "unit_test"
    return env


def default_args() -> dict[str, Any]:
    from narrowcast import settings
    from narrowcast_airflow.notifiers import NarrowcastFailureNotifier

    return {
        "owner": "data-engineering",
        "retries": 2,
        # The demo and the end-to-end tests shorten the wait; production keeps a minute.
        "retry_delay": timedelta(seconds=settings.env_int("NARROWCAST_RETRY_DELAY_SECONDS", 60)),
        "retry_exponential_backoff": True,
        "on_failure_callback": NarrowcastFailureNotifier(),
    }


def _parse(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"run conf {field}={value!r} is not an ISO date or timestamp") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _conf(context: dict[str, Any]) -> dict[str, Any]:
    return (context.get("dag_run").conf if context.get("dag_run") else None) or {}


def catches_up(context: dict[str, Any]) -> bool:
    """Whether an extract run starts at the stored watermark rather than at its window's start.

    Scheduled (and asset- or manually-triggered) runs do, whatever the DAG's ``catchup`` setting, so hours
    missed while the scheduler was down are read too. A window asked for explicitly is read exactly: run conf
    ``start``/``end``, or a backfill's data interval (re-extracting history must not re-read up to now).
    """
    conf = _conf(context)
    if conf.get("start") and conf.get("end"):
        return False
    run_type = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type) or "").lower() != "backfill"


def window_from_context(context: dict[str, Any]):
    """The extraction window: run conf ``start``/``end`` when given (manual runs), else the data interval."""
    from narrowcast.contracts.windows import Window

    conf = _conf(context)
    if conf.get("start") and conf.get("end"):
        start, end = _parse(conf["start"], "start"), _parse(conf["end"], "end")
    else:
        start = context["data_interval_start"]
        end = context["data_interval_end"]
    return Window(start.astimezone(UTC).replace(tzinfo=None), end.astimezone(UTC).replace(tzinfo=None))

