"""Destination connectors, by the name a sync declaration uses in ``destination:``.

Every :class:`Destination` subclass defined in a module of this package is collected; a connector living
elsewhere is registered with :func:`register_destination`, or named by a sync declaration as
``destination: package.module:ClassName``. Adding a destination never means editing this file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from narrowcast.activation.destinations.base import Destination

DESTINATIONS: dict[str, type[Destination]] = {}


def register_destination(cls: type[Destination]) -> type[Destination]:
    """Make ``cls`` available under ``cls.name`` (usable as a class decorator); registering it again is a no-op."""
    if not (inspect.isclass(cls) and issubclass(cls, Destination)) or inspect.isabstract(cls):
        raise TypeError(f"{cls!r} is not a concrete narrowcast Destination subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"destination {cls.__qualname__} declares no name")
    known = DESTINATIONS.get(name)
    if known is not None and known is not cls:
        raise ValueError(f"destination name {name!r} is taken by {known.__module__}.{known.__qualname__}")
    DESTINATIONS[name] = cls
    return cls


def destination_class(reference: str) -> type[Destination]:
    """The destination a sync names: a registered name, or ``module:ClassName`` (imported and registered)."""
    if ":" not in reference:
        if reference not in DESTINATIONS:
            raise KeyError(f"{reference!r} is unknown (known: {', '.join(sorted(DESTINATIONS))}, or module:ClassName)")
        return DESTINATIONS[reference]
    module_name, _, attr = reference.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise KeyError(f"{reference!r} cannot be imported: {exc}") from None
    try:
        return register_destination(cls)
    except (TypeError, ValueError) as exc:
        raise KeyError(f"{reference!r}: {exc}") from None


def _collect() -> None:
    for info in sorted(pkgutil.iter_modules(__path__, f"{__name__}."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            # A class without a name of its own is a shared base, not a destination a sync can name.
            if cls.__module__ == module.__name__ and issubclass(cls, Destination) and "name" in vars(cls):
                register_destination(cls)


_collect()

__all__ = ["DESTINATIONS", "Destination", "destination_class", "register_destination"]
