"""``svta build``: stage 4 — ``manifest`` (the default action: ``svta build`` alone builds it), ``stats``,
``verify``, ``export`` and ``import``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import (
    JsonOption,
    RootOption,
    emit_json,
    existing_root,
    load_cli_config,
    resolve_root,
    stage_app,
    wants_json,
)
from svta.errors import ConfigError, SvtaError

app = stage_app(
    "Stage 4: join captions, videos and labels into the manifest and split; stats, verify, formats.",
    default_action=True,
)

OptsOption = Annotated[
    list[str] | None,
    typer.Option("--opt", "-o", help="Format option key=value (repeatable), e.g. -o caption_column='English Text'."),
]


class VerifyFailed(SvtaError):
    """``svta build verify`` found problems (exit code 1, problems listed on stderr)."""

    exit_code = 1


@app.command("manifest")
def build(
    root: RootOption = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Split seed (default: the config's seed).")] = None,
    exclude_from: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-from",
            help="Leave out captions overlapping this evaluation set (KIND:PATH, or an overlap.json); repeatable.",
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Join captions, videos and labels into manifest.parquet with a stratified 7:1:2 split."""
    from svta.build.manifest import build_dataset
    from svta.transfer.clean import build_exclusions

    root = existing_root(root)
    config = load_cli_config(root)
    exclude = build_exclusions(root, exclude_from)  # contamination control: drop eval-set overlaps
    result = build_dataset(
        root, config.build, config.seed if seed is None else seed, taxonomy=config.taxonomy, exclude=exclude
    )
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    splits = ", ".join(f"{name} {n}" for name, n in result.splits.items())
    typer.echo(f"{result.n_items} item(s) in {len(result.categories)} categories ({splits}) -> {result.manifest_path}")
    for reason, n in sorted(result.skipped_by_reason().items()):
        typer.echo(f"  skipped {n}: {reason}", err=True)


@app.command("stats")
def stats(root: RootOption = None, json_: JsonOption = False) -> None:
    """Statistics of the manifest: stats/stats.json, figures and a comparison-table row."""
    from svta.build.stats import COMPARISON_HEADER, dataset_stats

    root = existing_root(root)
    result = dataset_stats(root, load_cli_config(root).build)
    if wants_json(json_):
        emit_json(result.stats)
        return
    typer.echo(COMPARISON_HEADER)
    typer.echo(result.comparison_row)
    typer.echo(f"-> {result.stats_path}, {result.comparison_path}, {len(result.figures)} figure(s)")


@app.command("verify")
def verify(
    root: RootOption = None,
    release: Annotated[
        Path | None,
        typer.Option("--release", help="Check a release folder (svta build export hf) against its checksums.sha256."),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes checking videos (1: in-process).")] = None,
    no_decode: Annotated[bool, typer.Option("--no-decode", help="Check existence and checksums only.")] = False,
    json_: JsonOption = False,
) -> None:
    """Every video exists, decodes and matches its sha256; no duplicate ids, no orphan files."""
    if release is not None:
        _verify_release(release, json_)
        return
    from svta.build.verify import verify_dataset

    root = existing_root(root)
    workers = workers or load_cli_config(root).build.verify_workers
    report = verify_dataset(root, workers=workers, decode=not no_decode)
    if wants_json(json_):
        emit_json(report.to_dict())
    else:
        typer.echo(f"checked {report.n_rows} row(s), {report.n_videos} video(s): {len(report.problems)} problem(s)")
    if not report.ok:
        for problem in report.problems[:200]:
            typer.echo(f"  {problem}", err=True)
        raise VerifyFailed(f"{root}: {len(report.problems)} problem(s) found")


def _verify_release(folder: Path, json_: bool) -> None:
    from svta.release import verify_release

    check = verify_release(folder)
    if wants_json(json_):
        emit_json({"ok": check.ok, "checked": check.checked, "problems": check.problems})
    else:
        typer.echo(f"checked {check.checked} file(s) against checksums.sha256: {len(check.problems)} problem(s)")
    if not check.ok:
        for problem in check.problems[:200]:
            typer.echo(f"  {problem}", err=True)
        raise VerifyFailed(f"{folder}: {len(check.problems)} problem(s) found")


def _options(pairs: list[str] | None) -> dict[str, Any]:
    options = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--opt {pair!r} must look like key=value")
        key, value = pair.split("=", 1)
        options[key.strip()] = value
    return options


@app.command("export")
def export(
    fmt: Annotated[str, typer.Argument(help="Format: hf | msrvtt | webdataset (see `svta list`).")],
    out: Annotated[Path, typer.Argument(help="Output folder.")],
    root: RootOption = None,
    opt: OptsOption = None,
    embed_videos: Annotated[
        bool, typer.Option("--embed-videos", help="hf: store the clips inside the Parquet shards.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Export the built dataset (its manifest and videos) in another layout."""
    from svta.build.formats import export_dataset

    options = _options(opt)
    if embed_videos:
        options["embed_videos"] = True
    result = export_dataset(existing_root(root), fmt, out, options)
    _print_format(result, json_)


@app.command("import")
def import_(
    fmt: Annotated[
        str,
        typer.Argument(
            help="Format: hf | msrvtt | svta-release | ucfcrime-ar (see `svta list`; "
            "ucfcrime_ar and other spellings accepted)."
        ),
    ],
    source: Annotated[Path, typer.Argument(help="The dataset folder to import.")],
    root: RootOption = None,
    opt: OptsOption = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Skip (and list) bad rows and unusable videos instead of failing.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Import a foreign dataset into an svta root (tables + manifest)."""
    from svta.build.formats import import_dataset

    options = _options(opt)
    if skip_bad_rows:
        options["skip_bad_rows"] = True
    result = import_dataset(fmt, source, resolve_root(root), options)
    _print_format(result, json_)


def _print_format(result: Any, json_: bool) -> None:
    """The summary (or JSON), every skipped item, then exit 3 when any was skipped."""
    if wants_json(json_):
        emit_json(result.to_dict())
    else:
        splits = ", ".join(f"{name} {n}" for name, n in result.splits.items())
        typer.echo(f"{result.direction}ed {result.n_items} item(s) as {result.format} ({splits}) -> {result.out}")
        for note in result.notes:
            typer.echo(f"  {note}")
        for item, reason in result.skipped:
            typer.echo(f"  skipped {item}: {reason}", err=True)
    if result.skipped:
        from svta.datasets import ItemsSkipped

        raise ItemsSkipped(f"{result.direction} {result.format}", len(result.skipped), result.n_items)
