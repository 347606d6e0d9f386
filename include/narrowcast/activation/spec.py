"""Sync declarations: the YAML files under ``include/syncs/`` turned into validated :class:`SyncSpec` objects.

Every problem is reported at load time with the file, the key and what is wrong, so a typo never becomes a
half-run sync in production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from narrowcast import settings

SYNCS_DIR = settings.PROJECT_ROOT / "include" / "syncs"
MODES = ("upsert", "mirror", "add_only")
SCHEDULE_GROUPS = ("audiences", "inventory")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_SYNC_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KNOWN_KEYS = {
    "id", "description", "model", "destination", "connection", "object", "target", "mode", "key", "fields",
    "pii", "filter", "schedule", "batch_size", "rate_limit", "owner", "enabled", "max_remove_share",
}


class SyncConfigError(ValueError):
    """A sync declaration is invalid; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class FieldMap:
    """One destination field filled from one model column; ``optional`` fields are dropped if the column is absent."""

    column: str
    optional: bool = False


@dataclass(frozen=True)
class RateLimit:
    rps: float
    burst: float
    concurrency: int


@dataclass(frozen=True)
class SyncSpec:
    id: str
    path: Path | None
    description: str
    model: str
    destination: str
    connection: str
    object: str
    target: Mapping[str, Any]
    mode: str
    key: tuple[str, ...]
    fields: Mapping[str, FieldMap]
    pii: frozenset[str]
    filter: Mapping[str, Any]
    schedule: str
    batch_size: int
    rate_limit: RateLimit
    owner: str = "marketing"
    extra: Mapping[str, Any] = field(default_factory=dict)
    # A paused sync (``enabled: false``) is validated but never run by the DAGs or a group run.
    enabled: bool = True
    # Share of the confirmed members a mirror run may remove unconfirmed; None = settings.MAX_REMOVE_SHARE.
    max_remove_share: float | None = None

    def where(self) -> str:
        return f"{self.path or '<in-memory>'}"


@dataclass(frozen=True)
class InvalidSync:
    """A declaration that failed validation: that sync alone is disabled, and reported with its file and key."""

    id: str  # the file name (the declared id may be the broken part): what the DAGs and the CLI show for it
    path: Path
    schedule: str | None  # None when the file does not say: every schedule group shows it
    error: SyncConfigError


@dataclass(frozen=True)
class SyncDeclarations:
    """Every declaration of a folder: the valid ones and, apart, the invalid ones."""

    specs: list[SyncSpec]
    invalid: list[InvalidSync]

    def in_group(self, group: str) -> tuple[list[SyncSpec], list[InvalidSync]]:
        """The group's enabled syncs, and the invalid declarations that name this group or none."""
        return ([s for s in self.specs if s.schedule == group and s.enabled],
                [i for i in self.invalid if i.schedule in (group, None)])


def read_syncs(directory: Path | None = None) -> SyncDeclarations:
    """Every ``*.yml``/``*.yaml`` sync under ``directory`` (default ``include/syncs``), each validated on its own.

    One invalid file disables its sync only: running syncs must not stop (stock pushes included) because
    someone mistyped an audience declaration.
    """
    folder = Path(directory) if directory is not None else SYNCS_DIR
    if not folder.is_dir():
        raise SyncConfigError(f"sync directory {folder} does not exist")
    specs: dict[str, SyncSpec] = {}
    invalid: list[InvalidSync] = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        raw: Any = None
        try:
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise SyncConfigError(f"{path}: not valid YAML: {exc}") from exc
            spec = parse_sync(raw, path=path)
            if spec.id in specs:
                raise SyncConfigError(f"{path}: key 'id': id {spec.id!r} is already declared in {specs[spec.id].path}")
        except SyncConfigError as exc:
            invalid.append(InvalidSync(path.stem, path, _declared_schedule(raw), exc))
            continue
        specs[spec.id] = spec
    return SyncDeclarations([specs[k] for k in sorted(specs)], invalid)


def _declared_schedule(raw: Any) -> str | None:
    value = raw.get("schedule") if isinstance(raw, Mapping) else None
    return value if value in SCHEDULE_GROUPS else None


def load_syncs(directory: Path | None = None) -> list[SyncSpec]:
    """Every valid sync under ``directory``, sorted by id; raises on the first invalid one (checks and tools)."""
    declarations = read_syncs(directory)
    if declarations.invalid:
        raise declarations.invalid[0].error
    return declarations.specs


def parse_sync(raw: Any, *, path: Path | None = None) -> SyncSpec:
    """Validate one declaration (a mapping as read from YAML)."""
    from narrowcast.activation.destinations import destination_class

    where = str(path) if path else "<in-memory sync>"

    def fail(key: str, problem: str) -> SyncConfigError:
        return SyncConfigError(f"{where}: key {key!r}: {problem}")

    if not isinstance(raw, Mapping):
        raise SyncConfigError(f"{where}: a sync declaration must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(_KNOWN_KEYS))})")
    for required in ("model", "destination", "object", "key", "fields", "schedule"):
        if raw.get(required) in (None, "", [], {}):
            raise fail(required, "is required")

    sync_id = str(raw.get("id") or (path.stem if path else ""))
    if not _SYNC_ID.match(sync_id):
        raise fail("id", f"{sync_id!r} must be lowercase letters, digits and underscores")
    model = str(raw["model"])
    if not _QUALIFIED.match(model):
        raise fail("model", f"{model!r} is not a table name (optionally schema.table)")

    try:
        dest_cls = destination_class(str(raw["destination"]))
    except KeyError as exc:
        raise fail("destination", str(exc.args[0])) from None
    # A connector named as module:ClassName is registered under its own name, the one the engine looks up.
    destination = dest_cls.name
    connection = raw.get("connection") or getattr(dest_cls, "connection_id", None)
    if not connection:
        raise fail("connection", f"is required ({destination} declares no default connection_id)")
    obj = str(raw["object"])
    if obj not in dest_cls.objects:
        raise fail("object", f"{obj!r} is not an object of {destination} (known: {', '.join(sorted(dest_cls.objects))})")
    obj_spec = dest_cls.objects[obj]

    mode = str(raw.get("mode") or obj_spec.default_mode)
    if mode not in MODES:
        raise fail("mode", f"{mode!r} must be one of {', '.join(MODES)}")
    if mode not in obj_spec.allowed_modes:
        raise fail("mode", f"{mode!r} is not supported by {destination}/{obj} (allowed: {', '.join(sorted(obj_spec.allowed_modes))})")

    key = raw["key"]
    key_cols = (key,) if isinstance(key, str) else tuple(key) if isinstance(key, list) else None
    if not key_cols or not all(isinstance(k, str) and _IDENT.match(k) for k in key_cols):
        raise fail("key", f"{key!r} must be a column name or a list of column names")

    fields_raw = raw["fields"]
    if not isinstance(fields_raw, Mapping):
        raise fail("fields", "must map destination field -> model column")
    fields: dict[str, FieldMap] = {}
    for dest_field, source in fields_raw.items():
        if isinstance(source, str):
            column, optional = source, False
        elif isinstance(source, Mapping) and isinstance(source.get("column"), str):
            column, optional = source["column"], bool(source.get("optional", False))
        else:
            raise fail(f"fields.{dest_field}", "must be a column name or {column: ..., optional: true}")
        if not _IDENT.match(column):
            raise fail(f"fields.{dest_field}", f"{column!r} is not a column name")
        fields[str(dest_field)] = FieldMap(column, optional)
    missing = sorted(obj_spec.required_fields - {f for f, m in fields.items() if not m.optional})
    if missing:
        raise fail("fields", f"{destination}/{obj} needs field(s) {', '.join(missing)}")
    if obj_spec.optional_fields is not None:
        extra_fields = sorted(set(fields) - obj_spec.required_fields - obj_spec.optional_fields)
        if extra_fields:
            raise fail(f"fields.{extra_fields[0]}", f"is not a field {destination}/{obj} accepts")

    pii = raw.get("pii") or []
    if not isinstance(pii, list) or not set(pii) <= set(fields):
        raise fail("pii", "must list destination fields declared under 'fields'")

    target = raw.get("target") or {}
    if not isinstance(target, Mapping):
        raise fail("target", "must be a mapping")
    missing_target = sorted(obj_spec.required_target - set(target))
    if missing_target:
        raise fail("target", f"{destination}/{obj} needs {', '.join(missing_target)}")

    problem = dest_cls.check_declaration(obj, target, set(fields))
    if problem:
        raise fail("target", f"{destination}/{obj} {problem}")

    filters = raw.get("filter") or {}
    if not isinstance(filters, Mapping) or not all(isinstance(c, str) and _IDENT.match(c) for c in filters):
        raise fail("filter", "must map column name -> value or list of values")
    for column, value in filters.items():
        if isinstance(value, Mapping):
            if set(value) != {"like"} or not isinstance(value["like"], str):
                raise fail(f"filter.{column}", "a mapping filter must be {like: 'pattern%'}")
            continue
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str | int | float | bool) for v in values):
            raise fail(f"filter.{column}", "values must be scalars, a non-empty list of scalars, or {like: ...}")

    schedule = str(raw["schedule"])
    if schedule not in SCHEDULE_GROUPS:
        raise fail("schedule", f"{schedule!r} must be one of {', '.join(SCHEDULE_GROUPS)}")

    limits = dest_cls.limits
    batch_size = raw.get("batch_size", limits.max_batch_size)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise fail("batch_size", f"{batch_size!r} must be a positive integer")
    if batch_size > limits.max_batch_size:
        raise fail("batch_size", f"{batch_size} exceeds the {destination} limit of {limits.max_batch_size} rows per request")

    rl = raw.get("rate_limit") or {}
    if not isinstance(rl, Mapping) or set(rl) - {"rps", "burst", "concurrency"}:
        raise fail("rate_limit", "must be a mapping with rps, burst, concurrency")
    rps = rl.get("rps", limits.default_rps)
    burst = rl.get("burst", limits.default_burst)
    concurrency = rl.get("concurrency", 1)
    if not isinstance(rps, int | float) or rps <= 0:
        raise fail("rate_limit.rps", f"{rps!r} must be a number > 0")
    if not isinstance(burst, int | float) or burst < 1:
        raise fail("rate_limit.burst", f"{burst!r} must be a number >= 1")
    if not isinstance(concurrency, int) or not 1 <= concurrency <= limits.max_concurrency:
        raise fail("rate_limit.concurrency", f"{concurrency!r} must be an integer in 1..{limits.max_concurrency}")

    return SyncSpec(
        id=sync_id,
        path=path,
        description=str(raw.get("description") or ""),
        model=model,
        destination=destination,
        connection=str(connection),
        object=obj,
        target=dict(target),
        mode=mode,
        key=key_cols,
        fields=fields,
        pii=frozenset(pii),
        filter=dict(filters),
        schedule=schedule,
        batch_size=batch_size,
        rate_limit=RateLimit(float(rps), float(burst), concurrency),
        owner=str(raw.get("owner") or "marketing"),
        enabled=_enabled(raw.get("enabled", True), fail),
        max_remove_share=_share(raw.get("max_remove_share"), fail),
    )


def _enabled(value: Any, fail) -> bool:
    if not isinstance(value, bool):
        raise fail("enabled", f"{value!r} must be true or false")
    return value


def _share(value: Any, fail) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise fail("max_remove_share", f"{value!r} must be a number from 0 to 1 (a share of the current members)")
    return float(value)
