"""``svta annotate``: classify captions, cluster tags, and the Label Studio / CSV review round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import JsonOption, RootOption, emit_json, stage_setup, wants_json

app = typer.Typer(
    help="Stage 3: label captions with categories (MiniLM or an LLM), cluster tags, human review.", no_args_is_help=True
)



def _agreement_line(agreement: Any, what: str) -> str:
    if agreement is None:
        return f"agreement with {what}: no overlapping items"
    return f"agreement with {what}: accuracy {agreement.accuracy:.3f}, Cohen's kappa {agreement.kappa:.3f} over {agreement.n}"


@app.command("classify")
def classify(
    root: RootOption = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Re-classify every caption; report agreement with their categories.")
    ] = False,
    classifier: Annotated[str | None, typer.Option("--classifier", help="Registry name: minilm-head | minilm | openai.")] = None,
    json_: JsonOption = False,
) -> None:
    """Label captions without a category into labels.parquet."""
    from svta.annotate.classify import classify_captions

    root, config = stage_setup(root, {"annotate.classifier": classifier})
    result = classify_captions(root, config.annotate, taxonomy=config.taxonomy, all_captions=all_)
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    typer.echo(
        f"{result.method or 'nothing to do'}: labelled {result.n_labelled} of {result.n_targets} caption(s) "
        f"({result.n_needs_review} need review, {len(result.failed)} failed) in {result.seconds:.1f}s -> {result.labels_path}"
    )
    for caption_id, error in result.failed[:10]:
        typer.echo(f"  failed {caption_id}: {error}", err=True)
    if all_:
        typer.echo(_agreement_line(result.agreement, "the captions' categories"))
        typer.echo(_agreement_line(result.anomaly_agreement, "their anomaly/normal kind"))


@app.command("cluster")
def cluster(
    root: RootOption = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of clusters (default: chosen by silhouette).")] = None,
    source: Annotated[str | None, typer.Option("--source", help="tags | captions.")] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Label captions with tags but no category from their clusters.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Report folder (default <root>/annotate).")] = None,
    json_: JsonOption = False,
) -> None:
    """K-Means over MiniLM embeddings of tags; report clusters and a PCA plot."""
    from svta.annotate.cluster import cluster_tags

    root, config = stage_setup(root, {"annotate.cluster.k": k, "annotate.cluster.source": source})
    result = cluster_tags(root, config.annotate, taxonomy=config.taxonomy, apply=apply, out_dir=out)
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    score = f"{result.silhouette:.3f}" if result.silhouette is not None else "n/a"
    typer.echo(f"{result.n_texts} {result.source} in {result.k} clusters (silhouette {score}) -> {result.report_path}")
    typer.echo(result.k_rule)
    for info in sorted(result.clusters, key=lambda c: -c.size)[:20]:
        mark = "  (candidate new category)" if info.candidate else ""
        typer.echo(f"  {info.size:5d}  {info.name[:40]:40s} -> {info.category} ({info.category_similarity:.2f}){mark}")
    typer.echo(f"{len(result.candidates)} candidate new categor(ies) -> {result.summary_path}")
    if apply:
        typer.echo(f"labelled {result.n_applied} caption(s) from their tags")


@app.command("review-export")
def review_export(
    root: RootOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for tasks.json + label_config.xml (default <root>/review).")
    ] = None,
    include_reviewed: Annotated[
        bool, typer.Option("--include-reviewed", help="Also export reviewed captions.")
    ] = False,
    below: Annotated[
        float | None, typer.Option("--below", help="Only captions whose label confidence is below this.")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Export Label Studio tasks with predictions as pre-annotations, and the labelling config."""
    from svta.annotate.labelstudio import export_label_studio

    root, config = stage_setup(root)
    result = export_label_studio(root, out, config.annotate.review, taxonomy=config.taxonomy,
                                 include_reviewed=include_reviewed, max_confidence=below)  # fmt: skip
    if wants_json(json_):
        emit_json({"n_tasks": result.n_tasks, "tasks": str(result.tasks_path), "config": str(result.config_path)})
        return
    typer.echo(f"{result.n_tasks} task(s) -> {result.tasks_path}; labelling config -> {result.config_path}")


@app.command("review-import")
def review_import(
    export: Annotated[Path, typer.Argument(help="A Label Studio JSON (or JSON-MIN) export.")],
    root: RootOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a Label Studio export into labels.parquet (reviewed=True)."""
    from svta.annotate.labelstudio import import_label_studio

    root, config = stage_setup(root)
    _print_import(import_label_studio(root, export, config.annotate.review, taxonomy=config.taxonomy), json_)


@app.command("csv-export")
def csv_export(
    root: RootOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default <root>/review/review.csv).")] = None,
    prefill: Annotated[bool, typer.Option("--prefill", help="Copy predictions into the category column.")] = False,
    include_reviewed: Annotated[
        bool, typer.Option("--include-reviewed", help="Also export reviewed captions.")
    ] = False,
    below: Annotated[
        float | None, typer.Option("--below", help="Only captions whose label confidence is below this.")
    ] = None,
) -> None:
    """Write a review sheet for spreadsheet reviewers."""
    from svta.annotate.review_csv import export_review_csv

    root, config = stage_setup(root)
    n, path = export_review_csv(root, out, taxonomy=config.taxonomy, prefill=prefill,
                                include_reviewed=include_reviewed, max_confidence=below)  # fmt: skip
    typer.echo(f"{n} row(s) -> {path}")


@app.command("csv-import")
def csv_import(
    sheet: Annotated[Path, typer.Argument(help="The reviewed CSV (columns id, category).")],
    root: RootOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a reviewed sheet into labels.parquet (reviewed=True)."""
    from svta.annotate.review_csv import import_review_csv

    root, config = stage_setup(root)
    _print_import(import_review_csv(root, sheet, taxonomy=config.taxonomy), json_)


def _print_import(result: Any, json_: bool) -> None:
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    typer.echo(
        f"imported {result.n_imported} reviewed label(s) of {result.n_rows} row(s) ({result.n_skipped} unanswered) -> {result.labels_path}"
    )
    typer.echo(_agreement_line(result.agreement, "the automatic labels"))
