"""``svta captions``: generate captions (template grammar or an LLM server), import collected ones,
and filter them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from svta.cli._common import (
    check_registered,
    emit_json,
    existing_root,
    fail_incomplete,
    stage_app,
    stage_setup,
    wants_json,
)

app = stage_app("Stage 1: write captions per category, import collected captions, filter them.")

ROOT = typer.Option(None, "--root", help="Dataset root (default: global --root or the config's).")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")
CATEGORIES = typer.Option([], "--category", help="Only these categories (id or name; repeatable).")
IMPORT_FILE = typer.Argument(..., help="CSV/JSONL/JSON, MSRVTT_data.json, UCA JSON or UCFCrime-AR .xlsx/.csv.")
MAPPING = typer.Option(
    [], "--map", help="FIELD=COLUMN for csv/jsonl/json (fields: caption, source_ref, category, tags)."
)
BLOCKED_TERMS = typer.Option(None, "--blocked-terms", help="File of blocked terms, one per line.")
BLOCK = typer.Option([], "--block", help="A blocked term (repeatable).")
REPORT = typer.Option(None, "--report", help="Report path (default <root>/captions.filter_report.json).")


def _parse_mapping(items: list[str]) -> dict[str, str] | None:
    from svta.errors import InputError

    mapping = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--map {item!r} must look like FIELD=COLUMN, e.g. caption=text")
        mapping[field.strip()] = column.strip()
    return mapping or None


@app.command("generate")
def generate(
    root: Path | None = ROOT,
    backend: str | None = typer.Option(None, "--backend", help="Registry name: template | openai."),
    per_category: int | None = typer.Option(None, "--per-category", "-n", help="Captions per category."),
    category: list[str] = CATEGORIES,
    long_tail: bool | None = typer.Option(None, "--long-tail/--uniform", help="Zipf-like allocation over categories."),
    seed: int | None = typer.Option(None, "--seed", help="Seed (default: the config's)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1."
    ),
    model: str | None = typer.Option(None, "--model", help="Model name on that server."),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the server's API key."
    ),
    concurrency: int | None = typer.Option(None, "--concurrency", help="LLM requests in flight."),
    json_: bool = JSON,
) -> None:
    """Write captions for every category into captions.parquet (resumes where a previous run stopped)."""
    from svta.captions.generate import generate_captions
    from svta.config import save_resolved

    root, config = stage_setup(
        root,
        {
            "captions.backend": backend,
            "captions.per_category": per_category,
            "captions.categories": category or None,
            "captions.long_tail": long_tail,
            "seed": seed,
            "captions.openai.base_url": base_url,
            "captions.openai.model": model,
            "captions.openai.api_key_env": api_key_env,
            "captions.openai.concurrency": concurrency,
        },
    )
    check_registered("caption_backend", config.captions.backend, "--backend")  # before anything is written
    result = generate_captions(root, config.captions, seed=config.seed, taxonomy=config.taxonomy)
    save_resolved(config, root)  # after the run, so a run refused on bad input leaves nothing behind
    if wants_json(json_):
        emit_json(result.to_dict())
    else:
        _print_generated(result)
    if not result.complete:
        short = sum(result.counts.get(cid, 0) < n for cid, n in result.targets.items())
        fail_incomplete(f"{short} categor(ies) short of their target; rerun to continue")


def _print_generated(result: Any) -> None:
    summary = result.to_dict()
    typer.echo(
        f"{result.backend}: added {result.added}, {summary['total']}/{summary['target']} captions "
        f"in {result.seconds:.1f}s -> {result.table}"
    )
    if not result.complete:
        short = {
            cid: n - result.counts.get(cid, 0) for cid, n in result.targets.items() if result.counts.get(cid, 0) < n
        }
        typer.echo(f"  short, e.g.: {dict(list(short.items())[:5])}", err=True)
        for cid, error in list(result.stats.get("failed", {}).items())[:10]:
            typer.echo(f"  {cid}: {error}", err=True)


@app.command("import")
def import_(
    file: Path = IMPORT_FILE,
    root: Path | None = ROOT,
    format: str = typer.Option(
        "auto",
        "--format",
        help="auto | csv | jsonl | json | msrvtt | uca | ucfcrime-ar (ucfcrime_ar and other spellings accepted).",
    ),
    map_: list[str] = MAPPING,
    source: str | None = typer.Option(
        None, "--source", help="Value of the source column (default: format or file stem)."
    ),
    category: str | None = typer.Option(
        None, "--category", help="Category of every row (default: from the file's labels)."
    ),
    language: str = typer.Option("en", "--language", help="UCFCrime-AR text column: en | zh."),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="Skip (and list) bad rows instead of failing on the first file with any."
    ),
    json_: bool = JSON,
) -> None:
    """Add collected captions to captions.parquet, keeping their source and original ids."""
    from svta.captions.importers import import_captions

    root, config = stage_setup(root)
    result = import_captions(
        root,
        file,
        format=format,
        mapping=_parse_mapping(map_),
        source=source,
        category=category,
        language=language,
        taxonomy=config.taxonomy,
        bad_rows="skip" if skip_bad_rows else "error",
    )
    if wants_json(json_):
        emit_json(result.to_dict())
    else:
        typer.echo(
            f"{result.format}: read {result.read}, added {result.added}, skipped {len(result.skipped)} "
            f"-> {result.table}"
        )
        for item in result.skipped:
            typer.echo(f"  skipped {file.name}: {item['where']}: {item['reason']}", err=True)
    if result.skipped:
        from svta.datasets import ItemsSkipped

        raise ItemsSkipped(f"captions import {file.name}", len(result.skipped), result.read - len(result.skipped))


@app.command("filter")
def filter_(
    root: Path | None = ROOT,
    threshold: float | None = typer.Option(None, "--threshold", help="Near-duplicate cosine threshold (default 0.95)."),
    near_dup: bool | None = typer.Option(
        None, "--near-dup/--no-near-dup", help="Remove near-duplicates by MiniLM cosine."
    ),
    blocked_terms: Path | None = BLOCKED_TERMS,
    block: list[str] = BLOCK,
    report: Path | None = REPORT,
    dry_run: bool = typer.Option(False, "--dry-run", help="Write the report only."),
    json_: bool = JSON,
) -> None:
    """Normalise captions and remove invalid ones, exact and near-duplicates; report why each went."""
    from svta.captions.filter import filter_captions

    root, config = stage_setup(
        existing_root(root),
        {
            "captions.filter.near_threshold": threshold,
            "captions.filter.near_duplicates": near_dup,
            "captions.filter.blocked_terms_file": blocked_terms,
        },
    )
    settings = config.captions.filter
    if block:
        settings = settings.model_copy(update={"blocked_terms": [*settings.blocked_terms, *block]})
    result = filter_captions(root, settings, report=report, dry_run=dry_run)
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    typer.echo(
        f"kept {result.kept}, removed {result.removed} {result.by_reason} -> {result.table}; report {result.report}"
    )
