"""The ordered rules of one raw table's suite, derived from the source registry.

Order matters: a row failing several rules is quarantined once, under the first rule it fails, so per-rule
counts add up to the quarantined total. The order goes from "the row is unusable" to "the row is doubtful":

1. ``type:<col>`` — a value that does not cast to the registry type (columns in registry order)
2. ``not_null:<col>`` — each key column, then the registry's other not-null columns
3. ``any_not_null:<a>|<b>`` — at least one of a group of columns holds a value
4. ``unique:<key>`` — key unique within the batch (compound keys: ``unique:a,b``); the copies after the first
   are quarantined (the first, in landing order, may load)
5. ``non_negative:<col>`` — amounts and counts ≥ 0
6. ``iso_currency:<col>`` — ISO-4217 code
7. ``accepted_values:<col>`` — a value from the table's declared vocabulary
8. ``not_future:<col>`` — not after now + ``settings.FUTURE_TOLERANCE_MINUTES``
9. ``known_event_name:event_name`` — GA4 event names we know
10. ``line_totals:subtotal_price`` — shop order subtotal = Σ line price × quantity (− order discounts), ±1 cent

After the suite (and its threshold), a row of a table that declares a ``parent`` is quarantined as
``parent_quarantined:<column>`` when its parent row is quarantined in the same run (``gate.hold_back_children``).

Each rule also carries a SQL predicate true for every row that *may* fail it; the gate uses it to pre-screen
very large batches so GX only sees the candidates (exactness argued in ``gate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from narrowcast.contracts.sql import quote_ident
from narrowcast.contracts.tables import EntitySpec
from narrowcast.quality.ga4_event_names import KNOWN_GA4_EVENT_NAMES
from narrowcast.quality.iso_currencies import ISO_4217_CODES
from narrowcast.warehouse import sql_string

RuleKind = Literal[
    "type", "not_null", "any_not_null", "unique", "non_negative", "iso_currency", "accepted_values", "not_future",
    "known_event_name", "line_totals",
]
LINE_TOTAL_TOLERANCE = 0.01
LINE_DIFF_COLUMN = "__line_diff"
DUPLICATE_COLUMN = "__duplicate"  # the pre-screen's flag: the row's key occurs more than once in the batch


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    columns: tuple[str, ...]  # the columns the expectation reads (derived ones included)
    column_name: str  # the contract column it is about, for meta.quarantine
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        if self.kind == "unique":
            return "unique:" + ",".join(self.columns)
        return f"{self.kind}:{self.column_name}"

    def param(self, key: str) -> Any:
        return dict(self.params)[key]


def rules_for(spec: EntitySpec, present: tuple[str, ...], *, with_line_totals: bool = False) -> list[Rule]:
    """The suite of ``spec``, restricted to the columns a batch carries (absent optional columns are NULL)."""
    rules = [Rule("type", (f"__type_{c}",), c) for c in spec.columns if c in present]
    rules += [Rule("not_null", (k,), k) for k in spec.key]
    rules += [Rule("not_null", (c,), c) for c in spec.not_null if c in present and c not in spec.key]
    if spec.any_not_null:
        # Absent columns are NULL in the staged view, so the rule holds whichever of them the batch carries.
        rules.append(Rule("any_not_null", spec.any_not_null, "|".join(spec.any_not_null)))
    rules.append(Rule("unique", spec.key, ",".join(spec.key)))
    rules += [Rule("non_negative", (c,), c) for c in spec.non_negative if c in present]
    rules += [Rule("iso_currency", (c,), c) for c in spec.currency_columns if c in present]
    rules += [
        Rule("accepted_values", (c,), c, (("values", tuple(values)),))
        for c, values in spec.accepted_values.items() if c in present
    ]
    rules += [Rule("not_future", (c,), c, (("type", spec.columns[c]),)) for c in spec.not_future if c in present]
    if spec.event_name_column and spec.event_name_column in present:
        rules.append(Rule("known_event_name", (spec.event_name_column,), spec.event_name_column))
    if spec.line_totals and with_line_totals and "subtotal_price" in present:
        rules.append(Rule("line_totals", (LINE_DIFF_COLUMN,), "subtotal_price"))
    return rules


def screen_predicate(rule: Rule, future_limits: dict[str, Any]) -> str:
    """SQL true for every row that may fail ``rule`` (a superset of GX's failures; never narrower)."""
    col = quote_ident(rule.columns[0])
    match rule.kind:
        case "type":
            return col
        case "not_null":
            return f"{col} is null"
        case "any_not_null":
            return " and ".join(f"{quote_ident(c)} is null" for c in rule.columns)
        case "unique":
            return DUPLICATE_COLUMN
        case "non_negative":
            return f"{col} < 0"
        case "iso_currency":
            codes = ", ".join(f"'{c}'" for c in sorted(ISO_4217_CODES))
            return f"{col} not in ({codes})"
        case "accepted_values":
            values = ", ".join(sql_string(v) for v in rule.param("values"))
            return f"{col} not in ({values})"
        case "not_future":
            return f"{col} > {future_limits[rule.column_name]}"
        case "known_event_name":
            names = ", ".join(f"'{n}'" for n in sorted(KNOWN_GA4_EVENT_NAMES))
            return f"{col} not in ({names})"
        case "line_totals":
            return f"{col} > {LINE_TOTAL_TOLERANCE / 2}"
    raise ValueError(f"no screen for rule kind {rule.kind!r}")
