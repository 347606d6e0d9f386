"""Lazy re-exports for a source package, so that reading its ``tables.py`` never imports its HTTP client.

The registry imports every source package to collect its declarations; DAG parsing and the CLI read the
registry. A package's connector (client, extract function) is imported on first attribute access instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``name`` from the submodule ``exports[name]`` of ``package``."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{exports[name]}")
        namespace = vars(importlib.import_module(package))
        # Importing a submodule binds its name on the package (``extract`` the module); the exported function
        # of the same name must win, as it did when the package imported it eagerly.
        for export, submodule in exports.items():
            if submodule == exports[name]:
                namespace[export] = getattr(module, export)
        return namespace[name]

    return __getattr__
