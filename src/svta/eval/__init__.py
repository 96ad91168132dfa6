"""Stage 6, evaluation: text↔video retrieval metrics streamed block by block (R@K, MdR, MnR, matching
CLIP4Clip's ``compute_metrics`` in compat mode), re-ranking, breakdowns, tables and figures.

Public API (imported on first use): :func:`evaluate` (a model — run folder, weight file or model object — on a
dataset split or an evaluation set: the one evaluation entry point), :func:`evaluate_runs` (the stage: results tables and analyses of trained
runs, with an :class:`EvalConfig` or its fields), :func:`evaluate_similarity`, :func:`evaluate_embeddings`,
:func:`results_table`, :func:`write_table`. Modules: ``metrics``, ``streaming`` (``stream_ranks``),
``rerank``, ``breakdown``, ``report``, ``figures``, ``evaluate``, ``stage``.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

_API = {
    "evaluate": "svta.eval.api",
    "evaluate_runs": "svta.eval.stage",
    "EvalConfig": "svta.eval.config",
    "evaluate_similarity": "svta.eval.metrics",
    "evaluate_embeddings": "svta.eval.streaming",
    "results_table": "svta.eval.report",
    "write_table": "svta.eval.report",
}
_CONFIGS = {"evaluate_runs": "svta.eval.config:EvalConfig"}
__all__ = sorted(_API)

__getattr__ = lazy_exports(__name__, _API, _CONFIGS)
__dir__ = lazy_dir(globals(), _API)
