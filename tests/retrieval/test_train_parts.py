"""The trainer's parts on their own: the checkpoint folder (pointer, pruning, the resume check), the step
report (logged values, console line, ETA on a fake clock) and the end-of-run summary."""

from __future__ import annotations

import json

import pytest
import torch

from svta.errors import ConfigError
from svta.retrieval import trainer
from svta.retrieval.config import TrainConfig
from svta.retrieval.results import CHECKPOINT_DIR, LATEST_POINTER
from svta.retrieval.run_checkpoints import check_resumable, holds_run, latest_checkpoint, save_checkpoint
from svta.retrieval.run_log import RunLogger, read_log
from svta.retrieval.train_progress import StepClock, console_line, planned_steps, step_values
from svta.retrieval.train_summary import RunTotals, final_metrics, results_summary


def test_the_trainer_module_keeps_its_public_names():
    for name in ("train", "TrainResult", "Trainer", "resolve_precision", "check_device", "seed_everything"):
        assert callable(getattr(trainer, name))
    assert (trainer.CHECKPOINT_DIR, trainer.LATEST_POINTER, trainer.selection_value) == (
        CHECKPOINT_DIR,
        LATEST_POINTER,
        trainer.selection_value,
    )


def test_checkpoints_point_latest_and_keep_the_newest_epochs(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False)
    assert not holds_run(tmp_path) and latest_checkpoint(tmp_path) is None
    for epoch in (1, 2, 3):
        save_checkpoint(
            tmp_path, f"epoch-{epoch}.pt", {"epoch": epoch}, step=epoch * 3, epoch=epoch, keep=2, logger=logger
        )
    save_checkpoint(tmp_path, "last.pt", {"epoch": 3}, step=10, epoch=3, keep=2, logger=logger)
    directory = tmp_path / CHECKPOINT_DIR
    assert sorted(p.name for p in directory.glob("*.pt")) == ["epoch-2.pt", "epoch-3.pt", "last.pt"]
    assert json.loads((directory / LATEST_POINTER).read_text()) == {"file": "last.pt", "step": 10, "epoch": 3}
    assert holds_run(tmp_path) and latest_checkpoint(tmp_path) == directory / "last.pt"
    assert [e["file"] for e in read_log(tmp_path, "checkpoint")] == [
        "epoch-1.pt",
        "epoch-2.pt",
        "epoch-3.pt",
        "last.pt",
    ]


def test_resume_check_names_the_model_and_each_changed_setting(tmp_path):
    config = TrainConfig.preset("cpu-demo")
    saved = {"model_name": config.model, "config": config.model_dump(mode="json")}
    check_resumable(tmp_path / "a.pt", saved, config)
    check_resumable(tmp_path / "a.pt", {"model_name": config.model}, config)  # an old checkpoint without config
    with pytest.raises(ConfigError, match=r"lr=0.0005 \(now 0.001\)"):
        check_resumable(tmp_path / "a.pt", saved, config.model_copy(update={"lr": 1e-3}))
    with pytest.raises(ConfigError, match="checkpoint of 'other'"):
        check_resumable(tmp_path / "a.pt", {**saved, "model_name": "other"}, config)


class _Model:
    def __init__(self, scale):
        self.scale = scale

    def logit_scale_parameter(self):
        return self.scale


class _Optimizer:
    param_groups = [{"name": "clip-decay", "lr": 1e-7}, {"name": "new-no_decay", "lr": 1e-4}]


def test_step_values_and_console_line_on_a_fake_clock():
    values = step_values(_Optimizer(), _Model(torch.tensor(0.0)), 2.07944, 1.5, 12.34)
    assert values == {
        "loss": 2.07944,
        "grad_norm": 1.5,
        "clips_per_s": 12.34,
        "lr": 1e-4,
        "lr_clip": 1e-7,
        "logit_scale": 1.0,
    }
    only_clip = step_values(_Optimizer(), _Model(None), 1.0, 0.0, 1.0)
    assert "logit_scale" not in only_clip
    now = iter([100.0, 130.0])
    clock = StepClock(first_step=4, clock=lambda: next(now))
    assert clock.seconds_per_step(10) == 5.0  # 30 s over the 6 steps of this invocation
    planned = planned_steps(56, 5, None)
    line = console_line(0, 5, 10, planned, values, 5.0)
    assert line == "epoch 1/5 step 10/280 loss 2.0794 lr 1.0e-04 (clip 1.0e-07) 12.3 clips/s ETA 0:22:30"
    assert planned_steps(56, 5, 100) == 100 and StepClock(3, clock=lambda: 0.0).seconds_per_step(3) == 0.0
    clip_rate = {"loss": 1.0, "clips_per_s": 2.0, "lr_clip": 1e-7}
    assert " lr 1.0e-07 2.0 clips/s " in console_line(1, 2, 1, 2, clip_rate, 0.0)


def test_summary_reports_the_selection_and_the_totals(tmp_path):
    config = TrainConfig.preset("cpu-demo")
    best = {"epoch": 2, "step": 6, "metrics": {"t2v": {}}, "value": 1.0}
    totals = RunTotals("run", tmp_path, best, 6, 4, 1, 1, 2.34567, 7.891)
    metrics = final_metrics(None, config, totals)
    assert metrics["split"] is None and metrics["best_epoch"] == 2 and metrics["val"] == {"t2v": {}}
    assert (metrics["train_seconds"], metrics["clips_per_second"], metrics["train_skipped_videos"]) == (2.346, 7.89, 1)
    summary = results_summary(config, totals)
    assert list(summary)[0] == "model" and summary["train seconds (this invocation)"] == 2.3
    assert summary["selected on"] == f"val {config.select_metric}" and summary["root"] == str(tmp_path)


def test_a_checkpoint_write_on_a_full_disk_is_an_oserror_naming_the_file(tmp_path, monkeypatch):
    import errno
    import shutil
    from collections import namedtuple

    import torch

    from svta.retrieval import checkpoint

    def full_disk_save(obj, f, *args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing file data/0")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(torch, "save", full_disk_save)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, 1 << 30, 0))
    target = tmp_path / "state.pt"
    with pytest.raises(OSError) as caught:
        checkpoint.save_training_state(target, {"step": 1})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, 0, 1 << 30))
    with pytest.raises(RuntimeError):  # a write failure with space left is not a full disk
        checkpoint.save_training_state(target, {"step": 1})
