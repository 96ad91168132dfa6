"""What a logged training step reports: its values (loss, gradient norm, throughput, learning rates, CLIP's
temperature) for ``train_log.jsonl`` and TensorBoard, and the CLIP4Clip-style console line with an ETA.
"""

from __future__ import annotations

import time
from typing import Any

from svta.progress import format_seconds


def step_values(optimizer: Any, model: Any, loss: float, grad_norm: float, clips_per_s: float) -> dict[str, float]:
    """The numbers logged for one optimiser step: ``loss``, ``grad_norm``, ``clips_per_s``, the new modules'
    rate ``lr`` and CLIP's rate ``lr_clip`` (each when the optimiser has that group), ``logit_scale`` (``exp``
    of the model's temperature parameter, when it has one)."""
    lrs = {g["name"]: g["lr"] for g in optimizer.param_groups}
    scale = model.logit_scale_parameter()
    values = {"loss": loss, "grad_norm": grad_norm, "clips_per_s": clips_per_s}
    # a model without new modules (MeanP) has no "new" groups: only the CLIP rate is logged then
    for key, prefix in (("lr", "new"), ("lr_clip", "clip")):
        rate = lrs.get(f"{prefix}-decay", lrs.get(f"{prefix}-no_decay"))
        if rate is not None:
            values[key] = rate
    if scale is not None:
        values["logit_scale"] = float(scale.detach().exp())
    return values


class StepClock:
    """Seconds per optimiser step since this invocation started, for the ETA.

    Args:
        first_step: the step the invocation starts at (a resumed run does not count the steps before it).
        clock: the time source (``time.perf_counter``).
    """

    def __init__(self, first_step: int, clock: Any = time.perf_counter):
        self.first_step, self.clock = first_step, clock
        self.started = clock()

    def seconds_per_step(self, step: int) -> float:
        """Mean seconds of the steps taken since the start (0.0 before the first)."""
        taken = step - self.first_step
        return (self.clock() - self.started) / taken if taken > 0 else 0.0


def planned_steps(steps_per_epoch: int, epochs: int, max_steps: int | None) -> int:
    """The run's total optimiser steps: every epoch's, or ``max_steps`` when that stops it earlier."""
    planned = steps_per_epoch * epochs
    return min(planned, max_steps) if max_steps is not None else planned


def console_line(
    epoch: int, epochs: int, step: int, planned: int, values: dict[str, float], seconds_per_step: float
) -> str:
    """CLIP4Clip-style progress: ``epoch 1/5 step 10/280 loss 2.0794 lr 1.0e-04 (clip 1.0e-07) 12.3 clips/s
    ETA 0:03:12``; the ETA extrapolates ``seconds_per_step`` to the steps left. ``epoch`` is 0-based."""
    rates = [f"{values['lr']:.1e}"] if "lr" in values else []
    if "lr_clip" in values:
        rates.append(f"(clip {values['lr_clip']:.1e})" if rates else f"{values['lr_clip']:.1e}")
    return (
        f"epoch {epoch + 1}/{epochs} step {step}/{planned} loss {values['loss']:.4f} "
        f"lr {' '.join(rates)} {values['clips_per_s']:.1f} clips/s "
        f"ETA {format_seconds(seconds_per_step * max(0, planned - step))}"
    )
