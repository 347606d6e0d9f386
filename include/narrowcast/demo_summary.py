"""The demo's closing summary: rows per stage, per-sync results, and where to look next."""

from __future__ import annotations

from narrowcast import settings
from narrowcast.warehouse import Warehouse, read_only


def _tables(con: Warehouse, schema: str) -> list[str]:
    rows = con.fetchall(
        "select table_name from information_schema.tables where table_schema = ? order by table_name", [schema]
    )
    return [r[0] for r in rows]


def _where(paths: settings.Paths) -> str:
    if settings.warehouse_engine() == "postgres":
        pg = settings.postgres()
        return f"Warehouse:   PostgreSQL {pg.user}@{pg.host}:{pg.port}/{pg.dbname} (marts in schema {pg.schema})"
    return f"Warehouse:   {paths.warehouse}  (open read-only: duckdb -readonly {paths.warehouse})"


def render_summary(paths: settings.Paths) -> str:
    lines: list[str] = []
    with read_only(paths.warehouse) as con:
        if con is None:
            return f"No warehouse at {paths.warehouse} yet."
        lines.append("Rows per stage")
        models = settings.marts_schema()
        for schema, label in (("raw", "raw (loaded)"), (models, "marts & models")):
            tables = _tables(con, schema)
            if schema == models:
                tables = [t for t in tables if not t.startswith(("stg_", "int_"))]
            total = 0
            for table in tables:
                count = con.scalar(f'select count(*) from "{schema}"."{table}"')
                total += count
                lines.append(f"  {schema}.{table:<34} {count:>10,}")
            lines.append(f"  {label} total: {total:,} rows in {len(tables)} tables")
        if "quarantine" in _tables(con, "meta"):
            q = con.fetchall("select rule, count(*) from meta.quarantine group by 1 order by 2 desc")
            lines.append(f"  quarantined rows: {sum(n for _, n in q):,}"
                         + (f" ({', '.join(f'{r}: {n}' for r, n in q[:5])})" if q else ""))
        if "sync_runs" in _tables(con, "activation"):
            lines.append("\nSyncs (latest run each)")
            lines.append(f"  {'sync':<36}{'adds':>8}{'changes':>9}{'removes':>9}{'accepted':>10}"
                         f"{'rejected':>10}{'API calls':>10}")
            rows = con.fetchall("""
                select distinct on (sync_id)
                       sync_id, planned_adds, planned_changes, planned_removes, accepted, rejected, api_calls
                from activation.sync_runs
                order by sync_id, started_at desc
            """)
            for r in rows:
                lines.append(f"  {r[0]:<36}{r[1]:>8,}{r[2]:>9,}{r[3]:>9,}{r[4]:>10,}{r[5]:>10,}{r[6]:>10,}")
    lines += [
        "",
        _where(paths),
        "Airflow UI:  make ui  → http://localhost:8080 (user admin / admin); dashboard under 'Narrowcast'",
        "dbt docs:    make docs → http://localhost:8081",
        f"Run logs:    {paths.logs / 'demo'}",
    ]
    return "\n".join(lines)
