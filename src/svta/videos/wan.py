"""The ``wan`` video backend: Wan2.1 text-to-video through diffusers' ``WanPipeline``, with step
caching (TeaCache, FirstBlockCache, MagCache), FP8 weight storage and CPU offload options.

Defaults follow Wan2.1: 81 frames at 16 fps, 832x480, 50 steps, guidance 5.0, bf16 DiT with an
fp32 VAE, and Wan's negative prompt. One generator per prompt, seeded per clip, so a clip does
not depend on which batch it ran in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from svta.errors import BackendError, ConfigError
from svta.registry import require
from svta.videos.backend import VIDEO_BACKENDS, VideoRequest
from svta.videos.config import WanConfig

DEFAULT_THRESHOLDS = {"teacache": 0.08, "first_block": 0.05, "mag": 0.06}


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``."""
    torch = require("torch", "gen")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _dtype(name: str) -> Any:
    torch = require("torch", "gen")
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def load_pipeline(cfg: WanConfig, device: str) -> Any:
    """Load (or, for ``random:<size>``, build) the pipeline, set the scheduler's flow shift, then
    apply FP8 storage, offloading and VAE tiling as configured; the pipeline ends up on ``device``."""
    torch = require("torch", "gen")
    diffusers = require("diffusers", "gen")
    dtype, vae_dtype = _dtype(cfg.dtype), _dtype(cfg.vae_dtype)
    if cfg.model.startswith("random:"):
        from svta.videos.wan_random import build_random_pipeline

        build_on = device if cfg.offload == "none" else "cpu"
        pipe = build_random_pipeline(cfg.model.split(":", 1)[1], dtype, vae_dtype, build_on)
    else:
        try:
            vae = diffusers.AutoencoderKLWan.from_pretrained(cfg.model, subfolder="vae", torch_dtype=vae_dtype)
            pipe = diffusers.WanPipeline.from_pretrained(cfg.model, vae=vae, torch_dtype=dtype)
        except (OSError, ValueError) as exc:
            raise BackendError(f"videos.wan.model: cannot load {cfg.model!r}: {str(exc).splitlines()[0]}") from None
    pipe.scheduler = diffusers.UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=cfg.flow_shift)
    if cfg.fp8:
        pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
    if cfg.vae_tiling:
        pipe.vae.enable_tiling()
    if cfg.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif cfg.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def apply_step_cache(transformer: Any, cfg: WanConfig) -> Any:
    """Install the configured step cache on the DiT; returns TeaCache's counters (else None)."""
    if cfg.cache == "none":
        return None
    threshold = cfg.cache_threshold if cfg.cache_threshold is not None else DEFAULT_THRESHOLDS[cfg.cache]
    if cfg.cache == "teacache":
        from svta.videos.teacache import TeaCacheConfig, apply_teacache, coefficients_for

        coefficients = cfg.teacache_coefficients or coefficients_for(cfg.model, cfg.teacache_ret_steps)
        return apply_teacache(transformer, TeaCacheConfig(threshold, coefficients, cfg.teacache_ret_steps))
    hooks = require("diffusers.hooks", "gen")
    if cfg.cache == "first_block":
        transformer.enable_cache(hooks.FirstBlockCacheConfig(threshold=threshold))
    elif cfg.cache == "mag":
        transformer.enable_cache(hooks.MagCacheConfig(threshold=threshold, num_inference_steps=cfg.steps,
                                                      mag_ratios=cfg.mag_ratios, calibrate=cfg.mag_calibrate))  # fmt: skip
    else:
        raise ConfigError(f"videos.wan.cache: unknown cache {cfg.cache!r}")
    return None


class WanVideoBackend:
    """Wan2.1 T2V; one pipeline per worker (per GPU)."""

    name = "wan"

    def __init__(self, config: Any, taxonomy_path: str | None = None):
        self.cfg: WanConfig = config.wan
        self.device = resolve_device(self.cfg.device)
        self.pipe = load_pipeline(self.cfg, self.device)
        self.cache_stats = apply_step_cache(self.pipe.transformer, self.cfg)

    @property
    def fps(self) -> float:
        return self.cfg.fps

    def generate(self, requests: list[VideoRequest]) -> list[np.ndarray | Exception]:
        """Run the pipeline once for the batch; returns uint8 ``[T, H, W, 3]`` per request."""
        torch = require("torch", "gen")
        cfg = self.cfg
        # CPU generators: the same seed gives the same starting noise on any device
        generators = [torch.Generator("cpu").manual_seed(r.seed) for r in requests]
        with torch.inference_mode():
            output = self.pipe(
                prompt=[r.caption for r in requests],
                negative_prompt=[cfg.negative_prompt] * len(requests),
                height=cfg.height,
                width=cfg.width,
                num_frames=cfg.num_frames,
                num_inference_steps=cfg.steps,
                guidance_scale=cfg.guidance,
                generator=generators,
                max_sequence_length=cfg.max_sequence_length,
                output_type="np",
            )
        videos = np.asarray(output.frames)  # [B, T, H, W, 3] floats in [0, 1]
        return [np.clip(v * 255.0 + 0.5, 0, 255).astype(np.uint8) for v in videos]

    def describe(self) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "model": cfg.model, "height": cfg.height, "width": cfg.width, "num_frames": cfg.num_frames,
            "fps": cfg.fps, "steps": cfg.steps, "guidance": cfg.guidance, "flow_shift": cfg.flow_shift,
            "dtype": cfg.dtype, "fp8": cfg.fp8, "cache": cfg.cache,
            "cache_threshold": cfg.cache_threshold if cfg.cache_threshold is not None else DEFAULT_THRESHOLDS.get(cfg.cache),
            "negative_prompt": cfg.negative_prompt != "", "device": self.device,
        }  # fmt: skip


@VIDEO_BACKENDS.register("wan", "Wan2.1 text-to-video via diffusers (GPU; step caching, FP8, offload)")
def _wan(config: Any, taxonomy_path: str | None = None) -> WanVideoBackend:
    return WanVideoBackend(config, taxonomy_path)
