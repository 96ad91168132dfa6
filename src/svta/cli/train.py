"""``svta train``: train a retrieval model on a dataset root (stage 5) and evaluate it on the test split.

Multi-GPU / multi-node: ``torchrun --nproc_per_node=N $(which svta) train ...`` (one process per device).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import fail_incomplete, stage_app

# TrainConfig field -> the option that sets it (errors name the option the user typed).
OPTION_OF_FIELD = {
    "model": "--model",
    "backbone": "--backbone",
    "pretrained": "--pretrained",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "max_frames": "--frames",
    "num_workers": "--workers",
    "max_steps": "--max-steps",
    "frame_cache": "--frame-cache",
}

app = stage_app("Stage 5: train a retrieval model (CLIP4Clip recipe) on a dataset root.", default_action=True)


@app.command("run")
def train_command(
    root: Annotated[
        Path | None, typer.Option("--root", help="Dataset root with manifest.parquet (default: the global --root).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name, e.g. clip4clip-seqtransf (see svta list).")
    ] = None,
    backbone: Annotated[
        str | None,
        typer.Option(
            "--backbone", help="tiny | small | an open_clip ViT (ViT-B-32, ViT-B-16, ...) | an OpenAI weight file."
        ),
    ] = None,
    pretrained: Annotated[
        str | None, typer.Option("--pretrained", help="'openai' (downloads) or the path of an OpenAI .pt.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Named recipe: clip4clip | clip4clip-b16 | gram | cpu-demo.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Run name: runs/<name>/ (default <model>-<backbone>).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run from its latest checkpoint.")] = False,
    device: Annotated[
        str | None, typer.Option("--device", help="cpu | cuda | cuda:N (default: CUDA when available).")
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Training epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Global batch per optimiser step.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate of new modules (CLIP: lr x coef_lr).")] = None,
    frames: Annotated[int | None, typer.Option("--frames", help="Frames sampled per video (max_frames).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Data-loading processes per rank.")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after this many optimiser steps.")] = None,
    frame_cache: Annotated[
        bool | None,
        typer.Option("--frame-cache/--no-frame-cache", help="Decode sampled frames once into uint8 shards."),
    ] = None,
    test: Annotated[bool, typer.Option("--test/--no-test", help="Evaluate the selected weights on test.")] = True,
    analysis: Annotated[
        bool,
        typer.Option(
            "--analysis/--no-analysis", help="Write the test split's breakdowns and figures to runs/<name>/analysis/."
        ),
    ] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print metrics.json as JSON.")] = False,
) -> None:
    """Train a retrieval model (CLIP4Clip recipe), select on val, evaluate on test; writes runs/<name>/."""
    from svta.cli._common import (
        check_name,
        check_registered,
        emit_json,
        existing_root,
        load_cli_config,
        validated,
        wants_json,
    )
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.trainer import train

    check_name(name)  # runs/<name>/ stays under the root
    root = existing_root(root)
    config = load_cli_config(root).train
    if preset is not None:
        config = config.merged_over(TrainConfig.preset(preset))
    flags = {
        "model": model,
        "backbone": backbone,
        "pretrained": pretrained,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "max_frames": frames,
        "num_workers": workers,
        "max_steps": max_steps,
        "frame_cache": frame_cache,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    config = validated(TrainConfig, {**config.model_dump(), **given}, OPTION_OF_FIELD)
    check_registered("retrieval_model", config.model, "--model")  # the model also names runs/<model>-<backbone>/
    result = train(root, config, run_name=name, resume=resume, device=device, test=test, analysis=analysis)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only the first process reports
        return
    if wants_json(json_):
        emit_json(result.metrics)
    else:
        _print_result(result)
    if result.skipped_videos:
        fail_incomplete(f"{result.skipped_videos} video(s) could not be decoded and were skipped in training")


def _print_result(result: Any) -> None:
    from svta.retrieval.results import run_table

    table = run_table(result.metrics)
    if table:
        typer.echo(table)
    typer.echo(
        f"{result.steps} steps, {result.seconds:.1f} s, {result.clips_per_second:.1f} clips/s, "
        f"{result.skipped_videos} skipped video(s) -> {result.run_dir}"
    )
