"""The README's real-backend commands on weight files in the formats users download (random values, offline):
OpenAI's CLIP release (TorchScript archive and state dict), CLIP4Clip / X-CLIP checkpoints; preflight failures;
runs that move with their root; training lines a user can watch."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch
from retrievalkit import make_dataset
from weights import write_clip4clip_checkpoint, write_openai_clip

from svta.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit: deprecated, yet OpenAI's format
QUICK = ["--epochs", "1", "--batch-size", "4", "--frames", "2", "--workers", "0", "--device", "cpu"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    directory = tmp_path_factory.mktemp("real-root")
    make_dataset(directory, {"train": 4, "val": 2, "test": 3}, frames=3, size=32)
    return directory


@pytest.fixture(scope="module")
def openai_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("openai")
    return {kind: write_openai_clip(directory / f"ViT-B-32-{kind}.pt", kind) for kind in ("torchscript", "state_dict")}


def test_both_openai_formats_give_the_same_model(openai_files):
    from svta.retrieval.factory import create_model

    models = [create_model("clip4clip-meanp", "ViT-B-32", str(path)).eval() for path in openai_files.values()]
    assert models[0].image_size == 224 and models[0].clip.visual.conv1.weight.shape[-1] == 32
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        assert torch.equal(a, b), name


def test_train_preset_clip4clip_with_the_openai_archive(root, openai_files, capsys):
    code = main(
        [
            "--quiet",
            "train",
            "--root",
            str(root),
            "--model",
            "clip4clip-seqtransf",
            "--preset",
            "clip4clip",
            "--pretrained",
            str(openai_files["torchscript"]),
            "--name",
            "openai",
            "--json",
            *QUICK,
        ]
    )
    assert code == 0, capsys.readouterr().err
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["backbone"] == "ViT-B-32" and metrics["n_texts"] == 3 and metrics["train_steps"] == 1


@pytest.mark.parametrize("model_name", ["clip4clip-seqtransf", "xclip"])
def test_eval_a_published_style_checkpoint(root, tmp_path, capsys, model_name):
    path = write_clip4clip_checkpoint(
        tmp_path / "pytorch_model.bin.4",
        model_name,
        **({"max_words": 32, "max_frames": 2} if model_name == "xclip" else {}),
    )
    code = main(
        [
            "--quiet",
            "eval",
            "--checkpoint",
            str(path),
            "--root",
            str(root),
            "--frames",
            "2",
            "--workers",
            "0",
            "--device",
            "cpu",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["n_videos"] == 3


def test_openai_weights_offline_fail_in_one_line(root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty ~/.cache/clip
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert (
        main(
            ["train", "--root", str(root), "--model", "clip4clip-seqtransf", "--preset", "clip4clip", "--device", "cpu"]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "HF_HUB_OFFLINE" in err and str(tmp_path / ".cache" / "clip") in err
    assert "--pretrained" in err and not (root / "runs" / "clip4clip-seqtransf-ViT-B-32").exists()


def test_openai_weights_unreachable_server_fails_in_one_line(root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("svta.preflight.reachable", lambda url, timeout=3.0: False)
    assert (
        main(["train", "--root", str(root), "--model", "clip4clip-meanp", "--preset", "clip4clip", "--device", "cpu"])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not answer" in err and "openaipublic" in err


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A finished cpu-demo run trained on 2 frames, and its root."""
    original = tmp_path_factory.mktemp("movable") / "data"
    make_dataset(original, {"train": 4, "val": 2, "test": 3}, frames=3, size=32)
    args = [
        "--quiet",
        "train",
        "--root",
        str(original),
        "--preset",
        "cpu-demo",
        "--name",
        "r",
        "--max-steps",
        "1",
        *QUICK,
    ]
    assert main(args) == 0
    return original


def test_a_copied_root_evaluates_after_the_original_is_gone(small_run, tmp_path, capsys):
    capsys.readouterr()
    copy = tmp_path / "copy"
    shutil.copytree(small_run, copy)
    assert main(["--quiet", "eval", "--run", str(small_run / "runs" / "r"), "--workers", "0", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    shutil.rmtree(small_run / "videos")  # the original's data is gone; the copy must not read it
    assert main(["--quiet", "eval", "--run", str(copy / "runs" / "r"), "--workers", "0", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["t2v"] == before["t2v"] and after["skipped_videos"] == 0


def test_checkpoint_takes_the_runs_config_and_says_when_a_flag_overrides_it(tmp_path, capsys):
    root = tmp_path / "data"
    make_dataset(root, {"train": 4, "val": 2, "test": 3}, frames=3, size=32)
    assert (
        main(
            ["--quiet", "train", "--root", str(root), "--preset", "cpu-demo", "--name", "r", "--max-steps", "1", *QUICK]
        )
        == 0
    )
    run = root / "runs" / "r"
    capsys.readouterr()
    assert main(["--quiet", "eval", "--run", str(run), "--workers", "0", "--json"]) == 0
    by_run = json.loads(capsys.readouterr().out)
    checkpoint = [
        "--quiet",
        "eval",
        "--checkpoint",
        str(run / "best_model.bin"),
        "--root",
        str(root),
        "--workers",
        "0",
        "--json",
    ]
    assert main(checkpoint) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["t2v"] == by_run["t2v"] and "overrides" not in captured.err
    assert main([*checkpoint, "--frames", "3"]) == 0
    assert "max_frames 3 overrides 2 from" in capsys.readouterr().err


def test_training_prints_step_lines(tmp_path, capsys):
    from svta.progress import set_quiet

    root = tmp_path / "data"
    make_dataset(root, {"train": 4, "val": 2, "test": 2}, frames=3, size=32)
    set_quiet(False)
    try:
        assert (
            main(
                [
                    "train",
                    "--root",
                    str(root),
                    "--preset",
                    "cpu-demo",
                    "--batch-size",
                    "2",
                    "--epochs",
                    "1",
                    "--frames",
                    "2",
                    "--workers",
                    "0",
                    "--device",
                    "cpu",
                    "--no-test",
                ]
            )
            == 0
        )
    finally:
        set_quiet(True)
    err = capsys.readouterr().err
    line = re.compile(
        r"^epoch 1/1 step 1/2 loss \d+\.\d{4} lr [\d.e+-]+ [\d.]+ clips/s "  # MeanP: no new modules, one rate
        r"ETA \d+:\d\d:\d\d$",
        re.M,
    )
    assert line.search(err), err
    assert "epoch 1/1 clips: 4 done in" in err and "encoding videos: 2 done in" in err


def test_full_size_training_without_a_gpu_needs_device_cpu(root, openai_files, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = [
        "train",
        "--root",
        str(root),
        "--preset",
        "clip4clip",
        "--pretrained",
        str(openai_files["state_dict"]),
        "--name",
        "nogpu",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "needs a CUDA GPU" in err and "--device cpu" in err
    assert not (root / "runs" / "nogpu").exists()
