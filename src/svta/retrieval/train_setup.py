"""What a training run sets up before its first step: the device check (no multi-day CPU run by accident), the
autocast precision, and the seeds of every random generator.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from svta.errors import ConfigError
from svta.retrieval.config import TrainConfig


def check_device(config: TrainConfig, device: str | None) -> None:
    """Refuse to train a full-size CLIP on the CPU unless asked: without a GPU, ``device=None`` would quietly
    start a run of days. svta's CPU shapes (``tiny``, ``small``) may fall back.

    Raises:
        ConfigError: no CUDA device, ``device`` not given, and a backbone other than svta's CPU shapes.
    """
    from svta.retrieval.backbone import svta_backbones

    if device is not None or config.backbone in svta_backbones() or torch.cuda.is_available():
        return
    raise ConfigError(
        f"training {config.model} on {config.backbone} needs a CUDA GPU and torch sees none; run on a "
        "GPU machine, or force the CPU (very slow) with --device cpu"
    )


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (``None``: full fp32)."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
