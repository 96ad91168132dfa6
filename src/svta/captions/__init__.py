"""Stage 1, captions: the embedded template generator, the ``openai`` LLM backend (any
OpenAI-compatible server), importers of collected descriptions, and filtering.

Public API (imported on first use): :func:`generate_captions` (takes a :class:`CaptionsConfig` or its fields as
keyword arguments), :func:`import_captions`, :func:`filter_captions` (a :class:`FilterConfig` or its fields),
:func:`parse_caption`; vocabulary constants live in :mod:`svta.captions.vocab`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from pathlib import Path
    from typing import Any

    from svta.captions.config import CaptionsConfig as CaptionsConfig
    from svta.captions.config import FilterConfig as FilterConfig
    from svta.captions.config import OpenAIBackendConfig as OpenAIBackendConfig
    from svta.captions.config import TemplateBackendConfig as TemplateBackendConfig
    from svta.captions.filter import FilterResult as FilterResult
    from svta.captions.generate import GenerateResult as GenerateResult
    from svta.captions.importers import ImportResult as ImportResult
    from svta.captions.importers import import_captions as import_captions
    from svta.captions.vocab import parse_caption as parse_caption
    from svta.taxonomy import Taxonomy

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def generate_captions(
        root: Path | str,
        config: CaptionsConfig | None = None,
        seed: int = 0,
        taxonomy: Taxonomy | Path | str | None = None,
        **fields: Any,
    ) -> GenerateResult:
        """:func:`svta.captions.generate.generate_captions`, also taking :class:`CaptionsConfig` fields."""

    def filter_captions(
        root: Path | str,
        config: FilterConfig | None = None,
        report: Path | str | None = None,
        dry_run: bool = False,
        **fields: Any,
    ) -> FilterResult:
        """:func:`svta.captions.filter.filter_captions`, also taking :class:`FilterConfig` fields."""


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
