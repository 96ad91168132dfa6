"""Train a retrieval model on a dataset root with CLIP4Clip's recipe and evaluate it on the test split.

One process per device under ``torchrun`` (DDP; features all-gathered for the loss), AMP on GPU, gradient
accumulation, a checkpoint every epoch (and every ``save_every_steps``) with exact resume, model selection on
val, JSONL + TensorBoard logs. Everything lands in ``<root>/runs/<name>/``.

This module holds the loop; its parts live beside it: ``train_setup`` (device, precision, seeds),
``run_checkpoints`` (the checkpoint folder and resume check), ``train_progress`` (what a step logs and the console
line) and ``train_summary`` (``metrics.json`` and ``results.md``'s facts). Evaluation is ``evaluate_dataset``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from svta.errors import ConfigError, InputError
from svta.progress import info, progress, warn
from svta.retrieval import results, run_checkpoints
from svta.retrieval.analysis import KEEP_TOPK
from svta.retrieval.checkpoint import (
    capture_rng,
    load_state_strict,
    load_training_state,
    restore_rng,
    save_model_weights,
)
from svta.retrieval.config import TrainConfig, default_run_name
from svta.retrieval.data import ClipDataset, EpochBatchSampler, make_loader, read_split
from svta.retrieval.distributed import DistContext, barrier, gather_objects, init_distributed, shutdown
from svta.retrieval.evaluate import EvalReport, autocast_context, evaluate_dataset
from svta.retrieval.optim import build_optimizer, build_scheduler
from svta.retrieval.results import CHECKPOINT_DIR as CHECKPOINT_DIR  # re-exported (the module's names before the split)
from svta.retrieval.results import LATEST_POINTER as LATEST_POINTER
from svta.retrieval.run_log import RunLogger
from svta.retrieval.train_progress import StepClock, console_line, planned_steps, step_values
from svta.retrieval.train_setup import check_device, resolve_precision, seed_everything
from svta.retrieval.train_summary import RunTotals, final_metrics, results_summary

if TYPE_CHECKING:
    from svta.retrieval.base import RetrievalModel


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        run_dir: ``<root>/runs/<name>``.
        metrics: the content of ``metrics.json`` (test metrics in ``svta eval metrics --json`` shape, plus extras).
        best_epoch: epoch (1-based) whose weights were selected, ``None`` before the first epoch ended.
        steps: optimiser steps taken (over the whole run, resumed parts included).
        skipped_videos: training videos that did not decode (skipped, not fatal).
        seconds: training wall time of this invocation.
        clips_per_second: training throughput of this invocation (all ranks together).
        model_path: the selected weights (``best_model.bin``, a plain CLIP4Clip-style state dict).
    """

    run_dir: Path
    metrics: dict[str, Any]
    best_epoch: int | None
    steps: int
    skipped_videos: int
    seconds: float
    clips_per_second: float
    model_path: Path


def train(
    root: Path | str,
    train_config: TrainConfig | None = None,
    *,
    run_name: str | None = None,
    run_dir: Path | str | None = None,
    resume: bool = False,
    device: str | None = None,
    test: bool = True,
    analysis: bool = True,
) -> TrainResult:
    """Train ``train_config.model`` on ``<root>/manifest.parquet`` and evaluate it on the test split.

    Args:
        root: dataset root (``manifest.parquet`` with train/val/test splits; videos under it).
        train_config: the recipe (default: CLIP4Clip's, on the tiny backbone).
        run_name: ``runs/<run_name>`` (default ``<model>-<backbone>``).
        run_dir: an explicit run directory instead.
        resume: continue from the run's latest checkpoint (exactly: same next batch, same next loss).
        device: ``cpu`` / ``cuda`` / ``cuda:N``; default CUDA when available. Under torchrun: ``cuda:LOCAL_RANK``.
        test: evaluate the selected weights on the test split at the end.
        analysis: also write the test split's breakdowns and figures to ``<run>/analysis/``.

    Raises:
        ConfigError / InputError / TableSchemaError: bad config, missing manifest or split, existing run.
    """
    config = (train_config or TrainConfig()).with_model_recipe()
    check_device(config, device)
    ctx = init_distributed(device)
    threads = torch.get_num_threads()
    if config.cpu_threads and ctx.device.type == "cpu":
        torch.set_num_threads(config.cpu_threads)
    try:
        name = run_name or default_run_name(config.model, config.backbone)
        directory = Path(run_dir) if run_dir else Path(root) / "runs" / name
        return Trainer(Path(root), config, directory, ctx, resume).run(test, analysis)
    finally:
        torch.set_num_threads(threads)
        shutdown(ctx)


class Trainer:
    """One training run: parts are prepared in ``__init__``, :meth:`run` trains, selects and tests."""

    def __init__(self, root: Path, config: TrainConfig, run_dir: Path, ctx: DistContext, resume: bool = False):
        self.root, self.config, self.run_dir, self.ctx = root, config, run_dir, ctx
        self.check_inputs(resume)
        seed_everything(config.seed)
        self.amp_dtype = resolve_precision(config.precision, ctx.device)
        self.model = self.prepare_model()
        self.datasets = self.prepare_data()
        self.prepare_optimisation()
        self.logger = RunLogger(run_dir, enabled=ctx.is_main, tensorboard=config.tensorboard)
        self.epoch = self.step_in_epoch = self.step = 0
        self.best: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}
        if resume:
            self.restore_latest()

    # ---- preparation ----------------------------------------------------------------------------------------

    def check_inputs(self, resume: bool) -> None:
        cfg, world = self.config, self.ctx.world_size
        if cfg.batch_size % (cfg.grad_accum * world):
            raise ConfigError(
                f"batch_size {cfg.batch_size} must be divisible by grad_accum x ranks ({cfg.grad_accum} x {world})"
            )
        if not resume and run_checkpoints.holds_run(self.run_dir):
            raise ConfigError(f"{self.run_dir} already holds a training run; resume it (--resume) or pick another name")

    def prepare_model(self) -> RetrievalModel:
        from svta.retrieval.factory import create_model

        cfg = self.config
        overrides = cfg.model_overrides()
        if not self.ctx.is_main:  # let rank 0 download pretrained weights alone, then read its cached copy
            barrier(self.ctx)
        model = create_model(cfg.model, cfg.backbone, cfg.pretrained, **overrides)
        if self.ctx.is_main:
            barrier(self.ctx)
        return model.to(self.ctx.device)

    def prepare_data(self) -> dict[str, ClipDataset]:
        from svta.retrieval.tokenizer import tokenize

        cfg = self.config
        records = {split: read_split(self.root, split) for split in dict.fromkeys(cfg.splits)}
        if not records[cfg.splits[0]]:
            raise InputError(f"{self.root / 'manifest.parquet'}: the {cfg.splits[0]!r} split has no rows")
        cache = self._frame_cache([r for rows in records.values() for r in rows]) if cfg.frame_cache else None
        datasets = {}
        for split, rows in records.items():
            tokens, mask = tokenize([r.caption for r in rows], cfg.max_words)
            datasets[split] = ClipDataset(
                rows, tokens, mask, cfg.max_frames, self.model.preprocess, cfg.sample_fps, cache
            )
        return datasets

    def _frame_cache(self, records: list[Any]) -> Any:
        from svta.retrieval.frame_cache import build_frame_cache

        cfg, ctx = self.config, self.ctx
        cache_dir = cfg.cache_dir or self.root / "cache" / "frames"
        if ctx.local_rank != 0:  # one process per machine decodes; the others read what it wrote
            barrier(ctx)
        # Without loader processes the decoding runs on as many threads as the training's torch uses.
        threads = torch.get_num_threads() if ctx.device.type == "cpu" else 1
        cache = build_frame_cache(
            cache_dir,
            records,
            cfg.max_frames,
            self.model.preprocess,
            cfg.sample_fps,
            workers=cfg.num_workers,
            threads=threads,
        )
        if ctx.local_rank == 0:
            barrier(ctx)
        return cache

    def prepare_optimisation(self) -> None:
        cfg, ctx = self.config, self.ctx
        n_train = len(self.datasets[cfg.splits[0]])
        group = cfg.grad_accum * ctx.world_size
        self.batch_size = min(cfg.batch_size, n_train // group * group)
        if self.batch_size < group:
            raise InputError(f"the train split has {n_train} clips: too few for {group} micro-batches per step")
        if self.batch_size < cfg.batch_size:
            warn(f"train split has {n_train} clips < batch_size {cfg.batch_size}; using batches of {self.batch_size}")
        self.per_rank = self.batch_size // group
        self.steps_per_epoch = n_train // self.batch_size
        self.optimizer = build_optimizer(self.model, cfg)
        recipe = cfg.with_model_recipe()
        self.grad_clip = recipe.grad_clip
        self.scheduler = build_scheduler(
            self.optimizer, self.steps_per_epoch * cfg.epochs, cfg.warmup_proportion, str(recipe.schedule)
        )
        self.scaler = torch.amp.GradScaler(ctx.device.type, enabled=self.amp_dtype == torch.float16)
        self.ddp = None
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=device_ids, broadcast_buffers=False)

    # ---- training -------------------------------------------------------------------------------------------

    def run(self, test: bool = True, analysis: bool = True) -> TrainResult:
        """Train the remaining epochs, select on val, evaluate on test, write the run's files."""
        cfg = self.config
        if self.ctx.is_main:
            # The root relative to the run folder: a copied or moved root keeps evaluating (svta eval --run).
            relative_root = os.path.relpath(self.root.resolve(), self.run_dir.resolve())
            results.write_config(
                self.run_dir,
                {"root": relative_root, "world_size": self.ctx.world_size, "train": cfg.model_dump(mode="json")},
            )
        self.logger.event(
            "start",
            step=self.step,
            epoch=self.epoch,
            world_size=self.ctx.world_size,
            device=str(self.ctx.device),
            train_clips=len(self.datasets[cfg.splits[0]]),
            batch_size=self.batch_size,
            steps_per_epoch=self.steps_per_epoch,
        )
        start, clips = time.perf_counter(), 0
        self.clock = StepClock(self.step)
        for epoch in range(self.epoch, cfg.epochs):
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                break
            done, stopped = self.train_epoch(epoch)
            clips += done
            if stopped:
                break
            self.end_epoch(epoch)
        seconds = time.perf_counter() - start
        return self.finish(test, seconds, clips / seconds if seconds > 0 else 0.0, analysis)

    def train_epoch(self, epoch: int) -> tuple[int, bool]:
        """Train one epoch from the current position; returns (clips trained, stopped at ``max_steps``)."""
        cfg, ctx = self.config, self.ctx
        sampler = EpochBatchSampler(
            len(self.datasets[cfg.splits[0]]),
            self.per_rank,
            world=ctx.world_size,
            rank=ctx.rank,
            seed=cfg.seed,
            epoch=epoch,
            start=self.step_in_epoch * cfg.grad_accum,
            limit=self.steps_per_epoch * cfg.grad_accum,
        )
        loader = make_loader(self.datasets[cfg.splits[0]], sampler, cfg.num_workers)
        # The bar counts this rank's clips (decodable or not), not batches.
        clips_total = len(sampler) * self.per_rank
        batches = (
            progress(loader, f"epoch {epoch + 1}/{cfg.epochs} clips", clips_total, count=_batch_clips)
            if ctx.is_main
            else loader
        )
        pending, clips, tick = [], 0, time.perf_counter()
        for batch in batches:
            self._note_broken(batch["broken"])
            pending.append(batch)
            if len(pending) < cfg.grad_accum:
                continue
            loss, grad_norm = self.optimizer_step(pending)
            step_clips = sum(len(b["index"]) for b in pending) * ctx.world_size
            clips, pending = clips + step_clips, []
            self.step, self.step_in_epoch = self.step + 1, self.step_in_epoch + 1
            self._log_step(epoch, loss, grad_norm, step_clips / max(time.perf_counter() - tick, 1e-9))
            tick = time.perf_counter()
            if cfg.save_every_steps and self.step % cfg.save_every_steps == 0:
                self.save_checkpoint("last.pt")
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                self.save_checkpoint("last.pt")
                return clips, True
        return clips, False

    def _batch_on_device(self, batch: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        device = self.ctx.device
        frame_mask = batch["frame_mask"].to(device, non_blocking=True)
        frames = self.model.preprocess.normalize(batch["frames"].to(device, non_blocking=True), frame_mask)
        return batch["tokens"].to(device), batch["mask"].to(device), frames, frame_mask

    def optimizer_step(self, batches: list[dict[str, Any]]) -> tuple[float, float]:
        """Forward/backward ``batches`` (gradient accumulation), then one clipped optimiser step."""
        from contextlib import nullcontext

        model = self.ddp or self.model
        model.train()
        total = 0.0
        usable = [b for b in batches if b["tokens"] is not None]
        for i, batch in enumerate(usable):
            sync = nullcontext() if self.ddp is None or i == len(usable) - 1 else self.ddp.no_sync()
            with sync:
                with autocast_context(self.ctx.device, self.amp_dtype):
                    loss = model(*self._batch_on_device(batch))
                self.scaler.scale(loss / len(usable)).backward()
            total += loss.item() / len(usable)
        self.scaler.unscale_(self.optimizer)
        grad_norm = self._gradient_norm()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        scale = self.model.logit_scale_parameter()
        if scale is not None:
            with torch.no_grad():  # CLIP: the temperature may not exceed 100
                scale.clamp_(0, self.config.max_logit_scale)
        return total, float(grad_norm)

    def _gradient_norm(self) -> torch.Tensor:
        """The gradients' total norm, clipped to ``grad_clip`` unless that is ``None`` (GRAM: no clipping)."""
        if self.grad_clip is None:
            grads = [p.grad for p in self.model.parameters() if p.grad is not None]
            return torch.nn.utils.get_total_norm(grads)
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), float(self.grad_clip))

    def _note_broken(self, broken: list[tuple[int, str]]) -> None:
        records = self.datasets[self.config.splits[0]].records
        for index, error in broken:
            clip_id = records[index].id
            if clip_id not in self.skipped:
                self.skipped[clip_id] = error
                warn(f"skipping the video of {clip_id}: {error}")
                self.logger.event("skipped_video", id=clip_id, error=error, step=self.step)

    def _log_step(self, epoch: int, loss: float, grad_norm: float, clips_per_s: float) -> None:
        if self.step % self.config.log_every and self.step != 1:
            return
        values = step_values(self.optimizer, self.model, loss, grad_norm, clips_per_s)
        self.logger.event("step", step=self.step, epoch=epoch + 1, **{k: round(v, 6) for k, v in values.items()})
        self.logger.scalars(self.step, values, "train")
        if self.ctx.is_main:
            cfg = self.config
            planned = planned_steps(self.steps_per_epoch, cfg.epochs, cfg.max_steps)
            per_step = self.clock.seconds_per_step(self.step)
            info(console_line(epoch, cfg.epochs, self.step, planned, values, per_step))

    # ---- epochs, selection, checkpoints -------------------------------------------------------------------------

    def end_epoch(self, epoch: int) -> None:
        """Count skipped videos, validate, keep the best weights, checkpoint."""
        self.epoch, self.step_in_epoch = epoch + 1, 0
        known = set(self.skipped)
        for part in gather_objects(self.ctx, self.skipped):  # other ranks' skipped videos
            self.skipped.update(part)
        for clip_id in sorted(set(self.skipped) - known):
            self.logger.event("skipped_video", id=clip_id, error=self.skipped[clip_id], step=self.step)
        report = self.evaluate(self.config.splits[1]) if self.config.validate_every_epoch else None
        entry: dict[str, Any] = {"epoch": epoch + 1, "step": self.step}
        if report is not None:
            entry.update(metrics=report.metrics, value=selection_value(report.metrics, self.config.select_metric))
            self.logger.event("val", **entry)
            self.logger.scalars(
                self.step,
                {f"{d}_{k}": v for d in ("t2v", "v2t") for k, v in report.metrics[d].items() if k in results.COLUMNS},
                "val",
            )
        self.history.append(entry)
        if self.best is None or report is None or entry["value"] > self.best["value"]:
            self.best = {**entry, "value": entry.get("value", float(epoch + 1))}
            if self.ctx.is_main:
                save_model_weights(self.model, self.run_dir / results.BEST_MODEL_FILE)
        self.save_checkpoint(f"epoch-{epoch + 1}.pt")

    def evaluate(self, split: str, keep_topk: int = 0) -> EvalReport | None:
        dataset = self.datasets.get(split)
        if dataset is None or len(dataset) == 0:
            warn(f"no {split!r} rows in the manifest: {split} evaluation skipped")
            return None
        # Evaluation runs in full precision even when training uses autocast: bf16 scores tie and reorder
        # near neighbours, and `svta eval` on the saved weights must reproduce these numbers.
        return evaluate_dataset(
            self.model,
            dataset,
            self.ctx,
            split,
            batch_size=self.config.eval_batch_size,
            workers=self.config.num_workers,
            keep_topk=keep_topk,
        )

    def training_state(self) -> dict[str, Any]:
        return {
            "format": "svta-train-checkpoint",
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": capture_rng(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "step": self.step,
            "best": self.best,
            "history": self.history,
            "skipped": self.skipped,
            "config": self.config.model_dump(mode="json"),
            "model_name": self.config.model,
            "model_args": self.model.describe(),
        }

    def save_checkpoint(self, name: str) -> None:
        """Write the full training state (main rank) and point ``latest.json`` at it."""
        if not self.ctx.is_main:
            return
        state = self.training_state()
        run_checkpoints.save_checkpoint(
            self.run_dir,
            name,
            state,
            step=self.step,
            epoch=self.epoch,
            keep=self.config.keep_checkpoints,
            logger=self.logger,
        )

    def restore_latest(self) -> None:
        """Continue from ``latest.json``'s checkpoint: weights, optimiser, schedule, RNG, data position."""
        path = run_checkpoints.latest_checkpoint(self.run_dir)
        if path is None:
            info(f"{self.run_dir}: no checkpoint to resume from; starting fresh")
            return
        state = load_training_state(path)
        run_checkpoints.check_resumable(path, state, self.config)
        load_state_strict(self.model, state["model"], str(path))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"])
        self.epoch, self.step_in_epoch, self.step = state["epoch"], state["step_in_epoch"], state["step"]
        self.best, self.history, self.skipped = state["best"], state["history"], state["skipped"]
        info(f"resumed {self.run_dir.name} at step {self.step} (epoch {self.epoch + 1}, batch {self.step_in_epoch})")

    # ---- the end ------------------------------------------------------------------------------------------------

    def finish(self, test: bool, seconds: float, clips_per_second: float, analysis: bool = True) -> TrainResult:
        """Load the selected weights, evaluate on test, write ``metrics.json`` / ``results.md``."""
        best_path = self.run_dir / results.BEST_MODEL_FILE
        if self.best is None and self.ctx.is_main:  # stopped before an epoch ended: keep the latest weights
            save_model_weights(self.model, best_path)
        barrier(self.ctx)
        state = torch.load(best_path, map_location="cpu", weights_only=True)
        load_state_strict(self.model, state, str(best_path))
        report = self.evaluate(self.config.splits[2], KEEP_TOPK if analysis else 0) if test else None
        totals = RunTotals(
            self.run_dir.name,
            self.root,
            self.best,
            self.step,
            self.batch_size,
            self.ctx.world_size,
            len(self.skipped),
            seconds,
            clips_per_second,
        )
        metrics = final_metrics(report, self.config, totals)
        if self.ctx.is_main:
            counts = dict(Counter(r.category for r in self.datasets[self.config.splits[0]].records))
            summary = results_summary(self.config, totals)
            results.write_results(self.run_dir, metrics, summary, report if analysis else None, counts)
        self.logger.event("test", **metrics)
        self.logger.close()
        return TrainResult(
            self.run_dir,
            metrics,
            self.best["epoch"] if self.best else None,
            self.step,
            len(self.skipped),
            seconds,
            clips_per_second,
            best_path,
        )


def _batch_clips(batch: dict[str, Any]) -> int:
    return len(batch["index"]) + len(batch["broken"])


def selection_value(metrics: dict[str, Any], select_metric: str) -> float:
    """The number model selection maximises: a recall, ``rsum`` (sum of R@1/5/10 both ways), or minus a rank."""
    if select_metric == "rsum":
        return float(sum(metrics[d][f"R{k}"] for d in ("t2v", "v2t") for k in (1, 5, 10)))
    direction, name = select_metric.split(".")
    value = float(metrics[direction][name])
    return -value if name in ("MdR", "MnR") else value
