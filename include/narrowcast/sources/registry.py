"""Every source Narrowcast extracts, collected from the sources' own declarations.

Each package under ``narrowcast.sources`` declares its raw tables and how it loads in ``tables.py`` (a
``SOURCE``); a source living elsewhere is named in the ``NARROWCAST_SOURCE_MODULES`` setting (modules that
define ``SOURCE``) or calls :func:`register_source`. Adding a source never means editing this file.

Reading the registry (DAG parsing, the CLI's help) imports only declarations: extractors are imported on first
use, so no HTTP client or heavy library is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import narrowcast.sources
from narrowcast import settings
from narrowcast.contracts.tables import EntitySpec, SourceSpec

DECLARATIONS = "tables"

SOURCES: dict[str, SourceSpec] = {}
ENTITIES: dict[str, EntitySpec] = {}


def register_source(spec: SourceSpec) -> SourceSpec:
    """Add a source; its raw table names must be new (a table has one owner). Registering it again is a no-op."""
    if SOURCES.get(spec.name) == spec:
        return spec
    if spec.name in SOURCES:
        raise ValueError(f"source {spec.name!r} is already declared differently")
    for table in spec.entities:
        if table.name in ENTITIES:
            raise ValueError(f"raw table {table.name!r} of source {spec.name!r} is already declared by another source")
    SOURCES[spec.name] = spec
    ENTITIES.update((table.name, table) for table in spec.entities)
    return spec


def _declaration_modules() -> list[str]:
    packages = sorted(
        info.name for info in pkgutil.iter_modules(narrowcast.sources.__path__, "narrowcast.sources.") if info.ispkg
    )
    own = [f"{package}.{DECLARATIONS}" for package in packages
           if importlib.util.find_spec(f"{package}.{DECLARATIONS}") is not None]
    return own + list(settings.source_modules())


def _collect() -> None:
    for module_name in _declaration_modules():
        module = importlib.import_module(module_name)
        spec = getattr(module, "SOURCE", None)
        if not isinstance(spec, SourceSpec):
            raise TypeError(f"{module_name} declares no SOURCE (a narrowcast.contracts.tables.SourceSpec)")
        register_source(spec)


def source(name: str) -> SourceSpec:
    """The source called ``name``; the error lists the known ones."""
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r} (known: {', '.join(SOURCES)})") from None


def entity(name: str) -> EntitySpec:
    """The raw table spec called ``name`` (without the ``raw.`` schema)."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown raw table {name!r} (known: {', '.join(ENTITIES)})") from None


_collect()
