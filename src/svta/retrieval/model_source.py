"""Where an evaluated model comes from: a training run folder (its ``best_model.bin`` and the recipe in its
``config.yaml``) or a weight file (CLIP4Clip's ``pytorch_model.bin.N``, svta's ``best_model.bin``, a training
checkpoint). One loader serves ``svta eval``, the pipeline's eval stage and :func:`svta.eval.evaluate`.

A weight file inside a run folder takes the run's settings as well; an argument given to the loader overrides
a saved one, and an info line says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svta.errors import InputError
from svta.progress import warn


@dataclass
class LoadedModel:
    """A model ready to evaluate and what it is.

    Attributes:
        model: the :class:`~svta.retrieval.base.RetrievalModel`, in eval mode, on its device.
        info: ``run`` or ``checkpoint``, ``name``, ``label`` (the table name), ``backbone``, ``max_frames``,
            ``max_words`` and ``sample_fps`` (the run's frame rate, ``None`` when it sampled uniformly).
        run_dir: the run folder, when the weights belong to one.
    """

    model: Any
    info: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None

    @property
    def sample_fps(self) -> float | None:
        """The frame rate the model was trained with (``None``: frames spread uniformly over each clip)."""
        value = self.info.get("sample_fps")
        return float(value) if value is not None else None


def run_weights(run_dir: Path | str) -> Path:
    """The selected weights of a finished run (InputError when ``run_dir`` is not one)."""
    from svta.retrieval.results import BEST_MODEL_FILE, read_config

    run_dir = Path(run_dir)
    weights = run_dir / BEST_MODEL_FILE
    if not read_config(run_dir) or not weights.exists():
        raise InputError(f"{run_dir}: not a finished svta run (needs config.yaml and {BEST_MODEL_FILE})")
    return weights


def run_root(run_dir: Path | str, config: dict[str, Any]) -> Path:
    """The dataset root a run was trained on. Runs record it relative to the run folder, so a copied or moved
    root still finds its data; runs written before kept the path as given to ``svta train``."""
    run_dir = Path(run_dir)
    recorded = Path(config["root"])
    if recorded.is_absolute():
        return recorded
    beside = (run_dir / recorded).resolve()
    if (beside / "manifest.parquet").exists() or not recorded.exists():
        return beside
    return recorded


def recorded_root(run_dir: Path | str) -> Path | None:
    """The dataset root recorded in a run's ``config.yaml`` (``None`` when it records none)."""
    from svta.retrieval.results import read_config

    config = read_config(run_dir)
    return run_root(run_dir, config) if config.get("root") else None


def saved_settings(weights: Path) -> dict[str, Any]:
    """Model name, frames, words, head arguments, frame rate and backbone from the ``config.yaml`` of the run
    holding ``weights`` (``{}`` when there is none)."""
    from svta.retrieval.results import read_config, read_train_config

    config = read_config(weights.parent)
    if "train" not in config:
        return {}
    train = read_train_config(weights.parent, config)
    overrides = train.model_overrides()
    return {
        "model": train.model,
        "max_frames": overrides.pop("max_frames"),
        "max_words": overrides.pop("max_words"),
        "sample_fps": train.sample_fps,
        "backbone": train.backbone,
        "model_args": overrides,
    }


def load_model(
    source: Path | str,
    *,
    model_name: str | None = None,
    max_frames: int | None = None,
    max_words: int | None = None,
    sample_fps: float | None = None,
    model_args: dict[str, Any] | None = None,
    device: str | None = None,
) -> LoadedModel:
    """The model of a run folder or a weight file, in eval mode on ``device``.

    Args:
        source: a run folder (``svta train``'s output: ``config.yaml`` + ``best_model.bin``) or a weight file.
        model_name: registry name, when the run does not record it and the weights do not determine it.
        max_frames: frames per video (default: the run's, else 12, CLIP4Clip's).
        max_words: caption token positions (default: the run's, else 32).
        sample_fps: frame rate to sample at (default: the run's; recorded in ``info``).
        model_args: further model arguments the weights do not determine (e.g. GRAM's ``rerank_k``).
        device: ``cpu`` / ``cuda``; default CUDA when available.

    Raises:
        InputError: ``source`` is neither a finished run nor a weight file, or the weights do not load.
    """
    import torch

    from svta.eval.report import method_name
    from svta.retrieval.checkpoint import model_from_checkpoint

    source = Path(source)
    run_dir = source if source.is_dir() else None
    if run_dir is not None:
        weights = run_weights(run_dir)
    elif source.is_file():
        weights = source
    else:
        raise InputError(f"{source}: no such run folder or weight file")
    given = {"model": model_name, "max_frames": max_frames, "max_words": max_words, "sample_fps": sample_fps}
    saved = saved_settings(weights)
    for key, value in given.items():
        if value is not None and key in saved and saved[key] != value:
            warn(f"{key} {value} overrides {saved[key]} from {weights.parent / 'config.yaml'}")
    settings = {**saved, **{k: v for k, v in given.items() if v is not None}}
    arguments = {
        **saved.get("model_args", {}),
        **(model_args or {}),
        **{k: settings[k] for k in ("max_frames", "max_words") if settings.get(k) is not None},
    }
    model = model_from_checkpoint(weights, settings.get("model"), **arguments)
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = model.to(target).eval()
    info: dict[str, Any] = {"run": str(run_dir)} if run_dir is not None else {"checkpoint": str(weights)}
    if saved:
        info.update(sample_fps=settings.get("sample_fps"), backbone=saved["backbone"])
    name = settings.get("model") or type(model).__name__
    info.update(name=name, max_frames=model.max_frames, max_words=model.max_words)
    info["label"] = method_name(name, info.get("backbone"))  # as every other table names it
    return LoadedModel(model, info, run_dir)
