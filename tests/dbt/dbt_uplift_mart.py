"""The audience_uplift mart built by dbt over planted outcomes (the uplift tests' one way to build it)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from dbt_invocation import run_dbt


def uplift_mart(outcomes: pd.DataFrame, tmp: Path) -> pd.DataFrame:
    """``audience_uplift`` built by dbt over ``outcomes`` standing in for ``int_audience_outcomes``, by audience."""
    warehouse = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        con.register("planted", outcomes)
        con.execute("create table main.int_audience_outcomes as select * from planted")
    finally:
        con.close()
    run_dbt(["run", "--select", "audience_uplift"], warehouse=warehouse, target_path=tmp / "target")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.sql("select * from main.audience_uplift").df().set_index("audience_id")
    finally:
        con.close()
