"""Configuration of retrieval training (stage 5): the CLIP4Clip recipe as defaults, plus named presets.

Defaults follow CLIP4Clip's MSR-VTT recipe (REFERENCE.md §3); ``TrainConfig.preset("cpu-demo")`` trains a
tiny CLIP from scratch on a laptop CPU in minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator, model_validator

from svta._configbase import StrictModel
from svta.errors import ConfigError

Precision = Literal["auto", "fp32", "bf16", "fp16"]
Schedule = Literal["auto", "warmup_cosine", "warmup_linear"]

# The optimisation recipe each model family was published with; "auto" in TrainConfig picks these.
# CLIP4Clip and X-CLIP: warmup then cosine, gradient norm clipped at 1.0. GRAM's released code: warmup then
# linear decay to 0 (``warmup_linear``), gradient clipping commented out (none).
DEFAULT_RECIPE: dict[str, Any] = {"schedule": "warmup_cosine", "grad_clip": 1.0}
MODEL_RECIPES: dict[str, dict[str, Any]] = {"gram": {"schedule": "warmup_linear", "grad_clip": None}}


class TrainConfig(StrictModel):
    """Everything a training run needs; every field is saved in ``runs/<name>/config.yaml``."""

    # model
    model: str = "clip4clip-meanp"  # registry "retrieval_model": clip4clip-meanp|seqlstm|seqtransf|tighttransf
    backbone: str = (
        "tiny"  # tiny | small (svta/resources/model_configs) | an open_clip ViT name (ViT-B-32) | an OpenAI .pt
    )
    pretrained: str | None = None  # None (random init) | "openai" (download) | path of an OpenAI .pt / state dict
    linear_patch: Literal["2d", "3d"] = "2d"
    temporal_layers: int = 4  # CLIP4Clip: cross_num_hidden_layers 4 (seqTransf / tightTransf)
    # model-specific arguments, e.g. {"mask_padding": true} (xclip) or {"rerank_k": 50, "rerank_tail": "zero",
    # "itm_weight": 0.1} (gram); checked against what the model accepts when it is built
    model_args: dict[str, Any] = {}
    # data (CLIP4Clip MSR-VTT: 32 words, 12 frames, 224 px)
    max_words: int = 32
    max_frames: int = 12
    sample_fps: float | None = None  # None: max_frames spread over the clip; 1.0: CLIP4Clip MSR-VTT (1 fps, cap)
    splits: tuple[str, str, str] = ("train", "val", "test")
    num_workers: int = 2
    frame_cache: bool = False  # decode sampled frames once into uint8 .npy shards
    cache_dir: Path | None = None  # None: <root>/cache/frames
    # optimisation (CLIP4Clip: batch 128, 5 epochs, lr 1e-4, coef_lr 1e-3, warmup 0.1, seed 42)
    batch_size: int = 128  # global contrastive batch per optimiser step, over all ranks
    grad_accum: int = 1  # micro-batches per optimiser step (each is its own contrastive batch)
    epochs: int = 5
    lr: float = 1e-4  # new modules (temporal heads, cross encoder)
    coef_lr: float = 1e-3  # CLIP parameters train at lr * coef_lr
    weight_decay: float = 0.2
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    warmup_proportion: float = 0.1
    # learning-rate schedule after the warmup: cosine (CLIP4Clip, X-CLIP) or linear to 0 (GRAM); auto: the model's
    schedule: Schedule = "auto"
    # max gradient norm (clip_grad_norm_); None: no clipping (GRAM); auto: the model's (1.0, GRAM none)
    grad_clip: float | Literal["auto"] | None = "auto"
    max_logit_scale: float = 4.605170185988092  # ln(100), as CLIP
    seed: int = 42
    precision: Precision = "auto"  # auto: bf16 autocast on a CUDA GPU that supports it, else fp32
    # torch intra-op threads when training on CPU (None: torch's default). Tiny models gain little from threads,
    # and on busy cores OpenMP threads waiting for each other made a step up to 100x slower than one thread.
    cpu_threads: int | None = None
    max_steps: int | None = None  # stop after this many optimiser steps (smoke tests, benchmarks)
    # evaluation, checkpoints and logs
    eval_batch_size: int = 32
    select_metric: str = "t2v.R1"  # model selection on val: "<t2v|v2t>.<R1|R5|R10|MdR|MnR>" or "rsum"
    validate_every_epoch: bool = True  # evaluate on val after each epoch (model selection)
    save_every_steps: int | None = None  # also checkpoint mid-epoch (exact resume from there)
    keep_checkpoints: int = 2  # epoch checkpoints kept besides the best model
    log_every: int = 10
    tensorboard: bool = True

    @field_validator("batch_size", "grad_accum", "epochs", "max_words", "max_frames", "eval_batch_size", "log_every")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @field_validator("lr", "eps")
    @classmethod
    def _above_zero(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"must be > 0, got {value}")
        return value

    @field_validator("num_workers", "temporal_layers", "keep_checkpoints", "coef_lr", "weight_decay")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"must be >= 0, got {value}")
        return value

    @field_validator("max_steps", "save_every_steps", "cpu_threads")
    @classmethod
    def _positive_or_unset(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be >= 1 (or unset), got {value}")
        return value

    @field_validator("warmup_proportion")
    @classmethod
    def _a_proportion(cls, value: float) -> float:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"must be in [0, 1), got {value}")
        return value

    @field_validator("max_words")
    @classmethod
    def _room_for_sot_eot(cls, value: int) -> int:
        if value < 3:
            raise ValueError("max_words must leave room for the start and end tokens (>= 3)")
        return value

    @field_validator("select_metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value != "rsum":
            direction, _, name = value.partition(".")
            if direction not in ("t2v", "v2t") or name not in ("R1", "R5", "R10", "MdR", "MnR"):
                raise ValueError(f"select_metric {value!r} must be 'rsum' or like 't2v.R1', 'v2t.MdR'")
        return value

    @model_validator(mode="before")
    @classmethod
    def _renamed_fields(cls, data: Any) -> Any:
        # run configs written before ``grad_clip`` existed name it ``max_grad_norm`` (what those runs did)
        if isinstance(data, dict) and "max_grad_norm" in data:
            data = dict(data)
            legacy = data.pop("max_grad_norm")
            data.setdefault("grad_clip", legacy)
            data.setdefault("schedule", "warmup_cosine")  # the only schedule svta had then, for every model
        return data

    @field_validator("grad_clip")
    @classmethod
    def _positive_clip(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float | int) and value <= 0:
            raise ValueError(f"grad_clip must be > 0 or null (no clipping), got {value}")
        return value

    @model_validator(mode="after")
    def _accumulation_divides(self) -> TrainConfig:
        if self.batch_size % self.grad_accum:
            raise ValueError(f"batch_size {self.batch_size} is not divisible by grad_accum {self.grad_accum}")
        return self

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """A named recipe (see :data:`PRESETS`) with ``overrides`` applied on top."""
        if name not in PRESETS:
            raise ConfigError(f"unknown training preset {name!r}; known: {', '.join(sorted(PRESETS))}")
        return cls.model_validate({**PRESETS[name], **overrides})

    def with_model_recipe(self) -> TrainConfig:
        """This config with ``schedule`` and ``grad_clip`` set to the model's recipe where they are ``auto``
        (GRAM: ``warmup_linear``, no clipping; CLIP4Clip, X-CLIP: ``warmup_cosine``, 1.0)."""
        recipe = MODEL_RECIPES.get(self.model, DEFAULT_RECIPE)
        update = {k: recipe[k] for k in ("schedule", "grad_clip") if getattr(self, k) == "auto"}
        return self.model_copy(update=update) if update else self

    def resume_differences(self, saved: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Settings that shape training and differ between ``saved`` (a checkpoint's) and this config:
        ``{field: (saved value, this value)}``, both with the model's recipe resolved."""
        mine, theirs = self.with_model_recipe(), saved.with_model_recipe()
        return {
            name: (getattr(theirs, name), getattr(mine, name))
            for name in type(self).model_fields
            if name not in RESUME_FREE and getattr(theirs, name) != getattr(mine, name)
        }

    def model_overrides(self) -> dict[str, Any]:
        """The keyword arguments of :func:`svta.retrieval.create_model` this recipe builds its model with."""
        return {
            "linear_patch": self.linear_patch,
            "max_words": self.max_words,
            "max_frames": self.max_frames,
            "temporal_layers": self.temporal_layers,
            **self.model_args,
        }

    def merged_over(self, base: TrainConfig) -> TrainConfig:
        """``base`` with the fields explicitly set on ``self`` (config file, ``--set``) taking precedence."""
        update = {name: getattr(self, name) for name in self.model_fields_set}
        return TrainConfig.model_validate({**base.model_dump(), **update})


# Settings a resumed run may change: where data is read from, how often it logs and saves, when it stops early,
# how evaluation is batched. Everything else shapes the weights and must match the checkpoint's.
RESUME_FREE = frozenset(
    {
        "num_workers",
        "frame_cache",
        "cache_dir",
        "cpu_threads",
        "max_steps",
        "eval_batch_size",
        "validate_every_epoch",
        "save_every_steps",
        "keep_checkpoints",
        "log_every",
        "tensorboard",
    }
)


def default_run_name(model: str, backbone: str) -> str:
    """The run folder name of ``model`` trained on ``backbone``: ``<model>-<backbone>``, a weight file's backbone
    by its file stem (``clip4clip-meanp`` on ``weights/my.pt`` -> ``clip4clip-meanp-my``)."""
    path = Path(backbone)
    name = path.stem if path.suffix else backbone
    return f"{model}-{name}".replace("/", "-")


# Named recipes. "clip4clip" is the paper's MSR-VTT recipe with OpenAI ViT-B/32 weights. "cpu-demo" trains a
# tiny CLIP from scratch: without pretrained weights the CLIP lr must be as high as the heads' (coef_lr 1),
# and small batches of few frames keep a 2-core step well under a second. Measured on 360 generated 64 px clips,
# 2 cores: ~70 s per model, test T2V R@5 ~6.5x chance (lr 1e-3 or 12 epochs gave ~5.5x; batch 64 failed).
PRESETS: dict[str, dict[str, Any]] = {
    "clip4clip": {"backbone": "ViT-B-32", "pretrained": "openai"},
    "clip4clip-b16": {"backbone": "ViT-B-16", "pretrained": "openai"},
    # GRAM's optimisation as released (warmup then linear decay to 0, no gradient clipping) on svta's CLIP
    "gram": {
        "model": "gram",
        "backbone": "ViT-B-32",
        "pretrained": "openai",
        "schedule": "warmup_linear",
        "grad_clip": None,
    },
    "cpu-demo": {
        "backbone": "tiny",
        "pretrained": None,
        "max_frames": 8,
        "batch_size": 32,
        "epochs": 20,
        "lr": 5e-4,
        "coef_lr": 1.0,
        "weight_decay": 0.05,
        "warmup_proportion": 0.05,
        "temporal_layers": 2,
        "num_workers": 1,
        "cpu_threads": 1,
        "frame_cache": True,
        "eval_batch_size": 64,
        "seed": 0,
    },
}
