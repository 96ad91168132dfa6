"""svta.release: a built dataset as a release others load — Parquet shards per split and the clips
(`datasets.load_dataset`), a dataset card, Croissant 1.0 metadata and a checksum list
(``svta build export hf``, ``svta build import hf``, ``svta build verify --release``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from svta.release.checksums import ReleaseCheck as ReleaseCheck
    from svta.release.checksums import verify_release as verify_release
    from svta.release.hf import HFOptions as HFOptions
    from svta.release.hf import export_release as export_release
    from svta.release.hf import import_release as import_release

_EXPORTS = {
    "HFOptions": "svta.release.hf",
    "export_release": "svta.release.hf",
    "import_release": "svta.release.hf",
    "verify_release": "svta.release.checksums",
    "ReleaseCheck": "svta.release.checksums",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
