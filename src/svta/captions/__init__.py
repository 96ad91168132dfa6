"""Stage 1, captions: the embedded template generator, the ``openai`` LLM backend (any
OpenAI-compatible server), importers of collected descriptions, and filtering.

Public API (imported lazily): :func:`generate_captions`, :func:`import_captions`,
:func:`filter_captions`, :func:`parse_caption`; vocabulary constants live in :mod:`svta.captions.vocab`.
"""

from __future__ import annotations

from svta._lazy import lazy_exports

_API = {
    "generate_captions": "svta.captions.generate",
    "GenerateResult": "svta.captions.generate",
    "import_captions": "svta.captions.importers",
    "ImportResult": "svta.captions.importers",
    "filter_captions": "svta.captions.filter",
    "FilterResult": "svta.captions.filter",
    "parse_caption": "svta.captions.vocab",
}


__getattr__ = lazy_exports(__name__, _API)
