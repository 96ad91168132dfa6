"""The Wan2.1 backend on a tiny random-weight pipeline built from configs (CPU, offline): generation,
per-clip seeding, step caching that really skips transformer blocks, FP8 storage, and the stage."""

from __future__ import annotations

import json

import diffusers  # noqa: F401
import numpy as np
import pytest
import torch
from pydantic import ValidationError
from videokit import write_captions

from svta.tables import read_records
from svta.video_io import check_decodable
from svta.videos.base import VideoRequest
from svta.videos.config import VideosConfig, WanConfig
from svta.videos.generate import generate_videos

STEPS = 4


def tiny(**wan) -> VideosConfig:
    base = {
        "model": "random:tiny",
        "height": 32,
        "width": 32,
        "num_frames": 5,
        "steps": STEPS,
        "dtype": "float32",
        "device": "cpu",
        "max_sequence_length": 16,
    }
    return VideosConfig(backend="wan", wan=WanConfig(**{**base, **wan}))


def backend_with_counter(config: VideosConfig):
    """The backend and a counter of DiT block executions (each block's feed-forward runs once per real call)."""
    from svta.videos.wan import WanVideoBackend

    backend = WanVideoBackend(config)
    calls = {"blocks": 0}
    for block in backend.pipe.transformer.blocks:
        block.ffn.register_forward_hook(lambda *args: calls.__setitem__("blocks", calls["blocks"] + 1))
    return backend, calls


REQUESTS = [VideoRequest("a", "A man in red runs.", None, 1), VideoRequest("b", "A dog sits.", None, 2)]


@pytest.fixture(scope="module")
def plain():
    backend, calls = backend_with_counter(tiny())
    clips = backend.generate(REQUESTS)
    return backend, calls["blocks"], clips


def test_generates_uint8_frames_and_seeds_per_clip(plain):
    backend, blocks, clips = plain
    layers = len(backend.pipe.transformer.blocks)
    assert blocks == STEPS * 2 * layers  # every step, conditional and unconditional passes
    assert [c.shape for c in clips] == [(5, 32, 32, 3)] * 2 and clips[0].dtype == np.uint8
    alone = backend.generate(REQUESTS[1:])[0]  # a clip does not depend on its batch (up to float rounding)
    assert np.abs(alone.astype(int) - clips[1]).mean() < 0.5
    assert np.abs(clips[0].astype(int) - clips[1]).mean() > 1.0
    assert np.array_equal(backend.generate(REQUESTS[1:])[0], alone)


@pytest.mark.parametrize(
    "cache",
    [
        {"cache": "teacache", "cache_threshold": 3.0, "teacache_coefficients": [1.0, 0.0]},
        {"cache": "first_block", "cache_threshold": 0.5},
        {"cache": "mag", "cache_threshold": 0.5, "mag_ratios": [1.0] * STEPS},
    ],
    ids=["teacache", "first_block", "mag"],
)
def test_step_cache_skips_transformer_blocks(plain, cache):
    _, plain_blocks, plain_clips = plain
    backend, calls = backend_with_counter(tiny(**cache))
    clip = backend.generate(REQUESTS[:1])[0]
    assert 0 < calls["blocks"] < plain_blocks  # a batch runs each block once per pass, whatever its size
    assert clip.shape == plain_clips[0].shape and np.abs(clip.astype(int) - plain_clips[0]).mean() < 10


def test_teacache_counters_and_warmup():
    backend, calls = backend_with_counter(tiny(cache="teacache", cache_threshold=1.5, teacache_coefficients=[1.0, 0.0]))
    backend.generate(REQUESTS[:1])
    stats = backend.cache_stats
    layers = len(backend.pipe.transformer.blocks)
    assert stats.passes == STEPS * 2 and stats.skipped > 0
    assert calls["blocks"] == stats.computed * layers
    backend.generate(REQUESTS[:1])  # state resets between clips: the same skips happen again
    assert stats.passes == STEPS * 4 and calls["blocks"] == stats.computed * layers


def test_teacache_published_coefficients_are_chosen_by_model_size():
    from svta.videos.teacache import WAN_TEACACHE_COEFFICIENTS, coefficients_for

    assert coefficients_for("Wan-AI/Wan2.1-T2V-14B-Diffusers", False) == WAN_TEACACHE_COEFFICIENTS["14b"]
    assert coefficients_for("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", True) == WAN_TEACACHE_COEFFICIENTS["1.3b-ret"]
    assert WAN_TEACACHE_COEFFICIENTS["1.3b"][0] == pytest.approx(2396.76752)


def test_fp8_weight_storage():
    backend, _ = backend_with_counter(tiny(fp8=True))
    weight = backend.pipe.transformer.blocks[0].ffn.net[0].proj.weight
    assert weight.dtype == torch.float8_e4m3fn
    clip = backend.generate(REQUESTS[:1])[0]
    assert clip.shape == (5, 32, 32, 3)


def test_wan_through_the_stage(tmp_path):
    write_captions(
        tmp_path, [("A woman in yellow walks in the park.", "walking"), ("A car drives at night.", "driving")]
    )
    result = generate_videos(tmp_path, tiny(cache="first_block", batch_size=2))
    assert result.generated == 2 and not result.failed
    for row in read_records(tmp_path / "videos.parquet", "videos"):
        info = check_decodable(tmp_path / row["path"])
        assert (info.frames, info.width, info.height, info.fps) == (5, 32, 32, 16.0)
        params = json.loads(row["params"])
        assert params["model"] == "random:tiny" and params["cache"] == "first_block" and params["steps"] == STEPS


def test_wan_config_checks():
    with pytest.raises(ValidationError, match="4k\\+1"):
        WanConfig(num_frames=16)
    with pytest.raises(ValidationError, match="multiples of 16"):
        WanConfig(height=100)
    with pytest.raises(ValidationError, match="mag_ratios"):
        WanConfig(cache="mag")
    defaults = WanConfig()
    assert (defaults.num_frames, defaults.fps, defaults.steps, defaults.guidance, defaults.height, defaults.width) == (
        81,
        16.0,
        50,
        5.0,
        480,
        832,
    )
    assert defaults.dtype == "bfloat16" and defaults.vae_dtype == "float32" and defaults.negative_prompt


@pytest.fixture(scope="module")
def wan_repo(tmp_path_factory):
    from weights import write_wan_repo

    return write_wan_repo(tmp_path_factory.mktemp("wan") / "Wan2.1-T2V-tiny-Diffusers")


def test_repo_in_the_diffusers_layout_runs_through_the_cli(wan_repo, tmp_path, capsys):
    from svta.cli.main import main

    assert {"model_index.json", "transformer", "vae", "text_encoder", "tokenizer", "scheduler"} <= {
        p.name for p in wan_repo.iterdir()
    }
    write_captions(tmp_path, [("A man in red runs.", None)])
    sizes = [
        f"videos.wan.{k}={v}"
        for k, v in (
            ("height", 32),
            ("width", 32),
            ("num_frames", 5),
            ("max_sequence_length", 16),
            ("dtype", "float32"),
        )
    ]
    argv = [arg for setting in sizes for arg in ("--set", setting)]
    code = main(
        [
            "--quiet",
            *argv,
            "videos",
            "generate",
            "--root",
            str(tmp_path),
            "--backend",
            "wan",
            "--wan-model",
            str(wan_repo),
            "--cache",
            "teacache",
            "--fp8",
            "--offload",
            "model",
            "--device",
            "cpu",
            "--steps",
            "2",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    assert result["generated"] == 1 and not result["failed"]
    row = read_records(tmp_path / "videos.parquet", "videos")[0]
    params = json.loads(row["params"])
    assert params["fp8"] and params["cache"] == "teacache" and params["model"] == str(wan_repo)
    assert check_decodable(tmp_path / row["path"]).frames == 5


def test_random_tiny_covers_wide_latents():
    # 528 px wide = 33 latent patches per row: beyond the rotary table the tiny config once had (32).
    backend = __import__("svta.videos.wan", fromlist=["WanVideoBackend"]).WanVideoBackend(
        tiny(width=528, height=16, num_frames=1, steps=1)
    )
    assert backend.generate(REQUESTS[:1])[0].shape == (1, 16, 528, 3)


def test_missing_weights_offline_fail_in_seconds(tmp_path, monkeypatch, capsys):
    import time

    from svta.cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    write_captions(tmp_path, [("A dog sits.", None)])
    start = time.monotonic()
    assert main(["videos", "generate", "--root", str(tmp_path), "--backend", "wan", "--limit", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert time.monotonic() - start < 10 and "\n" not in err
    assert "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" in err and "HF_HUB_OFFLINE" in err and "hf download" in err
    assert not (tmp_path / "videos.parquet").exists()


def test_no_gpu_is_refused_unless_cpu_is_asked_for(wan_repo, monkeypatch):
    from svta.errors import ConfigError
    from svta.videos.wan import preflight

    monkeypatch.setattr("svta.preflight.cuda_available", lambda: False)
    with pytest.raises(ConfigError, match="--device cpu"):
        preflight(WanConfig(model=str(wan_repo)))
    with pytest.raises(ConfigError, match="cuda:1"):
        preflight(WanConfig(model=str(wan_repo), device="cuda:1"))
    assert preflight(WanConfig(model=str(wan_repo), device="cpu")) == "cpu"
    assert preflight(WanConfig(model="random:tiny")) == "cpu"  # the CPU check model may fall back


def test_a_folder_without_model_index_is_named(tmp_path):
    from svta.errors import ConfigError
    from svta.videos.wan import preflight

    with pytest.raises(ConfigError, match="no model_index.json"):
        preflight(WanConfig(model=str(tmp_path), device="cpu"))
