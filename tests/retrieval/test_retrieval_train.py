"""The trainer on a small generated dataset (real mp4 files + manifest): exact resume, broken videos, the frame
cache, the sampler and schedule, and ``svta train`` / ``svta eval`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from retrievalkit import make_dataset

from svta.cli.main import main
from svta.errors import ConfigError
from svta.retrieval.config import TrainConfig
from svta.retrieval.data import ClipDataset, EpochBatchSampler, read_split
from svta.retrieval.frame_cache import build_frame_cache
from svta.retrieval.optim import param_groups, warmup_cosine, warmup_linear
from svta.retrieval.preprocess import openai_preprocess
from svta.retrieval.results import read_config
from svta.retrieval.run_log import read_log
from svta.retrieval.trainer import train

FRAMES = 3


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("svta-root")
    make_dataset(root, {"train": 12, "val": 4, "test": 6}, frames=FRAMES, broken=1)
    return root


def quick_config(**overrides) -> TrainConfig:
    base = {
        "batch_size": 4,
        "epochs": 2,
        "max_frames": FRAMES,
        "temporal_layers": 1,
        "max_words": 12,
        "num_workers": 0,
        "log_every": 1,
        "tensorboard": False,
        "validate_every_epoch": False,
        "eval_batch_size": 8,
    }
    return TrainConfig.preset("cpu-demo", **{**base, **overrides})


def step_losses(run_dir) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in read_log(run_dir, "step")}


def test_resume_continues_exactly(dataset_root, tmp_path):
    config = quick_config(model="clip4clip-seqtransf")
    full = train(dataset_root, config, run_dir=tmp_path / "full", test=False)
    assert full.steps == 6  # 12 clips / batch 4 = 3 steps per epoch (the broken clip is dropped, not replaced)
    interrupted = train(dataset_root, config.model_copy(update={"max_steps": 4}), run_dir=tmp_path / "cut", test=False)
    assert interrupted.steps == 4  # stopped inside epoch 2: the checkpoint must carry the data position
    resumed = train(dataset_root, config, run_dir=tmp_path / "cut", resume=True, test=False)
    assert resumed.steps == 6
    expected, got = step_losses(tmp_path / "full"), step_losses(tmp_path / "cut")
    assert got[5] == pytest.approx(expected[5], abs=1e-5) and got[6] == pytest.approx(expected[6], abs=1e-5)
    a = torch.load(full.model_path, weights_only=True)
    b = torch.load(resumed.model_path, weights_only=True)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_resume_refuses_a_checkpoint_trained_with_other_settings(dataset_root, tmp_path):
    config = quick_config(max_steps=1)
    train(dataset_root, config, run_dir=tmp_path / "run", test=False)
    with pytest.raises(ConfigError, match=r"lr=0.0005 \(now 0.001\)"):
        train(dataset_root, config.model_copy(update={"lr": 1e-3}), run_dir=tmp_path / "run", resume=True, test=False)
    with pytest.raises(ConfigError, match="schedule='warmup_cosine' \\(now 'warmup_linear'\\)"):
        changed = config.model_copy(update={"schedule": "warmup_linear"})
        train(dataset_root, changed, run_dir=tmp_path / "run", resume=True, test=False)
    # where it reads data from and when it stops may change
    free = config.model_copy(update={"max_steps": 2, "frame_cache": False, "log_every": 5})
    assert train(dataset_root, free, run_dir=tmp_path / "run", resume=True, test=False).steps == 2


def test_broken_video_is_skipped_and_counted(dataset_root, tmp_path):
    result = train(dataset_root, quick_config(epochs=1), run_dir=tmp_path / "run", test=False)
    assert result.skipped_videos == 1
    events = read_log(tmp_path / "run", "skipped_video")
    assert [e["id"] for e in events] == ["train-000"] and "train-000.mp4" in events[0]["error"]
    assert result.metrics["train_skipped_videos"] == 1


def test_existing_run_needs_resume(dataset_root, tmp_path):
    train(dataset_root, quick_config(max_steps=1), run_dir=tmp_path / "run", test=False)
    with pytest.raises(Exception, match="--resume"):
        train(dataset_root, quick_config(max_steps=1), run_dir=tmp_path / "run", test=False)


def test_frame_cache_gives_the_decoded_frames(dataset_root, tmp_path):
    records = read_split(dataset_root, "train")[:4]
    tokens = torch.zeros(len(records), 4, dtype=torch.long)
    cache = build_frame_cache(tmp_path / "cache", records, FRAMES, openai_preprocess(32))
    assert "train-000" in cache and len(cache.index["broken"]) == 1
    decoded = ClipDataset(records, tokens, tokens, FRAMES, openai_preprocess(32))
    cached = ClipDataset(records, tokens, tokens, FRAMES, openai_preprocess(32), cache=cache)
    assert "error" in cached[0] and "error" in decoded[0]
    for i in range(1, len(records)):
        assert torch.equal(decoded[i]["frames"], cached[i]["frames"])
        assert torch.equal(decoded[i]["frame_mask"], cached[i]["frame_mask"])
    again = build_frame_cache(tmp_path / "cache", records, FRAMES, openai_preprocess(32))
    assert again.index["shards"] == cache.index["shards"]  # nothing decoded twice


def test_frame_cache_threads_write_the_same_cache(dataset_root, tmp_path):
    records = read_split(dataset_root, "train")[:5]
    one = build_frame_cache(tmp_path / "one", records, FRAMES, openai_preprocess(32))
    two = build_frame_cache(tmp_path / "two", records, FRAMES, openai_preprocess(32), threads=2)
    assert {k: {**v, "path": None} for k, v in two.index["broken"].items()} == {
        k: {**v, "path": None} for k, v in one.index["broken"].items()
    }
    assert two.index["items"] == one.index["items"]
    for record in records[1:]:
        assert np.array_equal(two.load(record.id)[0], one.load(record.id)[0])


def test_evaluating_a_run_reads_its_frame_cache(dataset_root, tmp_path, monkeypatch):
    from svta.eval import evaluate
    from svta.retrieval import data

    result = train(
        dataset_root, quick_config(epochs=1, frame_cache=True, cache_dir=tmp_path / "cache"), run_dir=tmp_path / "run"
    )
    decoded = []
    decode_clip = data.decode_clip
    monkeypatch.setattr(data, "decode_clip", lambda path, *args: decoded.append(path) or decode_clip(path, *args))
    report = evaluate(tmp_path / "run", dataset_root, split="test", workers=0)
    assert decoded == []  # every test clip came from the cache training filled
    assert report.metrics["t2v"] == result.metrics["t2v"] and report.metrics["v2t"] == result.metrics["v2t"]


def test_frame_cache_made_by_other_decoding_code_is_rebuilt(dataset_root, tmp_path, monkeypatch):
    from svta.retrieval import frame_cache

    records = read_split(dataset_root, "train")[:3]
    decoded = []

    def counting(path, *args):
        decoded.append(path)
        return decode_clip(path, *args)

    decode_clip = frame_cache.decode_clip
    monkeypatch.setattr(frame_cache, "decode_clip", counting)
    first = build_frame_cache(tmp_path / "cache", records, FRAMES, openai_preprocess(32))
    build_frame_cache(tmp_path / "cache", records, FRAMES, openai_preprocess(32))
    assert len(decoded) == 3  # unchanged code: nothing decoded again
    # one more module in the digest stands for an edited decoder
    monkeypatch.setattr(frame_cache, "DECODER_MODULES", (*frame_cache.DECODER_MODULES, "svta.video_io.probe"))
    rebuilt = build_frame_cache(tmp_path / "cache", records, FRAMES, openai_preprocess(32))
    assert len(decoded) == 6 and rebuilt.index["decoder"] != first.index["decoder"]
    assert sorted(p.name for p in rebuilt.directory.glob("shard-*.npy")) == rebuilt.index["shards"]
    for i in range(1, len(records)):
        assert np.array_equal(rebuilt.load(records[i].id)[0], first.load(records[i].id)[0])


def test_epoch_sampler_shards_ranks_and_resumes():
    ranks = [list(EpochBatchSampler(10, 2, world=2, rank=r, seed=3, epoch=1)) for r in range(2)]
    assert len(ranks[0]) == 2 and all(len(b) == 2 for b in ranks[0])
    seen = [i for r in ranks for b in r for i in b]
    assert len(seen) == len(set(seen)) == 8
    assert list(EpochBatchSampler(10, 2, world=2, rank=0, seed=3, epoch=1, start=1)) == ranks[0][1:]
    assert list(EpochBatchSampler(10, 2, seed=3, epoch=2)) != list(EpochBatchSampler(10, 2, seed=3, epoch=1))


def test_recipe_schedule_and_groups():
    factor = warmup_cosine(0.1)
    assert factor(0.05) == pytest.approx(0.5) and factor(0.5) == pytest.approx(0.5) and factor(1.0) == pytest.approx(0)
    model = torch.nn.Module()
    model.clip = torch.nn.Linear(3, 3)
    model.head = torch.nn.Linear(3, 3)
    groups = {g["name"]: g for g in param_groups(model, lr=1e-4, coef_lr=1e-3, weight_decay=0.2)}
    assert groups["clip-decay"]["lr"] == pytest.approx(1e-7) and groups["new-decay"]["lr"] == pytest.approx(1e-4)
    assert groups["new-no_decay"]["weight_decay"] == 0.0 and groups["clip-decay"]["weight_decay"] == 0.2


def test_warmup_linear_is_grams_schedule():
    factor = warmup_linear(0.1)
    assert [factor(x) for x in (0.0, 0.05, 0.1)] == pytest.approx([0.0, 0.5, 1.0])  # linear warm-up
    decay = [factor(x) for x in np.linspace(0.1, 1.0, 10)]  # then a straight line down to 0 at the end
    assert decay[0] == pytest.approx(1.0) and decay[-1] == pytest.approx(0.0)
    assert np.diff(decay) == pytest.approx([-1 / 9] * 9)
    assert factor(1.5) == 0.0


def test_each_model_gets_its_published_recipe():
    assert TrainConfig(model="gram").with_model_recipe().schedule == "warmup_linear"
    assert TrainConfig(model="gram").with_model_recipe().grad_clip is None
    assert TrainConfig.preset("gram").grad_clip is None and TrainConfig.preset("gram").schedule == "warmup_linear"
    for model in ("clip4clip-meanp", "clip4clip-seqtransf", "xclip"):  # unchanged: cosine, clipped at 1.0
        recipe = TrainConfig(model=model).with_model_recipe()
        assert (recipe.schedule, recipe.grad_clip) == ("warmup_cosine", 1.0)
    explicit = TrainConfig(model="gram", grad_clip=0.5, schedule="warmup_cosine").with_model_recipe()
    assert (explicit.schedule, explicit.grad_clip) == ("warmup_cosine", 0.5)
    legacy = TrainConfig.model_validate({"model": "gram", "max_grad_norm": 2.0})  # a run config from before
    assert (legacy.with_model_recipe().grad_clip, legacy.with_model_recipe().schedule) == (2.0, "warmup_cosine")
    with pytest.raises(ValueError, match="grad_clip"):
        TrainConfig(grad_clip=0.0)


def _recording_clip(monkeypatch) -> list[float]:
    calls: list[float] = []
    clip = torch.nn.utils.clip_grad_norm_

    def record(parameters, max_norm, *args, **kwargs):
        calls.append(max_norm)
        return clip(parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", record)
    return calls


def test_gram_trains_without_clipping_on_a_linear_schedule(dataset_root, tmp_path, monkeypatch):
    calls = _recording_clip(monkeypatch)
    run = tmp_path / "gram"
    train(dataset_root, quick_config(model="gram", warmup_proportion=0.01), run_dir=run, test=False)
    assert calls == []  # GRAM's released code does not clip gradients
    steps = read_log(run, "step")
    lrs = [e["lr"] for e in steps]
    assert len(lrs) == 6 and all(e["grad_norm"] > 0 for e in steps)
    # the rate after each of the 6 steps: GRAM's straight line (logged to 3 digits), not a cosine
    factor = warmup_linear(0.01)
    expected = [5e-4 * factor(min(1.0, (k + 1) / 6)) for k in range(1, 7)]
    assert lrs == pytest.approx(expected, rel=1e-2, abs=1e-9)
    assert lrs != pytest.approx([5e-4 * warmup_cosine(0.01)(min(1.0, (k + 1) / 6)) for k in range(1, 7)], rel=1e-2)
    recorded = read_config(run)["train"]  # the run records the recipe it resolved, not "auto"
    assert recorded["schedule"] == "warmup_linear" and recorded["grad_clip"] is None


def test_clip4clip_still_clips_at_one(dataset_root, tmp_path, monkeypatch):
    calls = _recording_clip(monkeypatch)
    train(dataset_root, quick_config(max_steps=2), run_dir=tmp_path / "c4c", test=False)
    assert calls == [1.0, 1.0]


def test_cli_train_then_eval(dataset_root, tmp_path, capsys):
    code = main(
        [
            "--quiet",
            "train",
            "--root",
            str(dataset_root),
            "--preset",
            "cpu-demo",
            "--model",
            "clip4clip-meanp",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--frames",
            str(FRAMES),
            "--workers",
            "0",
            "--name",
            "cli",
            "--json",
        ]
    )
    assert code == 3  # finished, but the fixture's broken video was skipped (exit 3, after the metrics)
    metrics = json.loads(capsys.readouterr().out)
    run_dir = dataset_root / "runs" / "cli"
    assert set(metrics["t2v"]) >= {"R1", "R5", "R10", "MdR", "MnR"} and metrics["split"] == "test"
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    assert (run_dir / "results.md").read_text().count("| test |") == 1 and (run_dir / "config.yaml").exists()
    assert main(["--quiet", "eval", "--run", str(run_dir), "--workers", "0", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["t2v"] == metrics["t2v"] and again["n_texts"] == 6
    checkpoint = run_dir / "best_model.bin"
    assert (
        main(
            [
                "--quiet",
                "eval",
                "--checkpoint",
                str(checkpoint),
                "--root",
                str(dataset_root),
                "--frames",
                str(FRAMES),
                "--split",
                "val",
                "--workers",
                "0",
                "--json",
            ]
        )
        == 0
    )
    val = json.loads(capsys.readouterr().out)
    assert val["split"] == "val" and val["n_videos"] == 4
    assert np.isfinite(val["v2t"]["MnR"])


def test_cli_eval_bad_checkpoint_is_one_line_error(dataset_root, tmp_path, capsys):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"garbage")
    assert main(["eval", "--checkpoint", str(bad), "--root", str(dataset_root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and str(bad) in err and "\n" not in err
