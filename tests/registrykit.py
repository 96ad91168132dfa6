"""Registry entries for the length of a test: register a test backend, model or embedder and put the registry
back as it was afterwards, so no test sees another's entries (``registered`` fixture in ``conftest.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def temporarily_registered(kind: str, name: str, obj: Any, description: str = "") -> Iterator[Any]:
    """Register ``obj`` as ``name`` in the ``kind`` registry for the ``with`` block; afterwards the registry's
    entry for ``name`` is what it was before (absent, or the entry it replaced)."""
    from svta.registry import registry

    table = registry(kind)
    missing = object()
    before = [table.entries.pop(name, missing), table.descriptions.pop(name, missing)]
    table.register(name, description)(obj)
    try:
        yield obj
    finally:
        for store, value in zip((table.entries, table.descriptions), before):
            if value is missing:
                store.pop(name, None)
            else:
                store[name] = value
