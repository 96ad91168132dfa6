"""The training run's logs: one JSON object per line in ``train_log.jsonl`` and TensorBoard scalars under
``tb/``. Only the main rank writes; other ranks get a logger that does nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from svta.progress import warn


class RunLogger:
    """Append events to ``<run_dir>/train_log.jsonl`` (and scalars to TensorBoard when enabled).

    Args:
        run_dir: the run directory.
        enabled: False on non-main ranks.
        tensorboard: also write TensorBoard event files (needs the ``tensorboard`` package).
    """

    def __init__(self, run_dir: Path, enabled: bool = True, tensorboard: bool = True):
        self.path = run_dir / "train_log.jsonl"
        self.enabled = enabled
        self._writer: Any = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                warn("tensorboard is not installed: logging to train_log.jsonl only (pip install 'svta[retrieval]')")
            else:
                self._writer = SummaryWriter(log_dir=str(run_dir / "tb"))

    def event(self, kind: str, **fields: Any) -> None:
        """One JSONL line ``{"event": kind, "time": ..., **fields}``, flushed at once (a crash keeps it)."""
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"event": kind, "time": round(time.time(), 3), **fields}, default=str)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def scalars(self, step: int, values: dict[str, float], prefix: str) -> None:
        """TensorBoard scalars ``<prefix>/<name>`` at ``step``."""
        if self._writer is None:
            return
        for name, value in values.items():
            self._writer.add_scalar(f"{prefix}/{name}", value, step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_log(run_dir: Path | str, kind: str | None = None) -> list[dict[str, Any]]:
    """The events of a run's ``train_log.jsonl`` (only those of ``kind`` when given)."""
    path = Path(run_dir) / "train_log.jsonl"
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in events if kind is None or e.get("event") == kind]
