"""Lazy package exports: ``import svta.<stage>`` stays cheap; the module behind a name loads on first use.

A stage package lists its public names once; :func:`lazy_exports` gives the package a ``__getattr__`` that
imports on first access and a ``__dir__`` that lists them, so ``dir(svta.captions)`` shows the API. A stage
function listed in ``configs`` also accepts its config's fields as plain keyword arguments.

Type checkers do not run ``__getattr__``: each package also re-exports its names under ``if TYPE_CHECKING:``
(the real objects; a stage function as a stub of its signature plus ``**fields``), pinned by tests/test_api.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def lazy_exports(
    package: str, exports: Mapping[str, str], configs: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``name`` from the module ``exports[name]`` on first access.

    Args:
        package: the package's ``__name__``.
        exports: public name -> the module that defines it.
        configs: stage function name -> ``"module:ConfigClass"`` of the config it takes; the exported
            function then also takes that config's fields as keyword arguments
            (see :func:`svta._configbase.accepts_config_fields`).
    """
    resolved: dict[str, Any] = {}

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if name not in resolved:
            value = getattr(importlib.import_module(exports[name]), name)
            if configs and name in configs:
                from svta._configbase import accepts_config_fields

                value = accepts_config_fields(value, _load(configs[name]))
            resolved[name] = value
        return resolved[name]

    return __getattr__


def lazy_dir(namespace: Mapping[str, Any], exports: Mapping[str, str]) -> Callable[[], list[str]]:
    """A module ``__dir__`` listing the lazy ``exports`` beside what the module already holds."""

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __dir__
