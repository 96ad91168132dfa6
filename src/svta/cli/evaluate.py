"""``svta eval``: evaluate a trained run, or any CLIP4Clip-style weight file, on a split of a dataset root."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def eval_command(
    run: Annotated[Path | None, typer.Option("--run", help="A training run directory (runs/<name>).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="A weight file: CLIP4Clip's pytorch_model.bin.N, svta's best_model.bin.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Model name for --checkpoint (inferred from parameter names when omitted).")] = None,
    root: Annotated[Path | None, typer.Option(
        "--root", help="Dataset root (default: the run's, or the global --root).")] = None,
    split: Annotated[str, typer.Option("--split", help="Manifest split to evaluate.")] = "test",
    frames: Annotated[int | None, typer.Option(
        "--frames", help="Frames per video for --checkpoint (default 12).")] = None,
    sample_fps: Annotated[float | None, typer.Option(
        "--sample-fps", help="Sample frames at this rate (CLIP4Clip: 1).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Videos encoded per batch.")] = 32,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes.")] = 2,
    device: Annotated[str | None, typer.Option("--device", help="cpu | cuda (default: CUDA if available).")] = None,
    compat: Annotated[str | None, typer.Option("--compat", help="'clip4clip': the reference metrics exactly.")] = None,
    ties: Annotated[str, typer.Option("--ties", help="optimistic | pessimistic | mean.")] = "optimistic",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the metrics JSON here.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """T2V/V2T R@1/5/10, MdR, MnR of a trained model on a dataset split."""
    from svta.cli._common import emit_json, resolve_root, wants_json
    from svta.errors import InputError
    from svta.retrieval.evaluate import evaluate_checkpoint, evaluate_run
    from svta.retrieval.results import metrics_table
    from svta.tables import atomic_write_json

    options = {"batch_size": batch_size, "workers": workers, "compat": compat, "ties": ties}
    if (run is None) == (checkpoint is None):
        raise InputError("give exactly one of --run RUN_DIR or --checkpoint FILE")
    if run is not None:
        report = evaluate_run(run, root, split, device=device, **options)
    else:
        report = evaluate_checkpoint(checkpoint, resolve_root(root), split, model_name=model, device=device,
                                     max_frames=frames, sample_fps=sample_fps, **options)
    data = report.to_json_dict()
    if output is not None:
        atomic_write_json(output, data)
    if wants_json(json_):
        emit_json(data)
        return
    typer.echo(metrics_table([(split, report.metrics)]))
    typer.echo(f"{report.n_texts} captions x {report.n_videos} videos, {len(report.skipped)} video(s) skipped, "
               f"{report.seconds:.1f} s")
