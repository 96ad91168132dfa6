"""``svta annotate``: classify captions, cluster tags, and the Label Studio / CSV review round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import (
    JsonOption,
    RootOption,
    emit_json,
    existing_root,
    fail_incomplete,
    hidden_alias,
    stage_app,
    stage_setup,
    wants_json,
)

app = stage_app("Stage 3: label captions with categories (MiniLM or an LLM), cluster tags, human review.")


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
    classifier: Annotated[
        str | None, typer.Option("--classifier", help="Registry name: minilm-head | minilm | openai.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="openai: OpenAI-compatible server, e.g. http://localhost:8000/v1.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="openai: model name on that server.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="openai: environment variable holding the API key.")
    ] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="openai: requests in flight.")] = None,
    json_: JsonOption = False,
) -> None:
    """Label captions without a category into labels.parquet."""
    from svta.annotate.classify import classify_captions
    from svta.cli._common import check_registered

    root, config = stage_setup(
        existing_root(root),
        {
            "annotate.classifier": classifier,
            "annotate.llm.base_url": base_url,
            "annotate.llm.model": model,
            "annotate.llm.api_key_env": api_key_env,
            "annotate.llm.workers": concurrency,
        },
    )
    check_registered("category_classifier", config.annotate.classifier, "--classifier")  # before labels.parquet
    if concurrency is not None and concurrency < 1:
        from svta.errors import ConfigError

        raise ConfigError(f"--concurrency {concurrency}: must be >= 1")
    result = classify_captions(root, config.annotate, taxonomy=config.taxonomy, all_captions=all_)
    if wants_json(json_):
        emit_json(result.to_dict())
    else:
        _print_classified(result, all_ or result.agreement is not None)  # a rerun may finish an --all run
    if result.failed:
        fail_incomplete(f"{len(result.failed)} caption(s) could not be classified; rerun to retry them")


def _print_classified(result: Any, all_: bool) -> None:
    typer.echo(
        f"{result.method or 'nothing to do'}: labelled {result.n_labelled} of {result.n_targets} caption(s) "
        f"({result.n_needs_review} need review, {len(result.failed)} failed) in {result.seconds:.1f}s -> {result.labels_path}"
    )
    for caption_id, error in result.failed[:10]:
        typer.echo(f"  failed {caption_id}: {error}", err=True)
    if result.failed:
        typer.echo(f"{len(result.failed)} caption(s) failed; rerun the same command to retry them", err=True)
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
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder (default <root>/annotate).")] = None,
    json_: JsonOption = False,
) -> None:
    """K-Means over MiniLM embeddings of tags; report clusters and a PCA plot."""
    from svta.annotate.cluster import cluster_tags

    if k is not None and k < 2:
        from svta.errors import ConfigError

        raise ConfigError(f"--k {k}: K-Means needs at least 2 clusters (leave --k out to choose k by silhouette)")
    root, config = stage_setup(existing_root(root), {"annotate.cluster.k": k, "annotate.cluster.source": source})
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
        Path | None,
        typer.Option("--out", "-o", help="Folder for tasks.json + label_config.xml (default <root>/review)."),
    ] = None,
    include_reviewed: Annotated[
        bool, typer.Option("--include-reviewed", help="Also export reviewed captions.")
    ] = False,
    below: Annotated[
        float | None, typer.Option("--below", help="Only captions whose label confidence is below this.")
    ] = None,
    labelstudio_url: Annotated[
        str | None,
        typer.Option("--labelstudio-url", help="Also create the project, storage and tasks in this Label Studio."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="LABEL_STUDIO_API_KEY", help="Label Studio personal access (or legacy) token."),
    ] = None,
    title: Annotated[str | None, typer.Option("--project-title", help="Title of the new project.")] = None,
    username: Annotated[
        str | None,
        typer.Option("--labelstudio-username", help="Log in as this account (its e-mail) instead of --token."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option("--labelstudio-password", envvar="LABEL_STUDIO_PASSWORD", help="That account's password."),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Export Label Studio tasks with predictions as pre-annotations, and the labelling config."""
    from svta.annotate.labelstudio import export_label_studio

    root, config = stage_setup(existing_root(root))
    result = export_label_studio(
        root,
        out,
        config.annotate.review,
        taxonomy=config.taxonomy,
        include_reviewed=include_reviewed,
        max_confidence=below,
        labelstudio_url=labelstudio_url,
        token=None if username else token,
        project_title=title,
        username=username,
        password=password if username else None,
    )
    if wants_json(json_):
        emit_json(
            {
                "n_tasks": result.n_tasks,
                "tasks": str(result.tasks_path),
                "config": str(result.config_path),
                "framerate": result.framerate,
                "project": result.project,
            }
        )
        return
    typer.echo(f"{result.n_tasks} task(s) -> {result.tasks_path}; labelling config -> {result.config_path}")
    if result.project:
        typer.echo(
            f"Label Studio project {result.project['id']} with {result.project['n_tasks']} task(s), clips "
            f"served from {result.project['clips_dir']}: {result.project['url']}"
        )


@app.command("review-import")
def review_import(
    export: Annotated[Path, typer.Argument(help="A Label Studio JSON (or JSON-MIN) export.")],
    root: RootOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a Label Studio export into labels.parquet (reviewed=True)."""
    from svta.annotate.labelstudio import import_label_studio

    root, config = stage_setup(existing_root(root))
    _print_import(import_label_studio(root, export, config.annotate.review, taxonomy=config.taxonomy), json_)


@app.command("csv-export")
def csv_export(
    root: RootOption = None,
    file: Annotated[Path | None, typer.Option("--file", help="CSV file (default <root>/review/review.csv).")] = None,
    out: Annotated[Path | None, hidden_alias("--out", "Old name of --file.")] = None,
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

    root, config = stage_setup(existing_root(root))
    n, path = export_review_csv(
        root,
        file or out,
        taxonomy=config.taxonomy,
        prefill=prefill,
        include_reviewed=include_reviewed,
        max_confidence=below,
    )
    typer.echo(f"{n} row(s) -> {path}")


@app.command("csv-import")
def csv_import(
    sheet: Annotated[Path, typer.Argument(help="The reviewed CSV (columns id, category).")],
    root: RootOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a reviewed sheet into labels.parquet (reviewed=True)."""
    from svta.annotate.review_csv import import_review_csv

    root, config = stage_setup(existing_root(root))
    _print_import(import_review_csv(root, sheet, taxonomy=config.taxonomy), json_)


def _print_import(result: Any, json_: bool) -> None:
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    typer.echo(
        f"imported {result.n_imported} reviewed label(s) of {result.n_rows} row(s) ({result.n_skipped} unanswered) -> {result.labels_path}"
    )
    if result.n_unconfirmed:
        typer.echo(f"{result.n_unconfirmed} prefilled row(s) neither changed nor confirmed: not counted as reviewed")
    if result.n_excluded:
        typer.echo(f"{result.n_excluded} clip(s) marked not an anomaly / unusable: left out of the dataset")
    typer.echo(_agreement_line(result.agreement, "the automatic labels"))
