"""``svta pipeline run CONFIG`` (every stage in order from one config) and ``svta demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from svta.cli._common import STATE, emit_json, fail_incomplete, hidden_alias, stage_app, wants_json

app = stage_app("Run the stages in order from one config (resumable).")


@app.command("run")
def pipeline_run(
    config: Path = typer.Argument(..., help="Pipeline YAML (see configs/)."),
    root: Path | None = typer.Option(None, "--root", help="Override the config's root."),
    stages: str | None = typer.Option(None, "--stages", help="Comma-separated subset, e.g. videos,build."),
    force: bool = typer.Option(False, "--force", help="Re-run stages already recorded as finished."),
    set_: list[str] = typer.Option([], "--set", help="Config override, e.g. --set videos.backend=wan."),
) -> None:
    """Run captions → videos → annotate → build → train → eval as the config says (resumable)."""
    from svta.config import load_config
    from svta.pipeline import run_pipeline

    cfg = load_config(config, [*STATE.overrides, *set_], root=root or STATE.root)
    result = run_pipeline(cfg, stages=stages.split(",") if stages else None, force=force)
    if wants_json(False):
        emit_json(
            {
                "root": str(result.root),
                "ran": result.ran,
                "skipped": result.skipped,
                "seconds": result.seconds,
                "incomplete": result.incomplete,
            }
        )
    else:
        typer.echo(f"root: {result.root}")
        typer.echo(f"ran: {', '.join(result.ran) or '-'}; already done: {', '.join(result.skipped) or '-'}")
        _clip_checks(result.summaries.get("videos", {}), result.root)
        table = result.summaries.get("eval", {}).get("table")
        if table:
            typer.echo(table)
    if result.incomplete:
        fail_incomplete(_incomplete_line(result.incomplete))


def _incomplete_line(incomplete: dict[str, str]) -> str:
    stages = "; ".join(f"{stage}: {why}" for stage, why in incomplete.items())
    return f"{stages}; rerun to retry (finished items are kept)"


def demo_command(
    root: Path = typer.Option(Path("svta-demo"), "--root", help="Where the demo dataset and runs go."),
    out: Annotated[Path | None, hidden_alias("--out", "Old name of --root.")] = None,
    per_category: int = typer.Option(
        4, "--per-category", "-n", min=1, help="Captions (and clips) per category; 98 categories."
    ),
    size: Annotated[int | None, hidden_alias("--size", "Old name of --per-category.")] = None,
    set_: list[str] = typer.Option([], "--set", help="Config override, e.g. --set train.epochs=4."),
) -> None:
    """Run the whole SVTA chain on embedded defaults (CPU, offline), print the results table, the time per
    stage and what to run next."""
    import time

    from svta.demo import run_demo
    from svta.eval.report import results_table
    from svta.retrieval.results import method_label

    if size is not None and size < 1:
        from svta.errors import InputError

        raise InputError(f"--size {size}: must be >= 1")
    started = time.perf_counter()
    result = run_demo(out or root, size or per_category, [*STATE.overrides, *set_])
    seconds = time.perf_counter() - started
    if wants_json(False):
        emit_json(
            {
                "root": str(result.root),
                "runs": result.runs,
                "n_test": result.n_test,
                "chance_R5": result.chance_r5,
                "seconds": {stage: s for stage, s in result.stage_seconds() if s is not None},
                "total_seconds": seconds,
                "next": [command for _, command in result.next_steps()],
            }
        )
        if result.pipeline.incomplete:
            fail_incomplete(_incomplete_line(result.pipeline.incomplete))
        return
    typer.echo("")
    typer.echo(f"SVTA demo — test split, {result.n_test} text-video pairs (tiny CLIP4Clip trained from scratch on CPU)")
    typer.echo("")
    typer.echo(results_table({method_label(v): v for v in result.runs.values()}, "markdown"))
    typer.echo("")
    ratio = result.best_t2v_r5 / result.chance_r5 if result.chance_r5 else float("inf")
    typer.echo(
        f"chance level: R@5 = {result.chance_r5:.1f}%; best T2V R@5 = {result.best_t2v_r5:.1f}% ({ratio:.1f}x chance)"
    )
    _annotation_summary(result.pipeline.summaries.get("annotate", {}))
    _clip_checks(result.pipeline.summaries.get("videos", {}), result.root)
    typer.echo(
        f"ran: {', '.join(result.pipeline.ran) or '-'}; resumed (already done): {', '.join(result.pipeline.skipped) or '-'}"
    )
    _artefacts(result.root)
    _stage_times(result.stage_seconds(), seconds)
    _next_steps(result.next_steps())
    if result.pipeline.incomplete:
        fail_incomplete(_incomplete_line(result.pipeline.incomplete))


def _stage_times(stages: list[tuple[str, float | None]], total: float) -> None:
    """The time each stage took in this run, as measured (a resumed stage took none)."""
    typer.echo("time per stage (this run):")
    for stage, seconds in stages:
        typer.echo(f"  {stage:<9} {'already done' if seconds is None else _duration(seconds):>12}")
    typer.echo(f"  {'total':<9} {_duration(total):>12}")


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def _next_steps(steps: list[tuple[str, str]]) -> None:
    typer.echo("next:")
    for what, command in steps:
        typer.echo(f"  {what + ':' if what else '':<27} {command}")


def _clip_checks(summary: dict, root: Path) -> None:
    """The clips the video stage's quality checks flagged, when there are any: making clips is not the check (the
    stage still counts as done, exit 0), but the flags are said, with the command that lists them (and exits 1)."""
    from shlex import quote

    from svta.videos.quality import problem_counts

    quality = summary.get("quality") or {}
    counts = problem_counts(quality)
    del counts["broken"]  # a clip that failed to be made is the stage's shortfall (exit 3), not a quality flag
    if any(counts.values()):
        typer.echo(
            "clip checks: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()) + "; the clips are kept, "
            f"`svta videos check --root {quote(str(root))}` lists them"
        )


def _annotation_summary(summary: dict) -> None:
    classify = summary.get("classify") or {}
    agreement = classify.get("agreement") or {}
    if agreement.get("n"):
        review = int(classify.get("n_needs_review") or 0)
        # a caption sent to review has no category until a person gives one: it counts as a miss, so say how many
        held = f"; {review} sent to review (each a miss until a person labels it)" if review else ""
        typer.echo(
            f"{classify.get('method', 'embedded')} classification vs the generator's categories: accuracy "
            f"{100 * agreement['accuracy']:.1f}%, Cohen's kappa {agreement['kappa']:.2f} over {agreement['n']} "
            f"captions{held}"
        )
    cluster = summary.get("cluster") or {}
    if cluster.get("k"):
        silhouette = cluster.get("silhouette")
        score = f", silhouette {silhouette:.2f}" if isinstance(silhouette, (int, float)) else ""
        typer.echo(
            f"K-Means over {cluster.get('n_texts')} tags: k = {cluster['k']}{score} (report: {cluster.get('report_path')})"
        )


def _artefacts(root: Path) -> None:
    typer.echo("artefacts:")
    for name, what in (
        ("captions.parquet", "captions"),
        ("videos", "clips (mp4)"),
        ("labels.parquet", "labels (classifier heads on MiniLM embeddings)"),
        ("manifest.parquet", "dataset with 7:1:2 split"),
        ("stats", "statistics and figures"),
        ("runs", "checkpoints, metrics.json, results tables; runs/<name>/analysis: breakdowns and figures"),
    ):
        typer.echo(f"  {root / name}  — {what}")
