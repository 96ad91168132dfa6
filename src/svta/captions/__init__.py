"""Stage 1, captions: the embedded template generator, the ``openai`` LLM backend (any
OpenAI-compatible server), importers of collected descriptions, and filtering.

Public API (imported on first use): :func:`generate_captions` (takes a :class:`CaptionsConfig` or its fields as
keyword arguments), :func:`import_captions`, :func:`filter_captions` (a :class:`FilterConfig` or its fields),
:func:`parse_caption`; vocabulary constants live in :mod:`svta.captions.vocab`.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

_API = {
    "generate_captions": "svta.captions.generate",
    "GenerateResult": "svta.captions.generate",
    "import_captions": "svta.captions.importers",
    "ImportResult": "svta.captions.importers",
    "filter_captions": "svta.captions.filter",
    "FilterResult": "svta.captions.filter",
    "parse_caption": "svta.captions.vocab",
    "CaptionsConfig": "svta.captions.config",
    "FilterConfig": "svta.captions.config",
    "OpenAIBackendConfig": "svta.captions.config",
    "TemplateBackendConfig": "svta.captions.config",
}
_CONFIGS = {
    "generate_captions": "svta.captions.config:CaptionsConfig",
    "filter_captions": "svta.captions.config:FilterConfig",
}
__all__ = sorted(_API)

__getattr__ = lazy_exports(__name__, _API, _CONFIGS)
__dir__ = lazy_dir(globals(), _API)
