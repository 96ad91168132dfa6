"""A training run's ``checkpoints/`` folder: full training states (``last.pt``, ``epoch-N.pt``), the
``latest.json`` pointer that resume follows, pruning of old epoch checkpoints, and the check that a checkpoint
may be continued with the settings given now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from svta.errors import ConfigError
from svta.retrieval.checkpoint import save_training_state
from svta.retrieval.config import TrainConfig
from svta.retrieval.results import CHECKPOINT_DIR, LATEST_POINTER
from svta.retrieval.run_log import RunLogger
from svta.tables import atomic_write_json


def holds_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` already holds a training run (its latest-checkpoint pointer exists)."""
    return (run_dir / CHECKPOINT_DIR / LATEST_POINTER).exists()


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The training state ``latest.json`` points at (``None``: the run has no checkpoint yet)."""
    pointer = run_dir / CHECKPOINT_DIR / LATEST_POINTER
    if not pointer.exists():
        return None
    return run_dir / CHECKPOINT_DIR / json.loads(pointer.read_text(encoding="utf-8"))["file"]


def save_checkpoint(
    run_dir: Path, name: str, state: dict[str, Any], *, step: int, epoch: int, keep: int, logger: RunLogger
) -> None:
    """Write ``state`` as ``checkpoints/<name>``, point ``latest.json`` at it, log it, and delete all but the
    ``keep`` newest ``epoch-N.pt`` files (never ``name`` itself)."""
    directory = run_dir / CHECKPOINT_DIR
    save_training_state(directory / name, state)
    atomic_write_json(directory / LATEST_POINTER, {"file": name, "step": step, "epoch": epoch})
    logger.event("checkpoint", file=name, step=step, epoch=epoch)
    prune_epoch_checkpoints(directory, keep, name)


def prune_epoch_checkpoints(directory: Path, keep: int, current: str) -> None:
    """Delete the oldest ``epoch-N.pt`` files of ``directory`` beyond the ``keep`` newest, sparing ``current``."""
    epochs = sorted(directory.glob("epoch-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    for old in epochs[: max(0, len(epochs) - keep)]:
        if old.name != current:
            old.unlink(missing_ok=True)


def check_resumable(path: Path, state: dict[str, Any], config: TrainConfig) -> None:
    """Refuse to continue a checkpoint of another model, or one trained with settings that shape training
    differently from ``config`` (a resumed run would otherwise mix two recipes and record only the second).

    Raises:
        ConfigError: naming the checkpoint's model, or each differing setting, its old value and how to proceed.
    """
    if state["model_name"] != config.model:
        raise ConfigError(f"{path}: checkpoint of {state['model_name']!r}, not {config.model!r}")
    saved = state.get("config")
    if saved is None:
        return
    differences = config.resume_differences(TrainConfig.model_validate(saved))
    if differences:
        shown = ", ".join(f"{k}={old!r} (now {new!r})" for k, (old, new) in sorted(differences.items()))
        raise ConfigError(
            f"{path}: the checkpoint was trained with {shown}; resume with the same settings "
            "(--set train.<name>=<value>) or start a new run (--name)"
        )
