"""The quality gate: which rows of a landed batch fail which rule, and whether the batch may load at all.

Every row of a batch ends up either loaded or quarantined (under its first failing rule, see ``rules.py``);
``received = loaded + quarantined``. A batch whose failing share exceeds the threshold raises
:class:`QualityGateFailed`, naming the batch's files/pages, each rule, its count and a sample of keys.

GX cost and the large-batch strategy: GX's pandas engine validates roughly 50k rows/s with a full suite on
this machine, far below the loader's 1M rows/s. Batches up to ``gx_full_max_rows`` are validated by GX
entirely. Larger ones (a day of GA4 events) are pre-screened in the warehouse with one SQL predicate per rule that is
true for every row that *may* fail it; GX then validates the candidates plus a sample of the others (rows
picked by a hash of ``_row``), all fetched in one pass over the batch. The result is still exact: a row outside
the candidates passes every row rule by construction, and every copy of a duplicated key is a candidate (a
hash aggregate over the whole batch finds the duplicated keys), so GX sees all duplicates together.

Duplicates: GX flags every copy of a key; the gate quarantines the extra copies only (``unique:<key>`` counts
the rows beyond the first, in landing order), so a record a paginated API served twice still loads once.
The sample is a cross-check of the screen itself: if GX fails a sampled row, the screen is wrong and the gate
raises instead of loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from narrowcast import settings
from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.timestamps import utc_naive
from narrowcast.loading.staging import StagedBatch
from narrowcast.quality.expectations import failing_rows
from narrowcast.quality.rules import DUPLICATE_COLUMN, LINE_DIFF_COLUMN, Rule, rules_for, screen_predicate
from narrowcast.warehouse import Warehouse

if TYPE_CHECKING:
    import pandas as pd

GX_FULL_MAX_ROWS = 50_000
SCREEN_SAMPLE_ROWS = 5_000
SAMPLE_KEYS = 5
ALL_OR_NOTHING_LISTED = 20


class QualityGateFailed(RuntimeError):
    """A batch failed the quality gate; the message names file/page, rule, count and a sample of keys."""


class SchemaDriftError(QualityGateFailed):
    """A batch lacks a required column or carries one it must not (``schema:*`` rules)."""


@dataclass
class GateResult:
    batch_id: str
    entity: str
    received: int
    failures: pa.Table  # _row, rule, column_name — one row per quarantined row
    rule_counts: dict[str, int] = field(default_factory=dict)
    gx_rows: int = 0  # rows GX actually validated (all, or candidates + sample)

    @property
    def quarantined(self) -> int:
        return self.failures.num_rows

    @property
    def share(self) -> float:
        return self.quarantined / self.received if self.received else 0.0


def check_batch(
    wh: Warehouse,
    staged: StagedBatch,
    *,
    lines: StagedBatch | None = None,
    now: datetime | None = None,
    gx_full_max_rows: int = GX_FULL_MAX_ROWS,
    sample_rows: int = SCREEN_SAMPLE_ROWS,
) -> GateResult:
    """Validate ``staged``; ``lines`` (shop order lines of the same run) enables the line-totals rule."""
    spec, batch = staged.spec, staged.batch
    if staged.missing_required:
        refs = _source_refs(wh, staged)
        raise SchemaDriftError(
            f"schema:missing_column: {spec.name} batch {batch.batch_id} ({refs}) lacks required column(s) "
            f"{', '.join(staged.missing_required)}"
        )
    rules = rules_for(spec, staged.present, with_line_totals=lines is not None)
    limit = utc_naive(now or datetime.now(UTC)) + timedelta(minutes=settings.FUTURE_TOLERANCE_MINUTES)
    gx_limits, sql_limits = _future_limits(staged, rules, limit)
    query = _check_query(staged, rules, lines)
    received = wh.scalar(f"select count(*) from {staged.view}")
    if not received:
        # Every rule passes an empty batch: no frame to build and nothing for GX to validate, so a run that
        # received nothing never imports GX (seconds of a small run's start-up).
        return GateResult(batch.batch_id, spec.name, 0, _failure_table({}))

    if received <= gx_full_max_rows:
        frame = wh.frame(query).set_index("_row")
        sampled: set[int] = set()
    else:
        # One pass over the batch: every candidate, plus about ``sample_rows`` of the others picked by a hash
        # of ``_row`` (deterministic, spread over the whole batch) for the cross-check.
        screen = " or ".join(f"({screen_predicate(r, sql_limits)})" for r in rules) or "false"
        stride = max(1, received // max(1, sample_rows))
        picked = wh.frame(
            # A NULL screen means every predicate is false or NULL (a NULL value, which GX passes): no candidate.
            f"""select * from (select q.*, coalesce({screen}, false) as __candidate
                               from ({_screen_query(staged, query)}) q) screened
                where __candidate or {wh.dialect.hash_bucket('_row', stride)} = 0"""
        )
        sampled = set(picked.loc[~picked["__candidate"], "_row"].tolist())
        frame = picked.drop(columns=["__candidate", DUPLICATE_COLUMN]).set_index("_row")
    by_rule = failing_rows(frame, rules, gx_limits)
    for rule in rules:
        if rule.kind == "unique":
            by_rule[rule.name] = _extra_copies(frame, rule, by_rule[rule.name])
    wrongly_screened: set[int] = set()
    for rows in by_rule.values():
        wrongly_screened |= sampled.intersection(rows)
    if wrongly_screened:
        raise RuntimeError(
            f"quality pre-screen of {spec.name} batch {batch.batch_id} missed rows GX fails "
            f"(_row {sorted(wrongly_screened)[:5]}); refusing to load"
        )

    assigned: dict[int, Rule] = {}
    for rule in rules:  # first failing rule wins, so the per-rule counts add up
        for row in by_rule[rule.name]:
            assigned.setdefault(row, rule)
    counts: dict[str, int] = {}
    for rule in assigned.values():
        counts[rule.name] = counts.get(rule.name, 0) + 1
    return GateResult(batch.batch_id, spec.name, received, _failure_table(assigned), counts, len(frame))


def _failure_table(assigned: dict[int, Rule]) -> pa.Table:
    """One row per quarantined row, in ``_row`` order: the rule it is quarantined under and that rule's column."""
    ordered = sorted(assigned)
    return pa.table(
        {
            "_row": pa.array(ordered, pa.int64()),
            "rule": pa.array([assigned[r].name for r in ordered], pa.string()),
            "column_name": pa.array([assigned[r].column_name for r in ordered], pa.string()),
        }
    )


def enforce_threshold(
    wh: Warehouse, staged: StagedBatch, result: GateResult, threshold: float
) -> None:
    """Raise :class:`QualityGateFailed` when more than ``threshold`` of the batch failed, or when any row of an
    all-or-nothing table did."""
    spec = staged.spec
    if spec.all_or_nothing and result.quarantined:
        _fail_whole_batch(wh, staged, result)
    if result.share <= threshold:
        return
    with wh.arrow_relation("_nc_gate_failures", result.failures):
        parts = []
        for rule, count in sorted(result.rule_counts.items(), key=lambda kv: -kv[1]):
            keys = ", ".join(quote_ident(k) for k in spec.key)
            rows = wh.fetchall(
                f"""select s._source_ref, {keys} from {staged.view} s
                    join _nc_gate_failures f on f._row = s._row where f.rule = ? order by s._row limit ?""",
                [rule, SAMPLE_KEYS],
            )
            refs = sorted({r[0] for r in rows})
            sample = "; ".join(
                ", ".join(f"{k}={v}" for k, v in zip(spec.key, r[1:], strict=True)) for r in rows
            )
            parts.append(f"rule {rule}: {count} row(s) in {', '.join(refs)} (sample keys: {sample})")
    raise QualityGateFailed(
        f"quality gate failed for {spec.name} batch {result.batch_id}: {result.quarantined} of {result.received} "
        f"rows ({result.share:.1%}) failed, above the {threshold:.1%} threshold; " + " | ".join(parts)
    )


def _fail_whole_batch(wh: Warehouse, staged: StagedBatch, result: GateResult) -> None:
    """Every failing row by its file and line and the rule it broke: the sender fixes them all in one go."""
    with wh.arrow_relation("_nc_gate_failures", result.failures):
        rows = wh.fetchall(
            f"""select s._source_ref, f.rule from {staged.view} s
                join _nc_gate_failures f on f._row = s._row order by s._row limit ?""",
            [ALL_OR_NOTHING_LISTED],
        )
    listed = "; ".join(f"{ref}: {rule}" for ref, rule in rows)
    more = result.quarantined - len(rows)
    raise QualityGateFailed(
        f"quality gate failed for {staged.spec.name} batch {result.batch_id}: {result.quarantined} of "
        f"{result.received} row(s) invalid and this table loads all rows or none; {listed}"
        + (f" (and {more} more)" if more > 0 else "")
    )


def hold_back_children(
    wh: Warehouse, child: StagedBatch, result: GateResult, parent: StagedBatch, parent_failures: pa.Table
) -> GateResult:
    """``result`` plus every row of ``child`` whose parent row in ``parent`` is quarantined (``parent_failures``).

    Such rows are quarantined as ``parent_quarantined:<child column>``: loading them would leave orphans in
    ``raw.*`` that fail dbt's relationship tests and halt every model downstream. A parent key of which another
    copy loads (a duplicate's extra copy was quarantined) holds nothing back. Rows that already fail a rule of
    their own keep it, so the counts still add up; the threshold was applied before, to the child's own failures.
    """
    assert child.spec.parent is not None
    if not parent_failures.num_rows:
        return result  # no parent row is quarantined, so none holds a child back
    columns = child.spec.parent[1]
    match = " and ".join(f"p.{quote_ident(p)} = c.{quote_ident(c)}" for c, p in columns.items())
    with wh.arrow_relation("_nc_parent_failures", parent_failures), \
            wh.arrow_relation("_nc_child_failures", result.failures):
        held = [r[0] for r in wh.fetchall(
            f"""select c._row from {child.view} c
                where not exists (select 1 from _nc_child_failures f where f._row = c._row)
                  and exists (select 1 from {parent.view} p join _nc_parent_failures f on f._row = p._row
                              where {match})
                  and not exists (select 1 from {parent.view} p where {match}
                                  and not exists (select 1 from _nc_parent_failures f where f._row = p._row))
                order by 1"""
        )]
    if not held:
        return result
    column = next(iter(columns))
    rule = f"parent_quarantined:{column}"
    extra = pa.table({
        "_row": pa.array(held, pa.int64()),
        "rule": pa.array([rule] * len(held), pa.string()),
        "column_name": pa.array([column] * len(held), pa.string()),
    })
    failures = pa.concat_tables([result.failures, extra]).sort_by("_row")
    return replace(result, failures=failures, rule_counts={**result.rule_counts, rule: len(held)})


def _extra_copies(frame: pd.DataFrame, rule: Rule, flagged: list[int]) -> list[int]:
    """GX flags every copy of a duplicated key; the first copy (in landing order) is not a duplicate of anything."""
    if not flagged:
        return flagged
    copies = frame.loc[sorted(flagged), list(rule.columns)]
    return sorted(int(r) for r in copies.index[copies.duplicated(keep="first")])


def _source_refs(wh: Warehouse, staged: StagedBatch, limit: int = 3) -> str:
    rows = wh.fetchall(f"select distinct _source_ref from {staged.view} order by 1 limit {limit}")
    return ", ".join(str(r[0]) for r in rows) or "no rows"


def _future_limits(
    staged: StagedBatch, rules: list[Rule], limit: datetime
) -> tuple[dict[str, Any], dict[str, str]]:
    gx_limits: dict[str, Any] = {}
    sql_limits: dict[str, str] = {}
    for rule in rules:
        if rule.kind != "not_future":
            continue
        sql_type = rule.param("type")
        if sql_type == "BIGINT":  # microseconds since the epoch (GA4 event_timestamp)
            micros = int((limit - datetime(1970, 1, 1)).total_seconds() * 1_000_000)
            gx_limits[rule.column_name], sql_limits[rule.column_name] = micros, str(micros)
        else:
            bound = limit if sql_type == "TIMESTAMP" else datetime.combine(limit.date(), datetime.min.time())
            gx_limits[rule.column_name] = bound
            sql_limits[rule.column_name] = f"timestamp '{bound.isoformat(sep=' ')}'"
    return gx_limits, sql_limits


def _screen_query(staged: StagedBatch, query: str) -> str:
    """``query`` plus ``__duplicate``: true for every copy of a key that occurs more than once in the batch.

    A hash aggregate finds the duplicated keys (few) and a join flags their rows; a window count partitioned by
    the key would sort the whole batch.
    """
    keys = ", ".join(quote_ident(k) for k in staged.spec.key)
    match = " and ".join(f"d.{quote_ident(k)} = c.{quote_ident(k)}" for k in staged.spec.key)
    return (
        f"select c.*, d.__one is not null as {DUPLICATE_COLUMN} from ({query}) c "
        f"left join (select {keys}, 1 as __one from {staged.view} group by {keys} having count(*) > 1) d on {match}"
    )


def _check_query(staged: StagedBatch, rules: list[Rule], lines: StagedBatch | None) -> str:
    """One row per batch row: ``_row``, every column a rule reads and the line difference."""
    spec = staged.spec
    selects = ["s._row"]
    seen: set[str] = set()
    for rule in rules:
        for column in rule.columns:
            if column in seen or column == LINE_DIFF_COLUMN:
                continue
            seen.add(column)
            cast = "::timestamp" if spec.columns.get(column) == "DATE" else ""
            selects.append(f"s.{quote_ident(column)}{cast} as {quote_ident(column)}")
    joins = ""
    if any(r.kind == "line_totals" for r in rules) and lines is not None:
        # Shopify's subtotal_price is after order discounts; exports that state it before discounts pass too.
        joins = (
            # A line delivered twice (its order was duplicated) counts once: duplicates are the unique rule's.
            f" left join (select order_id, sum(price * quantity) as lines_total "
            f"from (select distinct on (id) id, order_id, price, quantity from {lines.view}) line "
            f"group by order_id) l on l.order_id = s.id"
        )
        selects.append(
            "least(abs(s.subtotal_price - l.lines_total), "
            f"abs(s.subtotal_price - (l.lines_total - coalesce(s.total_discounts, 0))))::{staged.dialect.type_name('DOUBLE')} "
            f"as {LINE_DIFF_COLUMN}"
        )
    return f"select {', '.join(selects)} from {staged.view} s{joins}"
