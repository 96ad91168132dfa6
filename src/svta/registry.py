"""Registries: one per kind of plug-in (caption backends, video backends, models, ...).

Entries register with a decorator; third-party packages add more through the ``svta.plugins``
entry-point group (each entry point is a module that registers on import).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from svta.errors import ConfigError, MissingExtraError

T = TypeVar("T")


@dataclass
class Registry(Generic[T]):
    """A named table of factories of one kind."""

    kind: str
    entries: dict[str, T] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``."""

        def decorate(obj: T) -> T:
            if name in self.entries and self.entries[name] is not obj:
                raise ConfigError(f"{self.kind} {name!r} is registered twice")
            self.entries[name] = obj
            doc = description or (getattr(obj, "__doc__", "") or "").strip().splitlines()[0:1]
            self.descriptions[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return obj

        return decorate

    def get(self, name: str) -> T:
        load_builtin_plugins()
        if name not in self.entries:
            known = ", ".join(sorted(self.entries)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}")
        return self.entries[name]

    def names(self) -> list[str]:
        load_builtin_plugins()
        return sorted(self.entries)


REGISTRIES: dict[str, Registry[Any]] = {}


def registry(kind: str) -> Registry[Any]:
    """The registry of ``kind``, created on first use."""
    if kind not in REGISTRIES:
        REGISTRIES[kind] = Registry(kind)
    return REGISTRIES[kind]


# Modules whose import registers the built-in entries: each stage's declared plug-in modules
# (svta/stages.py), in pipeline order. The import is cheap: heavy libraries load lazily inside the backends.
def builtin_plugin_modules() -> list[str]:
    """The modules :func:`load_builtin_plugins` imports, from the stage declarations."""
    from svta.stages import STAGES

    return list(dict.fromkeys(module for declared in STAGES for module in declared.plugins))


_loaded = False


def load_builtin_plugins() -> None:
    """Import every built-in registering module and the third-party entry points, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in builtin_plugin_modules():
        importlib.import_module(module)
    from importlib.metadata import entry_points

    for ep in entry_points(group="svta.plugins"):
        ep.load()


def require(module: str, extra: str) -> Any:
    """Import ``module`` or raise a one-line error naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name and module.split(".")[0] != exc.name.split(".")[0]:
            raise
        raise MissingExtraError(module, extra) from None
