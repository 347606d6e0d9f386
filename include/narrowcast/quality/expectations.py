"""Run a rule list as a Great Expectations (GX Core 1.x) suite over a pandas frame and get the failing rows.

GX is imported inside the functions (its import takes seconds) and one ephemeral context with one pandas
datasource is reused for the process. ``scipy.stats``, which GX imports at start-up only for expectations this
project does not use (KL divergence, Kolmogorov-Smirnov tests), is loaded on first use instead: about a quarter
of GX's import time (1.6 of ~6 CPU seconds); so is ``altair``, which GX imports only to draw the KL-divergence
expectation's charts (a stand-in module until then, see :class:`_DeferredModule`). :func:`prepare` imports GX and builds the context
ahead of the first batch, for a long-lived process whose forked task processes then inherit both. A batch is
validated for each rule's verdict first (result format BOOLEAN_ONLY, half the cost; the type rules as one
expectation on their flags' disjunction), then the failed rules again with result format COMPLETE; the frame's
index is the landed ``_row``, so GX's ``unexpected_index_list`` names the failing rows directly.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

from narrowcast.quality.ga4_event_names import KNOWN_GA4_EVENT_NAMES
from narrowcast.quality.iso_currencies import ISO_4217_CODES
from narrowcast.quality.rules import LINE_TOTAL_TOLERANCE, Rule

if TYPE_CHECKING:
    import pandas as pd

# Imported by GX at start-up (``from scipy import stats``), used only by expectations the rules never build.
DEFERRED_GX_IMPORTS = ("scipy.stats",)
# Imported by GX at start-up as ``import altair as alt`` (the KL-divergence expectation's renderers), which reads
# the module's ``__spec__``: a LazyLoader module would run at once, so these get a stand-in (_DeferredModule).
DEFERRED_GX_TOP_LEVEL_IMPORTS = ("altair",)


class _DeferredModule(types.ModuleType):
    """A top-level module's stand-in in ``sys.modules`` that imports the real module at the first attribute it
    lacks, then takes on the real module's attributes. It carries the real module's ``__spec__`` (unlike a
    LazyLoader module, reading it loads nothing), so ``import name`` and ``import name as alias`` bind it without
    running the module; ``__path__`` is not copied, so a submodule import loads the real package first."""

    def __getattr__(self, attr: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def _stand_in(name: str) -> None:
    """Put a :class:`_DeferredModule` for the top-level module ``name`` in ``sys.modules`` (when not imported yet
    and installed)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    module = _DeferredModule(name)
    module.__spec__ = spec
    module.__file__ = spec.origin
    sys.modules[name] = module


def _defer_import(name: str) -> None:
    """Register ``name`` so that its module body runs on first attribute access, not on import."""
    if name in sys.modules:
        return
    parent, _, child = name.rpartition(".")
    if parent:
        __import__(parent)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    if parent:
        setattr(sys.modules[parent], child, module)


def _import_gx() -> Any:
    if "great_expectations" not in sys.modules:
        for name in DEFERRED_GX_IMPORTS:
            _defer_import(name)
        for name in DEFERRED_GX_TOP_LEVEL_IMPORTS:
            _stand_in(name)
    import great_expectations as gx

    return gx


def prepare() -> None:
    """Import GX, create the validation context and validate a small frame now rather than at the first batch.

    The validation exercises every kind of expectation the rules build, so what GX and Python build lazily on a
    process's first validation (pydantic's and the ABCs' ``isinstance`` caches above all) exists already in a
    process forked after this: ~0.2 CPU-s of a forked small extract's first batch (``bench/bench_vs_dlt.py``).
    """
    import pandas as pd

    _batch_definition()
    frame = pd.DataFrame(
        {"id": [1, 2], "code": ["EUR", "USD"], "amount": [1.5, 0.0], "at": pd.to_datetime(["2024-01-01", "2024-01-02"]),
         "__type_id": [False, False], "__type_code": [False, False]},
        index=pd.Index([0, 1], name="_row"),
    )
    rules = [Rule("type", ("__type_id",), "id"), Rule("type", ("__type_code",), "code"),
             Rule("not_null", ("id",), "id"), Rule("any_not_null", ("id", "code"), "id|code"),
             Rule("unique", ("id",), "id"), Rule("unique", ("id", "code"), "id,code"),
             Rule("non_negative", ("amount",), "amount"), Rule("iso_currency", ("code",), "code"),
             Rule("not_future", ("at",), "at")]
    failing_rows(frame, rules, {"at": datetime(2100, 1, 1)})


@functools.cache
def _batch_definition() -> Any:
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _memoise_configurations()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("narrowcast_quality").add_dataframe_asset("landed_batch")
    return asset.add_batch_definition_whole_dataframe("whole_batch")


# Inside :func:`_configurations_built_once`: each expectation's configuration, by the expectation's id.
_CONFIGURATIONS: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("narrowcast_gx_configurations",
                                                                             default=None)


def _memoise_configurations() -> None:
    """Let GX build each expectation's configuration once per validation instead of on every question.

    GX's ``Expectation.configuration`` is a property that builds a new ``ExpectationConfiguration`` from the
    expectation's pydantic fields each time it is read, and a validation reads it for every domain, success and
    runtime key of every expectation: 2,875 builds for the 34 expectations of a small Shopify increment, ~40% of
    GX's time validating it. Within :func:`_configurations_built_once` the property answers an expectation's first
    build again. An expectation does not change while it is validated, and GX deep-copies a configuration before
    it changes one (``validate_``, ``graph_validate``); outside the block the property is GX's own. A GX whose
    ``configuration`` is not a property is left as it is."""
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.__dict__.get("configuration")
    if not isinstance(built, property) or getattr(built.fget, "narrowcast_memoised", False):
        return

    def configuration(self: Any) -> Any:
        memo = _CONFIGURATIONS.get()
        if memo is None:
            return built.fget(self)
        hit = memo.get(id(self))
        if hit is None or hit[0] is not self:
            hit = memo[id(self)] = (self, built.fget(self))
        return hit[1]

    configuration.narrowcast_memoised = True  # type: ignore[attr-defined]
    Expectation.configuration = property(configuration, doc=built.__doc__)


@contextlib.contextmanager
def _configurations_built_once() -> Iterator[None]:
    token = _CONFIGURATIONS.set({})
    try:
        yield
    finally:
        _CONFIGURATIONS.reset(token)


# The verdict of every type rule of a batch at once, on the disjunction of their flags (see ``failing_rows``).
# Named apart from staging's flags (``__type_<column>``) and the any-not-null columns (``__any_<columns>``).
TYPE_FLAGS_COLUMN = "__cast_failed_any"
TYPE_VERDICT_RULE = Rule("type", (TYPE_FLAGS_COLUMN,), "*")


def _expectation(rule: Rule, future_limits: dict[str, Any]) -> Any:
    import great_expectations.expectations as gxe

    column = rule.columns[0]
    match rule.kind:
        case "type":
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[False])
        case "not_null":
            return gxe.ExpectColumnValuesToNotBeNull(column=column)
        case "any_not_null":
            return gxe.ExpectColumnValuesToBeInSet(column=_any_filled_column(rule), value_set=[True])
        case "unique" if len(rule.columns) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=column)
        case "unique":
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns))
        case "non_negative":
            return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0)
        case "iso_currency":
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(ISO_4217_CODES))
        case "accepted_values":
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(rule.param("values")))
        case "not_future":
            return gxe.ExpectColumnValuesToBeBetween(column=column, max_value=future_limits[rule.column_name])
        case "known_event_name":
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(KNOWN_GA4_EVENT_NAMES))
        case "line_totals":
            # The derived column holds |subtotal − Σ lines|; half a cent guards float noise around one cent.
            return gxe.ExpectColumnValuesToBeBetween(column=column, max_value=LINE_TOTAL_TOLERANCE + 0.005)
    raise ValueError(f"no expectation for rule kind {rule.kind!r}")


def failing_rows(frame: pd.DataFrame, rules: list[Rule], future_limits: dict[str, Any]) -> dict[str, list[int]]:
    """Per rule name, the index values (landed ``_row``) of the rows GX finds failing it."""
    if frame.empty or not rules:
        return {rule.name: [] for rule in rules}
    gx = _import_gx()

    for rule in rules:
        if rule.kind == "any_not_null":
            # GX has no "at least one of these columns" expectation: it checks a flag derived here instead.
            frame = frame.assign(**{_any_filled_column(rule): frame[list(rule.columns)].notna().any(axis=1)})
    type_rules = [rule for rule in rules if rule.kind == "type"]
    verdict_rules = [rule for rule in rules if rule.kind != "type"]
    if type_rules:
        # The type rules' verdict is asked once, of the flags' disjunction: each flag is a non-null boolean
        # (staging's "has a value that does not cast"), so every type rule passes exactly when no row has any flag
        # set. Most of a batch's rules are type rules, and GX's cost is per expectation, whatever the rows.
        flags = frame[[rule.columns[0] for rule in type_rules]]
        frame = frame.assign(**{TYPE_FLAGS_COLUMN: flags.any(axis=1)})
        verdict_rules.insert(0, TYPE_VERDICT_RULE)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    limits = _gx_limits(future_limits)
    # Every rule runs once for its verdict alone, which costs GX about half of collecting the failing rows too
    # (most batches pass every rule); only the rules that failed run again, for their rows. A rule passes exactly
    # when none of its rows fail (no ``mostly``), so the rows found are the same as from one complete run.
    with _configurations_built_once():
        verdicts = _outcomes(batch.validate(_suite(gx, verdict_rules, limits),
                                            result_format={"result_format": "BOOLEAN_ONLY"}))
    types_pass = verdicts.pop(TYPE_VERDICT_RULE.name).success if type_rules else True
    failures: dict[str, list[int]] = {name: [] for name, outcome in verdicts.items() if outcome.success}
    if types_pass:
        failures.update({rule.name: [] for rule in type_rules})
    else:
        verdicts.update({rule.name: None for rule in type_rules})
    failed = [rule for rule in rules if rule.name in verdicts and rule.name not in failures]
    if failed:
        with _configurations_built_once():
            complete = batch.validate(_suite(gx, failed, limits), result_format={"result_format": "COMPLETE"})
        for name, outcome in _outcomes(complete).items():
            failures[name] = [_row_of(i) for i in (outcome.result.get("unexpected_index_list") or [])]
    missing = {rule.name for rule in rules} - failures.keys()
    if missing:
        raise RuntimeError(f"GX returned no result for rules {sorted(missing)}")
    return failures


def _suite(gx: Any, rules: list[Rule], limits: dict[str, Any]) -> Any:
    expectations = []
    for rule in rules:
        expectation = _expectation(rule, limits)
        expectation.meta = {"rule": rule.name}
        expectations.append(expectation)
    # Given to the constructor, not added one by one: ``add_expectation`` compares each new expectation with every
    # one already in the suite (a tenth of a small batch's validation time). Each rule yields a distinct one.
    return gx.ExpectationSuite(name="narrowcast_batch", expectations=expectations)


def _outcomes(result: Any) -> dict[str, Any]:
    """Each rule's outcome in a GX validation result, by rule name; a rule GX could not evaluate raises."""
    outcomes = {}
    for outcome in result.results:
        name = (outcome.expectation_config.meta or {})["rule"]
        info = outcome.exception_info or {}
        if info.get("raised_exception"):
            raise RuntimeError(f"GX could not evaluate rule {name}: {info.get('exception_message')}")
        outcomes[name] = outcome
    return outcomes


def _any_filled_column(rule: Rule) -> str:
    return "__any_" + "_".join(rule.columns)


def _row_of(index_entry: Any) -> int:
    # A named index makes GX report {"_row": n, <column>: value}; an unnamed one the bare index value.
    return int(index_entry["_row"] if isinstance(index_entry, dict) else index_entry)


def _gx_limits(future_limits: dict[str, Any]) -> dict[str, Any]:
    # Pandas compares datetime64 columns with datetime bounds; BIGINT µs columns with ints.
    import pandas as pd

    return {k: (pd.Timestamp(v) if isinstance(v, datetime) else v) for k, v in future_limits.items()}
