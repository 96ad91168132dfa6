"""svta.retrieval: text-video retrieval models (CLIP4Clip heads on a CLIP backbone), their trainer and evaluator.

``create_model(name, backbone="tiny", pretrained=None, **overrides)`` builds a registered model;
``train(root, config)`` runs the recipe. Importing this package is cheap: torch loads on first use.
"""

from __future__ import annotations

from svta._lazy import lazy_exports

__all__ = ["RetrievalModel", "TextFeatures", "TrainConfig", "VideoFeatures", "create_model", "evaluate_model",
           "register_model", "train"]

_LAZY = {
    "create_model": "svta.retrieval.factory",
    "register_model": "svta.retrieval.factory",
    "train": "svta.retrieval.trainer",
    "TrainResult": "svta.retrieval.trainer",
    "evaluate_model": "svta.retrieval.evaluate",
    "TrainConfig": "svta.retrieval.config",
    "RetrievalModel": "svta.retrieval.base",
    "TextFeatures": "svta.retrieval.base",
    "VideoFeatures": "svta.retrieval.base",
}


__getattr__ = lazy_exports(__name__, _LAZY)
