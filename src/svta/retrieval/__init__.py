"""svta.retrieval: text-video retrieval models (CLIP4Clip heads on a CLIP backbone), their trainer and evaluator.

``create_model(name, backbone="tiny", pretrained=None, **overrides)`` builds a registered model;
``train(root, config)`` (or ``train(root, epochs=2, ...)`` with :class:`TrainConfig` fields) runs the recipe;
:func:`svta.eval.evaluate` scores a finished run (``evaluate_run``, ``evaluate_checkpoint``: deprecated
wrappers). Importing this package is cheap: torch loads on first use.
"""

from __future__ import annotations

from svta._lazy import lazy_dir, lazy_exports

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
