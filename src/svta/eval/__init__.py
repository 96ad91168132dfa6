"""Stage 6, evaluation: text↔video retrieval metrics streamed block by block (R@K, MdR, MnR, matching
CLIP4Clip's ``compute_metrics`` in compat mode), re-ranking, breakdowns, tables and figures.

Public API (imported on first use): :func:`evaluate` (a model — run folder, weight file or model object — on a
dataset split or an evaluation set: the one evaluation entry point), :func:`evaluate_runs` (the stage: results tables and analyses of trained
runs, with an :class:`EvalConfig` or its fields), :func:`evaluate_similarity`, :func:`evaluate_embeddings`,
:func:`results_table`, :func:`write_table`. Modules: ``metrics``, ``streaming`` (``stream_ranks``),
``rerank``, ``breakdown``, ``report``, ``figures``, ``evaluate``, ``stage``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from pathlib import Path
    from typing import Any

    from svta.eval.api import evaluate as evaluate
    from svta.eval.config import EvalConfig as EvalConfig
    from svta.eval.metrics import evaluate_similarity as evaluate_similarity
    from svta.eval.report import results_table as results_table
    from svta.eval.report import write_table as write_table
    from svta.eval.streaming import evaluate_embeddings as evaluate_embeddings

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def evaluate_runs(
        root: Path | str,
        runs: dict[str, Path],
        config: EvalConfig | None = None,
        *,
        seed: int = 0,
        out_dir: Path | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """:func:`svta.eval.stage.evaluate_runs`, also taking :class:`EvalConfig` fields."""


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
