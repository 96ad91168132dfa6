"""What made an artefact: a short digest of the source files and data files that produced it.

Caches and resumed outputs record the digest beside what they hold; when the code or its data change,
the digest changes and the stale artefact is made again instead of being mixed with new ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

DIGEST_CHARS = 16


def labelled_digest(items: Iterable[tuple[str, bytes]]) -> str:
    """Digest over ``(label, bytes)`` pairs, in the order given (16 hex digits)."""
    h = hashlib.sha256()
    for label, data in items:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()[:DIGEST_CHARS]


@lru_cache(maxsize=64)
def module_digest(modules: tuple[str, ...], data_files: tuple[str, ...] = ()) -> str:
    """Digest of the source of ``modules`` (dotted names, e.g. ``svta.videos.draw``) and of the package
    data files ``data_files`` (paths under ``svta/resources``), read without importing the modules.

    The labels are the dotted names and data paths, not file-system paths, so the same code gives the
    same digest wherever it is installed (a Ray worker and its driver agree). Cached per process.
    """
    import importlib.util

    items: list[tuple[str, bytes]] = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"no module named {name!r}")
        items.append((name, Path(spec.origin).read_bytes()))
    shipped = resources.files("svta").joinpath("resources")
    items.extend((f"resources/{name}", shipped.joinpath(name).read_bytes()) for name in data_files)
    return labelled_digest(items)
