"""svta.release: a built dataset as a release others load — Parquet shards per split and the clips
(`datasets.load_dataset`), a dataset card, Croissant 1.0 metadata and a checksum list
(``svta build export hf``, ``svta build import hf``, ``svta build verify --release``).
"""

from __future__ import annotations

from svta._lazy import lazy_exports

_EXPORTS = {
    "HFOptions": "svta.release.hf",
    "export_release": "svta.release.hf",
    "import_release": "svta.release.hf",
    "verify_release": "svta.release.checksums",
    "ReleaseCheck": "svta.release.checksums",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
