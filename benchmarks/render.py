"""Video-stage throughput: the procedural renderer on one core, and Wan2.1 with and without step
caching and FP8.

    python benchmarks/render.py                          # procedural + tiny random Wan (CPU)
    python benchmarks/render.py --wan-random-full-size   # the real 1.3B DiT/VAE sizes, random weights (GPU)
    python benchmarks/render.py --wan-real               # Wan-AI/Wan2.1-T2V-1.3B-Diffusers from the hub (GPU)

Baselines, printed as ratios in the same run: the procedural renderer against real-time playback
of the clips it makes; every Wan variant against the same model without caching, in bf16.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CAPTIONS = [
    ("A man in a red jacket punches a woman in blue in the parking lot at night.", "assault"),
    ("A woman in yellow rides a bicycle along the street in the evening.", "cycling"),
    ("Thick smoke pours from a warehouse at noon.", "smoke"),
    ("A brown dog bites a child in a green shirt in the park.", "animal_attack"),
    ("A crowd in orange shirts rushes out of the stadium.", "crowd_stampede"),
    ("Two cars collide on the highway in the rain.", "road_accident"),
    ("A woman in purple cooks in the kitchen in the morning.", "cooking"),
    ("Water floods the street as a man in white wades through it.", "flood"),
]


def bench_procedural(clips: int, size: int, frames: int, fps: float) -> dict[str, Any]:
    """Render (and, separately, encode) ``clips`` clips on one CPU core."""
    from svta.taxonomy import default_taxonomy
    from svta.videos.encode import encode_mp4
    from svta.videos.procedural import render_clip, resolve_choice

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    taxonomy = default_taxonomy()
    choices = [(text, resolve_choice(cat, text, taxonomy)) for text, cat in CAPTIONS]
    render_clip(*choices[0], 0, frames, size, size)  # warm caches (taxonomy, fonts of numpy/PIL)
    rendered, start = [], time.perf_counter()
    for i in range(clips):
        text, choice = choices[i % len(choices)]
        rendered.append(render_clip(text, choice, i, frames, size, size))
    render_s = time.perf_counter() - start
    start = time.perf_counter()
    for clip in rendered:
        encode_mp4(clip, fps)
    encode_s = time.perf_counter() - start
    frames_per_s = clips * frames / render_s
    return {
        "clips": clips,
        "size": size,
        "frames": frames,
        "render_clips_per_s": clips / render_s,
        "render_frames_per_s": frames_per_s,
        "encode_clips_per_s": clips / encode_s,
        "end_to_end_clips_per_s": clips / (render_s + encode_s),
        "x_realtime": frames_per_s / fps,
    }


def _wan_variants(kind: str, threshold: float | None) -> list[tuple[str, dict[str, Any]]]:
    # Random weights make the time embedding change far more between steps than a trained model's,
    # so the published polynomial means nothing there: rescale linearly and set the threshold to skip.
    random_teacache = {"cache": "teacache", "teacache_coefficients": [1.0, 0.0], "cache_threshold": threshold or 1.5}
    real_teacache = {"cache": "teacache", "cache_threshold": threshold or 0.08}
    teacache = real_teacache if kind == "real" else random_teacache
    variants = [("no cache (baseline)", {}), ("teacache", teacache), ("first_block 0.05", {"cache": "first_block"})]
    if kind != "tiny":
        variants += [("fp8 storage", {"fp8": True}), ("fp8 + teacache", {"fp8": True, **teacache})]
    return variants


def bench_wan(
    kind: str, steps: int, frames: int, height: int, width: int, threshold: float | None, only: list[str] | None = None
) -> list[dict[str, Any]]:
    """Seconds per clip and per step for each Wan variant; ``kind`` is tiny, full (random 1.3B) or real."""
    import torch

    from svta.videos.base import VideoRequest
    from svta.videos.config import VideosConfig, WanConfig
    from svta.videos.wan import WanVideoBackend

    model = {"tiny": "random:tiny", "full": "random:1.3b", "real": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"}[kind]
    device = "cuda" if torch.cuda.is_available() and kind != "tiny" else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)  # one core, like the procedural numbers (and steadier on a shared machine)
    dtype = "float32" if kind == "tiny" else "bfloat16"
    rows = []
    variants = [v for i, v in enumerate(_wan_variants(kind, threshold)) if not only or i == 0 or v[0] in only]
    for name, extra in variants:
        wan = WanConfig(
            model=model, steps=steps, num_frames=frames, height=height, width=width, device=device, dtype=dtype, **extra
        )
        backend = WanVideoBackend(VideosConfig(backend="wan", wan=wan))
        probe = _DenoiseProbe(torch, backend.pipe.transformer)
        request = [VideoRequest("bench", CAPTIONS[0][0], None, 0)]
        backend.cfg.steps = 2
        backend.generate(request)  # warm-up (kernels, allocator), short
        backend.cfg.steps = steps
        probe.reset()
        _sync(torch)
        start = time.perf_counter()
        backend.generate(request)
        _sync(torch)
        seconds = time.perf_counter() - start
        denoise = probe.last_end - probe.first_start
        total = steps * 2 * len(backend.pipe.transformer.blocks)
        rows.append(
            {
                "variant": name,
                "device": _device_name(torch, device),
                "model": model,
                "steps": steps,
                "frames": frames,
                "size": f"{width}x{height}",
                "s_per_clip": seconds,
                "s_per_step": denoise / steps,
                "s_text_and_vae": seconds - denoise,
                "s_per_clip_at_50_steps": seconds - denoise + 50 * denoise / steps,
                "blocks_skipped": 1 - probe.blocks / total,
                "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
            }
        )
        del backend, probe
        gc.collect()  # diffusers' hook registries make reference cycles: free the pipeline before the next one
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    base = rows[0]["s_per_clip"]
    for row in rows:
        row["speedup_vs_baseline"] = base / row["s_per_clip"]
    return rows


class _DenoiseProbe:
    """Times the denoising loop (first DiT call to last) and counts executed DiT blocks."""

    def __init__(self, torch: Any, transformer: Any):
        self.torch = torch
        transformer.register_forward_pre_hook(self._start)
        transformer.register_forward_hook(self._end)
        for block in transformer.blocks:
            block.ffn.register_forward_hook(self._block)
        self.reset()

    def reset(self) -> None:
        self.first_start, self.last_end, self.blocks = None, 0.0, 0

    def _start(self, *args: Any) -> None:
        if self.first_start is None:
            _sync(self.torch)
            self.first_start = time.perf_counter()

    def _end(self, *args: Any) -> None:
        _sync(self.torch)
        self.last_end = time.perf_counter()

    def _block(self, *args: Any) -> None:
        self.blocks += 1


def _sync(torch: Any) -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _device_name(torch: Any, device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return f"cpu ({torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=48, help="procedural clips to render")
    parser.add_argument("--size", type=int, default=224, help="procedural frame size")
    parser.add_argument("--frames", type=int, default=16, help="procedural frames per clip")
    parser.add_argument("--no-procedural", action="store_true")
    parser.add_argument("--no-wan-tiny", action="store_true")
    parser.add_argument("--wan-random-full-size", action="store_true", help="1.3B architecture, random weights (GPU)")
    parser.add_argument("--wan-real", action="store_true", help="Wan2.1-T2V-1.3B from the hub (GPU)")
    parser.add_argument("--steps", type=int, default=None, help="Wan steps (default 20 tiny, 50 full/real)")
    parser.add_argument("--wan-frames", type=int, default=81)
    parser.add_argument("--threshold", type=float, default=None, help="TeaCache threshold")
    parser.add_argument("--variants", nargs="*", default=None, help="Wan variants besides the baseline (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    if not args.no_procedural:
        p = bench_procedural(args.clips, args.size, args.frames, 8.0)
        results["procedural"] = p
        print(
            f"procedural {p['size']}px x {p['frames']} frames, 1 core: {p['render_clips_per_s']:.1f} clips/s, "
            f"{p['render_frames_per_s']:.0f} frames/s render ({p['x_realtime']:.0f}x real-time at 8 fps); "
            f"encode {p['encode_clips_per_s']:.1f} clips/s; end-to-end {p['end_to_end_clips_per_s']:.1f} clips/s"
        )
    runs = [
        ("tiny", not args.no_wan_tiny, 20, 9, 64, 64),
        ("full", args.wan_random_full_size, 50, args.wan_frames, 480, 832),
        ("real", args.wan_real, 50, args.wan_frames, 480, 832),
    ]
    for kind, wanted, steps, frames, height, width in runs:
        if not wanted:
            continue
        rows = bench_wan(kind, args.steps or steps, frames, height, width, args.threshold, args.variants)
        results[f"wan_{kind}"] = rows
        for r in rows:
            peak = f", peak {r['peak_gib']:.1f} GiB" if r["peak_gib"] else ""
            print(
                f"wan {kind} [{r['device']}] {r['size']} {r['frames']}f {r['steps']} steps, {r['variant']}: "
                f"{r['s_per_clip']:.2f} s/clip ({r['s_per_step']:.3f} s/step + {r['s_text_and_vae']:.2f} s text/VAE; "
                f"~{r['s_per_clip_at_50_steps']:.1f} s at 50 steps), {r['blocks_skipped']:.0%} blocks skipped, "
                f"x{r['speedup_vs_baseline']:.2f} vs no cache{peak}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
