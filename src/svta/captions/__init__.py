"""Stage 1, captions: the embedded template generator, the ``openai`` LLM backend (any
OpenAI-compatible server), importers of collected descriptions, and filtering.

Public API (imported lazily): :func:`generate_captions`, :func:`import_captions`,
:func:`filter_captions`, :func:`parse_caption`; vocabulary constants live in :mod:`svta.captions.vocab`.
"""

from __future__ import annotations

from typing import Any

_API = {
    "generate_captions": "svta.captions.generate",
    "GenerateResult": "svta.captions.generate",
    "import_captions": "svta.captions.importers",
    "ImportResult": "svta.captions.importers",
    "filter_captions": "svta.captions.filter",
    "FilterResult": "svta.captions.filter",
    "parse_caption": "svta.captions.vocab",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'svta.captions' has no attribute {name!r}")
