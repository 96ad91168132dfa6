"""``svta eval``: stage 6 — ``run`` (the default action: ``svta eval --run R`` evaluates a trained run or any
CLIP4Clip-style weight file on a split, or on another dataset), ``metrics`` (metrics of a score matrix or
embeddings) and ``overlap`` (train/eval contamination).

Ties, compat and split default to the config's ``eval:`` section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import RunOption, fail_incomplete, hidden_alias, stage_app
from svta.cli.metrics import metrics_command
from svta.cli.overlap import overlap_command
from svta.eval.config import BATCH_SIZE, WORKERS

app = stage_app(
    "Stage 6: retrieval metrics of a run or weight file; metrics of scores; contamination checks.", default_action=True
)


@app.command("run")
def eval_command(
    run: RunOption = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A weight file: CLIP4Clip's pytorch_model.bin.N, svta's best_model.bin."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Model name for --checkpoint (inferred from parameter names when omitted)."),
    ] = None,
    root: Annotated[
        Path | None, typer.Option("--root", help="Dataset root (default: the run's, or the global --root).")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="Manifest split (default: eval.split, test).")] = None,
    frames: Annotated[
        int | None,
        typer.Option(
            "--frames", help="Frames per video (default: the run's, or the config.yaml beside --checkpoint, else 12)."
        ),
    ] = None,
    sample_fps: Annotated[
        float | None, typer.Option("--sample-fps", help="Sample frames at this rate (CLIP4Clip: 1).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Videos encoded per batch.")] = BATCH_SIZE,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes.")] = WORKERS,
    device: Annotated[str | None, typer.Option("--device", help="cpu | cuda (default: CUDA if available).")] = None,
    compat: Annotated[
        str | None,
        typer.Option(
            "--compat", help="'clip4clip' | 'gram': that reference's evaluation exactly (default: eval.compat)."
        ),
    ] = None,
    ties: Annotated[
        str | None, typer.Option("--ties", help="optimistic | pessimistic | mean (default: eval.ties).")
    ] = None,
    rerank_tail: Annotated[
        str | None,
        typer.Option(
            "--rerank-tail",
            help="Models with a second stage (gram): keep (default) | zero (GRAM's published evaluation).",
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json-out", help="Also write the metrics JSON (with --dataset: the transfer report) here."),
    ] = None,
    output: Annotated[Path | None, hidden_alias("--output", "Old name of --json-out.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for metrics.json, results.md/.tex/.csv and analysis/ "
            "(default: RUN/eval/SPLIT, or eval-<FILE>/SPLIT beside --checkpoint).",
        ),
    ] = None,
    analysis: Annotated[
        bool | None,
        typer.Option(
            "--analysis/--no-analysis", help="Write breakdowns and figures (analysis/) beside the tables (default on)."
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    # Zero-shot transfer to another dataset, with contamination control (svta.transfer, svta.cli.overlap).
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset", help="Evaluate on another dataset: ucfcrime-ar | uca (with --annotations) | manifest:PATH."
        ),
    ] = None,
    annotations: Annotated[Path | None, typer.Option("--annotations", help="The --dataset's spreadsheet/JSON.")] = None,
    videos: Annotated[Path | None, typer.Option("--videos", help="The --dataset's video folder (UCF-Crime).")] = None,
    language: Annotated[str, typer.Option("--language", help="UCFCrime-AR captions: en | zh.")] = "en",
    clips_dir: Annotated[Path | None, typer.Option("--clips-dir", help="UCA: cut one clip per sentence here.")] = None,
    skip_bad_rows: Annotated[
        bool,
        typer.Option("--skip-bad-rows", help="Skip rows with a missing video or an empty caption instead of failing."),
    ] = False,
    exclude_overlap: Annotated[
        Path | None,
        typer.Option(
            "--exclude-overlap", help="An `svta eval overlap` report: also report the subset without overlapping items."
        ),
    ] = None,
    exclude_kinds: Annotated[
        str | None,
        typer.Option(
            "--exclude-kinds", help="Overlap kinds that exclude (default all): exact,near,source,video_hash,video."
        ),
    ] = None,
) -> None:
    """T2V/V2T R@1/5/10, MdR, MnR of a trained model on a dataset split, or on another dataset (--dataset)."""
    from svta.cli._common import check_name, resolve_root, resolve_run, stage_setup
    from svta.errors import InputError

    if (run is None) == (checkpoint is None):
        raise InputError("give exactly one of --run RUN (a run folder or name) or --checkpoint FILE")
    output = json_out or output
    # every option is checked here, before any model is loaded or any video decoded
    transfer = dataset is not None or exclude_overlap is not None
    if transfer:
        refuse_with_dataset(rerank_tail=rerank_tail, out=out, analysis=analysis)
    settings = stage_setup(root, {"eval.ties": ties, "eval.split": split})[1].eval
    split = check_name(settings.split, "--split") or "test"
    options = {"batch_size": batch_size, "workers": workers, "compat": compat or settings.compat, "ties": settings.ties}
    check_options(frames=frames, sample_fps=sample_fps, rerank_tail=rerank_tail, checkpoint=checkpoint, **options)
    run_dir = resolve_run(run, root) if run is not None else None
    source = run_dir if run_dir is not None else checkpoint
    options.update(split=split, frames=frames, sample_fps=sample_fps, device=device, model_name=model)
    if transfer:
        from svta.cli.overlap import dataset_spec, print_transfer

        spec = dataset_spec(dataset, annotations, root, run_dir)
        set_options = {
            "videos": videos,
            "language": language,
            "bad_rows": "skip" if skip_bad_rows else "error",
            "clips_dir": clips_dir,
        }
        return print_transfer(
            source,
            spec,
            exclude_overlap=exclude_overlap,
            exclude_kinds=exclude_kinds,
            set_options=set_options,
            output=output,
            json_=json_,
            **options,
        )
    data = root if run_dir is not None else resolve_root(root)  # a run without --root: the run's own root
    _evaluate_split(
        source,
        data,
        out=out,
        analysis=True if analysis is None else analysis,
        output=output,
        json_=json_,
        rerank_tail=rerank_tail,
        **options,
    )


def _evaluate_split(
    source: Path | None,
    data: Path | None,
    *,
    out: Path | None,
    analysis: bool,
    output: Path | None,
    json_: bool,
    **options: Any,
) -> None:
    """Evaluate on a split of a dataset root (``None``: the run's); the library writes the tables and analysis."""
    from svta.cli._common import emit_json, wants_json
    from svta.eval.outputs import evaluate_and_write
    from svta.retrieval.evaluate import EvalReport
    from svta.retrieval.results import metrics_table

    report = evaluate_and_write(source, data, out=out, json_out=output, analysis=analysis, **options).report
    assert isinstance(report, EvalReport)  # a dataset root's split
    if wants_json(json_):
        emit_json(report.to_json_dict())
    else:
        typer.echo(metrics_table([(report.split, report.metrics)]))
        typer.echo(
            f"{report.n_texts} captions x {report.n_videos} videos, {len(report.skipped)} video(s) skipped, "
            f"{report.seconds:.1f} s"
        )
    if report.skipped:
        fail_incomplete(f"{len(report.skipped)} video(s) could not be decoded and were left out of the metrics")


RERANK_TAILS = ("keep", "zero")  # svta.eval.rerank.TopKRescore.tail


def check_options(
    *,
    batch_size: int,
    workers: int,
    frames: int | None,
    sample_fps: float | None,
    rerank_tail: str | None,
    compat: str | None,
    checkpoint: Path | None,
    **_: object,
) -> None:
    """Fail in one line naming the option before any work when a value cannot be right."""
    from svta.errors import ConfigError, InputError
    from svta.eval.metrics import COMPAT

    for option, value, low in (("--batch-size", batch_size, 1), ("--workers", workers, 0), ("--frames", frames, 1)):
        if value is not None and value < low:
            raise ConfigError(f"{option} {value}: must be >= {low}")
    if sample_fps is not None and not sample_fps > 0:
        raise ConfigError(f"--sample-fps {sample_fps}: must be > 0")
    if rerank_tail is not None and rerank_tail not in RERANK_TAILS:
        raise ConfigError(f"--rerank-tail {rerank_tail!r}: must be one of {', '.join(RERANK_TAILS)}")
    if compat not in COMPAT:
        raise ConfigError(f"--compat {compat!r}: must be one of {', '.join(c for c in COMPAT if c)} (or leave it out)")
    if checkpoint is not None and not checkpoint.is_file():
        raise InputError(f"--checkpoint {checkpoint}: no such file")


def refuse_with_dataset(*, rerank_tail: str | None, out: Path | None, analysis: bool | None) -> None:
    """``--dataset`` (transfer) writes one report (``--json-out``) with the model's own second stage: options it
    would ignore are refused in one line instead."""
    from svta.errors import InputError

    given = [
        name
        for name, value in (
            ("--rerank-tail", rerank_tail),
            ("--out", out),
            ("--analysis/--no-analysis", analysis),
        )
        if value is not None
    ]
    if given:
        raise InputError(
            f"{', '.join(given)}: not used with --dataset/--exclude-overlap (the transfer report goes to --json-out, "
            "default RUN/transfer/<dataset>.json); leave them out"
        )


app.command("metrics")(metrics_command)
app.command("overlap")(overlap_command)
