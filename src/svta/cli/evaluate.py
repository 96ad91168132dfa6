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
        "--frames", help="Frames per video for --checkpoint (default: the config.yaml beside it, else 12).")] = None,
    sample_fps: Annotated[float | None, typer.Option(
        "--sample-fps", help="Sample frames at this rate (CLIP4Clip: 1).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Videos encoded per batch.")] = 32,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes.")] = 2,
    device: Annotated[str | None, typer.Option("--device", help="cpu | cuda (default: CUDA if available).")] = None,
    compat: Annotated[str | None, typer.Option("--compat", help="'clip4clip': the reference metrics exactly.")] = None,
    ties: Annotated[str, typer.Option("--ties", help="optimistic | pessimistic | mean.")] = "optimistic",
    rerank_tail: Annotated[str | None, typer.Option("--rerank-tail", help="Models with a second stage (gram): keep "
                                                    "(default) | zero (GRAM's published evaluation).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the metrics JSON here.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    # Zero-shot transfer to another dataset, with contamination control (svta.transfer, svta.cli.overlap).
    dataset: Annotated[str | None, typer.Option("--dataset", help="Evaluate on another dataset: ucfcrime-ar | uca "
                                                                 "(with --annotations) | manifest:PATH.")] = None,
    annotations: Annotated[Path | None, typer.Option("--annotations", help="The --dataset's spreadsheet/JSON.")] = None,
    videos: Annotated[Path | None, typer.Option("--videos", help="The --dataset's video folder (UCF-Crime).")] = None,
    language: Annotated[str, typer.Option("--language", help="UCFCrime-AR captions: en | zh.")] = "en",
    clips_dir: Annotated[Path | None, typer.Option("--clips-dir", help="UCA: cut one clip per sentence here.")] = None,
    skip_bad_rows: Annotated[bool, typer.Option("--skip-bad-rows", help="Skip rows with a missing video or an "
                                                                        "empty caption instead of failing.")] = False,
    exclude_overlap: Annotated[Path | None, typer.Option("--exclude-overlap", help="An `svta overlap` report: also "
                                                         "report the subset without overlapping items.")] = None,
    exclude_kinds: Annotated[str | None, typer.Option("--exclude-kinds", help="Overlap kinds that exclude (default "
                                                      "all): exact,near,source,video_hash,video.")] = None,
) -> None:
    """T2V/V2T R@1/5/10, MdR, MnR of a trained model on a dataset split, or on another dataset (--dataset)."""
    from svta.cli._common import emit_json, resolve_root, wants_json
    from svta.errors import InputError
    from svta.retrieval.evaluate import evaluate_checkpoint, evaluate_run
    from svta.retrieval.results import metrics_table
    from svta.tables import atomic_write_json

    options = {"batch_size": batch_size, "workers": workers, "compat": compat, "ties": ties}
    if (run is None) == (checkpoint is None):
        raise InputError("give exactly one of --run RUN_DIR or --checkpoint FILE")
    if dataset is not None or exclude_overlap is not None:
        from svta.cli.overlap import transfer_eval

        return transfer_eval(run=run, checkpoint=checkpoint, model=model, dataset=dataset, annotations=annotations,
                             videos=videos, root=root, split=split, language=language, skip_bad_rows=skip_bad_rows,
                             clips_dir=clips_dir, exclude_overlap=exclude_overlap, exclude_kinds=exclude_kinds,
                             frames=frames, sample_fps=sample_fps, device=device, output=output, json_=json_, **options)
    if rerank_tail is not None:
        options["rerank_tail"] = rerank_tail
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
