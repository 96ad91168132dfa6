"""``svta eval overlap`` (train/eval contamination check) and the cross-dataset half of ``svta eval``
(``--dataset ucfcrime-ar|uca|manifest:PATH ... --exclude-overlap REPORT``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import ExitZeroOption, emit_json, existing_root, fail_check, hidden_alias, wants_json
from svta.errors import InputError


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def overlap_command(
    eval_set: Annotated[
        str,
        typer.Option(
            "--eval",
            help="Evaluation set: KIND:PATH (ucfcrime-ar, uca, manifest, captions) or a path whose kind is detected.",
        ),
    ],
    root: Annotated[
        Path | None,
        typer.Option("--root", help="Training dataset root (its manifest, else captions; default: the global --root)."),
    ] = None,
    train: Annotated[Path | None, hidden_alias("--train", "Old name of --root.")] = None,
    eval_videos: Annotated[
        Path | None, typer.Option("--eval-videos", help="Video folder of the evaluation set.")
    ] = None,
    train_splits: Annotated[
        str, typer.Option("--train-splits", help="Manifest splits the model saw ('all': every split).")
    ] = "train,val",
    train_table: Annotated[str, typer.Option("--train-table", help="auto | manifest | captions.")] = "auto",
    near_method: Annotated[
        str,
        typer.Option(
            "--near-method",
            help="model: the hub-aware same-event model (default); cosine: cosine >= --threshold and agreeing details.",
        ),
    ] = "model",
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Caption cosine (MiniLM): the near threshold of --near-method cosine (default 0.8); the floor of "
            "the pairs the model scores (default: the model's).",
        ),
    ] = None,
    near_threshold: Annotated[
        float | None, typer.Option("--near-threshold", help="Model probability for a near pair (default: the model's).")
    ] = None,
    agreement: Annotated[
        bool,
        typer.Option(
            "--agreement/--no-agreement", help="Near pairs must also agree on colours, counts, sides, people, vehicles."
        ),
    ] = True,
    reviewed: Annotated[
        Path | None,
        typer.Option(
            "--reviewed",
            help="A reviewed overlap_review.csv (verdict column) or Label Studio export: only confirmed near pairs count.",
        ),
    ] = None,
    compare_videos: Annotated[
        bool, typer.Option("--compare-videos", help="Also compare videos by frame embeddings.")
    ] = False,
    videos: Annotated[bool, typer.Option("--videos", hidden=True, help="Old name of --compare-videos.")] = False,
    video_threshold: Annotated[float, typer.Option("--video-threshold", help="Near-duplicate video score.")] = 0.9,
    split: Annotated[str, typer.Option("--split", help="Split of a manifest evaluation set.")] = "test",
    language: Annotated[str, typer.Option("--language", help="UCFCrime-AR captions: en | zh.")] = "en",
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Skip (and list) bad rows instead of failing.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder (default TRAIN/stats/overlap/<eval set>).")
    ] = None,
    exit_zero: ExitZeroOption = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the counts and file paths as JSON.")] = False,
) -> None:
    """How much of an evaluation set the training data already holds: exact, paraphrased, same-video items.

    Exit 1 when any evaluation item overlaps (a contamination check that found some), after the report and review
    files are written; --exit-zero makes it a pure report. Exit 3 when rows were skipped and nothing overlaps.
    """
    from svta.transfer.overlap import OverlapOptions, check_overlap
    from svta.transfer.overlap_report import overlap_folder, write_overlap_outputs
    from svta.transfer.overlap_review import apply_review, read_review
    from svta.transfer.sets import load_overlap_set, load_training_set

    train = train or existing_root(root)
    videos = videos or compare_videos
    if train_table not in ("auto", "manifest", "captions"):
        raise InputError(f"--train-table must be auto, manifest or captions, got {train_table!r}")
    if near_method not in ("model", "cosine"):
        raise InputError(f"--near-method must be model or cosine, got {near_method!r}")
    splits = None if train_splits.strip() == "all" else tuple(_csv(train_splits) or ())
    training = load_training_set(train, splits, train_table)  # type: ignore[arg-type]
    evaluation, missing = load_overlap_set(
        eval_set, videos=eval_videos, split=split, language=language, bad_rows="skip" if skip_bad_rows else "error"
    )
    verdicts = read_review(reviewed) if reviewed is not None else None
    options = OverlapOptions(
        near_method=near_method,
        text_threshold=threshold,
        near_threshold=near_threshold,
        near_agreement=agreement,
        videos=videos,
        video_threshold=video_threshold,
    )
    report = check_overlap(training, evaluation, options)
    report.video["missing"] = [{"where": where, "why": why} for where, why in missing]
    if verdicts is not None:
        report = apply_review(report, verdicts, str(reviewed))
    files, review = write_overlap_outputs(report, out or overlap_folder(train, evaluation.name))
    if wants_json(json_):
        emit_json(
            {
                "counts": report.counts,
                "n_eval": len(evaluation),
                "n_train": len(training),
                "json": files.json,
                "markdown": files.markdown,
                "figure": files.figure,
                "review_csv": review.csv,
                "review_tasks": review.tasks,
                "skipped": evaluation.skipped_list(),
                "missing_videos": report.video["missing"],
                "near": [{"pair_id": p["pair_id"], "why": p["why"]} for p in report.pairs if p["kind"] == "near"],
                "review": report.review or None,
            }
        )
    else:
        _print_overlap(report, evaluation, training, files, review)
    skipped = list(evaluation.skipped)
    if missing and videos:  # the frame comparison asked for could not cover these items
        skipped += [(where, f"video comparison not done: {why}") for where, why in missing]
    if report.counts["any"]:  # overlap found is the answer even when some rows were skipped: exit 1, not 3
        _list_skipped(skipped, json_)
        fail_check(_overlap_line(report, len(evaluation), training.name, files.json, len(skipped)), exit_zero)
        return
    _exit_if_skipped(f"overlap {evaluation.name}", skipped, len(evaluation), json_)


def _overlap_line(report: Any, n_eval: int, train_name: str, report_json: Path, n_skipped: int) -> str:
    """The last line of a check that found overlap: how many items per kind, where the report is, what next."""
    from svta.transfer.overlap import KINDS

    kinds = ", ".join(f"{kind} {report.counts[kind]}" for kind in KINDS if report.counts[kind])
    line = (
        f"{report.counts['any']} of {n_eval} evaluation item(s) overlap {train_name} ({kinds}): report "
        f"{report_json} (`svta eval --exclude-overlap` it for clean numbers)"
    )
    return line + (f"; {n_skipped} item(s) skipped (listed above)" if n_skipped else "")


def _print_overlap(report: Any, evaluation: Any, training: Any, files: Any, review: Any) -> None:
    """The counts, why each near pair was flagged, what a review kept, missing videos, and the files."""
    from svta.transfer.overlap_report import near_rule, review_sentence

    typer.echo(
        f"{report.counts['any']} of {len(evaluation)} evaluation items overlap {training.name} "
        f"({len(training)} items): " + ", ".join(f"{k} {v}" for k, v in report.counts.items())
    )
    typer.echo(f"near: {near_rule(report)}")
    for pair in report.pairs:
        if pair["kind"] == "near":
            typer.echo(f"  near {pair['eval_id']} ~ {pair['train_id']}: {pair['why']}")
    if report.review:
        typer.echo(review_sentence(report.review))
    missing = report.video.get("missing") or []
    if missing:
        typer.echo(
            f"{len(missing)} evaluation video(s) missing: captions and names of every item were checked, videos "
            f"only where present (listed in {files.json.name})"
        )
    typer.echo(f"-> {files.json}, {files.markdown}" + (f", {files.figure}" if files.figure else ""))
    typer.echo(f"-> review {review.n_pairs} pair(s): {review.csv} (verdict column), {review.tasks} (Label Studio)")


def _exit_if_skipped(what: str, skipped: list[tuple[str, str]], n_done: int, json_: bool) -> None:
    """List every row or video left out (unless JSON carries them) and exit 3 when there is any."""
    from svta.datasets import ItemsSkipped

    if not skipped:
        return
    _list_skipped(skipped, json_)
    raise ItemsSkipped(what, len(skipped), n_done)


def _list_skipped(skipped: list[tuple[str, str]], json_: bool) -> None:
    if not wants_json(json_):
        for where, why in skipped:
            typer.echo(f"  skipped {where}: {why}", err=True)


def dataset_spec(dataset: str | None, annotations: Path | None, root: Path | None, run: Path | None = None) -> str:
    """The set spec of ``svta eval --dataset``: ``KIND:PATH``, or a bare kind with ``--annotations``; no
    dataset (or ``manifest`` alone) means the manifest of ``--root``, else of the run's root."""
    from svta.cli._common import resolve_root
    from svta.transfer.sets import SET_KINDS, set_kind

    dataset = dataset or "manifest"
    if ":" in dataset and set_kind(dataset.split(":", 1)[0]):
        return dataset
    kind = set_kind(dataset)  # any reader name or alias (ucfcrime_ar, UCFCrime-AR, manifest, ...)
    if kind is None:
        raise InputError(
            f"--dataset must be one of {', '.join(SET_KINDS)} (or another reader, or KIND:PATH), got {dataset!r}"
        )
    if annotations is not None:
        return f"{kind}:{annotations}"
    if kind == "svta-root":
        from svta.retrieval.model_source import recorded_root

        run_root = recorded_root(run) if run is not None and root is None else None
        return f"svta-root:{run_root or resolve_root(root)}"
    raise InputError(f"--dataset {dataset} needs --annotations FILE (the spreadsheet or JSON)")


def print_transfer(
    source: Path | None,
    data: str,
    *,
    exclude_overlap: Path | None,
    exclude_kinds: str | None,
    set_options: dict[str, Any],
    output: Path | None,
    json_: bool,
    **options: Any,
) -> None:
    """``svta eval --dataset ...``: :func:`svta.eval.outputs.evaluate_and_write` on another dataset, full and
    clean (the library writes the report); print the SumR table."""
    from svta.eval.outputs import evaluate_and_write
    from svta.transfer.evaluate import TransferReport

    if exclude_overlap is not None and not wants_json(json_):  # say which reviewed pairs the clean row rests on
        from svta.transfer.overlap_report import read_overlap_report, review_sentence

        overlap = read_overlap_report(exclude_overlap)
        if overlap.review:
            typer.echo(review_sentence(overlap.review))
    written = evaluate_and_write(
        source,  # a run folder also names the default report path, RUN/transfer/<dataset>.json
        data,
        json_out=output,
        exclude=exclude_overlap,
        exclude_kinds=_csv(exclude_kinds),
        set_options=set_options,
        **options,
    )
    report = written.report
    assert isinstance(report, TransferReport)  # a set spec
    name = report.dataset["name"]
    target = written.paths.get("json")
    if wants_json(json_):
        emit_json(report.to_json_dict())
    else:
        typer.echo(report.table().rstrip("\n"))
        typer.echo(
            f"{report.counts['texts']} captions x {report.counts['videos']} videos, "
            f"{len(report.skipped_videos)} video(s) skipped, {report.seconds:.1f} s"
            + (f"; clean: {report.counts['excluded']} overlapping item(s) left out" if report.clean is not None else "")
            + (f" -> {target}" if target is not None else "")
        )
    skipped = [
        *((row["where"], row["why"]) for row in report.skipped_rows),
        *((video, f"does not decode: {why}") for video, why in report.skipped_videos.items()),
    ]
    _exit_if_skipped(f"eval {name}", skipped, report.counts["texts"], json_)
