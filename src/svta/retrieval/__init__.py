"""svta.retrieval: text-video retrieval models (CLIP4Clip heads on a CLIP backbone), their trainer and evaluator.

``create_model(name, backbone="tiny", pretrained=None, **overrides)`` builds a registered model;
``train(root, config)`` (or ``train(root, epochs=2, ...)`` with :class:`TrainConfig` fields) runs the recipe;
:func:`svta.eval.evaluate` scores a finished run (``evaluate_run``, ``evaluate_checkpoint``: deprecated
wrappers). Importing this package is cheap: torch loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svta._lazy import lazy_dir, lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use (below)
    from pathlib import Path
    from typing import Any

    from svta.retrieval.base import RetrievalModel as RetrievalModel
    from svta.retrieval.base import TextFeatures as TextFeatures
    from svta.retrieval.base import VideoFeatures as VideoFeatures
    from svta.retrieval.config import TrainConfig as TrainConfig
    from svta.retrieval.evaluate import EvalReport as EvalReport
    from svta.retrieval.evaluate import evaluate_checkpoint as evaluate_checkpoint
    from svta.retrieval.evaluate import evaluate_model as evaluate_model
    from svta.retrieval.evaluate import evaluate_run as evaluate_run
    from svta.retrieval.factory import create_model as create_model
    from svta.retrieval.factory import register_model as register_model
    from svta.retrieval.trainer import TrainResult as TrainResult

    # Stage functions: the real signature plus the config's fields as keyword arguments (see _CONFIGS).
    def train(
        root: Path | str,
        train_config: TrainConfig | None = None,
        *,
        run_name: str | None = None,
        run_dir: Path | str | None = None,
        resume: bool = False,
        device: str | None = None,
        test: bool = True,
        analysis: bool = True,
        **fields: Any,
    ) -> TrainResult:
        """:func:`svta.retrieval.trainer.train`, also taking :class:`TrainConfig` fields."""


_LAZY = {
    "create_model": "svta.retrieval.factory",
    "register_model": "svta.retrieval.factory",
    "train": "svta.retrieval.trainer",
    "TrainResult": "svta.retrieval.trainer",
    "evaluate_model": "svta.retrieval.evaluate",
    "evaluate_run": "svta.retrieval.evaluate",
    "evaluate_checkpoint": "svta.retrieval.evaluate",
    "EvalReport": "svta.retrieval.evaluate",
    "TrainConfig": "svta.retrieval.config",
    "RetrievalModel": "svta.retrieval.base",
    "TextFeatures": "svta.retrieval.base",
    "VideoFeatures": "svta.retrieval.base",
}
_CONFIGS = {"train": "svta.retrieval.config:TrainConfig"}
__all__ = sorted(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY, _CONFIGS)
__dir__ = lazy_dir(globals(), _LAZY)
