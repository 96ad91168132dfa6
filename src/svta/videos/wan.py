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
from svta.progress import warn
from svta.registry import require
from svta.videos.base import VIDEO_BACKENDS, VideoRequest
from svta.videos.config import WanConfig

# Bump when the backend's code changes what a given configuration renders (the settings themselves are
# recorded by :func:`clip_params`); recorded clips from another version are made again.
WAN_BACKEND_VERSION = 1
DEFAULT_THRESHOLDS = {"teacache": 0.08, "first_block": 0.05, "mag": 0.06}


def resolve_device(cfg: WanConfig) -> str:
    """The device the pipeline runs on. ``auto`` is ``cuda``; without a GPU only ``random:tiny`` (the CPU check
    model) falls back to CPU: a real Wan2.1 clip on CPU takes days, so that needs ``--device cpu`` explicitly."""
    from svta.preflight import cuda_available, resolve_gpu_device

    if cfg.device == "auto" and cfg.model == "random:tiny":
        return "cuda" if cuda_available() else "cpu"
    return resolve_gpu_device(cfg.device, f"the wan backend ({cfg.model})", "--device cpu (videos.wan.device: cpu)")


def check_weights(model: str) -> None:
    """Fail in seconds when Wan2.1 weights are neither on disk nor downloadable (offline, hub unreachable).

    ``model`` is a local diffusers folder, a hub id (found in the Hugging Face cache or downloaded), or
    ``random:<size>`` (nothing to check).

    Raises:
        ConfigError: a local folder without ``model_index.json``.
        BackendError: a hub id absent from the cache while no download is possible.
    """
    from pathlib import Path

    if model.startswith("random:"):
        return
    local = Path(model).expanduser()
    if local.exists() or model.startswith((".", "/", "~")):
        if not (local / "model_index.json").is_file():
            raise ConfigError(
                f"videos.wan.model: {local} is not a diffusers Wan2.1 folder (no model_index.json); "
                "download one with `hf download Wan-AI/Wan2.1-T2V-1.3B-Diffusers --local-dir DIR`"
            )
        return
    hub = require("huggingface_hub", "gen")
    if isinstance(hub.try_to_load_from_cache(model, "model_index.json"), str):
        return
    from svta.preflight import hub_endpoint, require_download

    require_download(
        f"Wan2.1 weights {model!r}",
        f"the Hugging Face cache {hub.constants.HF_HUB_CACHE}",
        hub_endpoint(),
        f"fetch them on a connected machine with `hf download {model} --local-dir DIR` and pass --wan-model DIR",
    )


def preflight(cfg: WanConfig) -> str:
    """Everything the backend checks before loading, in seconds (a stage runs it before starting workers).

    Returns:
        The device the pipeline will run on.
    """
    check_weights(cfg.model)
    return resolve_device(cfg)


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
            vae = diffusers.AutoencoderKLWan.from_pretrained(cfg.model, subfolder="vae", dtype=vae_dtype)
            pipe = diffusers.WanPipeline.from_pretrained(cfg.model, vae=vae, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"videos.wan.model: cannot load {cfg.model!r}: {str(exc).strip().splitlines()[0]}"
            ) from None
    pipe.scheduler = diffusers.UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=cfg.flow_shift)
    if cfg.fp8:
        pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
    if cfg.vae_tiling:
        pipe.vae.enable_tiling()
    if cfg.offload != "none" and device == "cpu":
        warn("videos.wan.offload: the pipeline runs on the CPU, where its weights already are; offload ignored")
        pipe.to(device)
    elif cfg.offload == "model":
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
        transformer.enable_cache(
            hooks.MagCacheConfig(
                threshold=threshold,
                num_inference_steps=cfg.steps,
                mag_ratios=cfg.mag_ratios,
                calibrate=cfg.mag_calibrate,
            )
        )
    else:
        raise ConfigError(f"videos.wan.cache: unknown cache {cfg.cache!r}")
    return None


class WanVideoBackend:
    """Wan2.1 T2V; one pipeline per worker (per GPU)."""

    name = "wan"

    def __init__(self, config: Any, taxonomy_path: str | None = None):
        self.cfg: WanConfig = config.wan
        self.device = preflight(self.cfg)
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
        return {**clip_params(self.cfg), "device": self.device}


def clip_params(cfg: WanConfig) -> dict[str, Any]:
    """The settings that shape a Wan clip, recorded with each clip: a recorded clip whose values differ
    from these is made again. Bump :data:`WAN_BACKEND_VERSION` when the backend's code changes its output."""
    import hashlib

    return {
        "wan_backend": WAN_BACKEND_VERSION,
        "model": cfg.model,
        "height": cfg.height,
        "width": cfg.width,
        "num_frames": cfg.num_frames,
        "fps": cfg.fps,
        "steps": cfg.steps,
        "guidance": cfg.guidance,
        "flow_shift": cfg.flow_shift,
        "max_sequence_length": cfg.max_sequence_length,
        "dtype": cfg.dtype,
        "vae_dtype": cfg.vae_dtype,
        "fp8": cfg.fp8,
        "cache": cfg.cache,
        "cache_threshold": cfg.cache_threshold
        if cfg.cache_threshold is not None
        else DEFAULT_THRESHOLDS.get(cfg.cache),
        "teacache_coefficients": cfg.teacache_coefficients,
        "teacache_ret_steps": cfg.teacache_ret_steps,
        "mag_ratios": cfg.mag_ratios,
        "negative_prompt": hashlib.sha256(cfg.negative_prompt.encode()).hexdigest()[:16] if cfg.negative_prompt else "",
    }


@VIDEO_BACKENDS.register("wan", "Wan2.1 text-to-video via diffusers (GPU; step caching, FP8, offload)")
def _wan(config: Any, taxonomy_path: str | None = None) -> WanVideoBackend:
    return WanVideoBackend(config, taxonomy_path)
