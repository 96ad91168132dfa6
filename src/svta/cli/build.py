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
    fail_check,
    fail_incomplete,
    hidden_alias,
    load_cli_config,
    resolve_root,
    stage_app,
    wants_json,
)
from svta.errors import ConfigError, InputError

app = stage_app(
    "Stage 4: join captions, videos and labels into the manifest and split; stats, verify, formats.",
    default_action=True,
)

OptsOption = Annotated[
    list[str] | None,
    typer.Option("--opt", help="Format option key=value (repeatable), e.g. --opt caption_column='English Text'."),
]


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
    else:
        _print_manifest(result)
    short = [item for item, _ in result.skipped if item not in (exclude or {})]  # exclusions were asked for
    if short:
        fail_incomplete(
            f"{len(short)} caption(s) left out of the manifest (reasons above); fix them and rerun `svta build`"
        )


def _print_manifest(result: Any) -> None:
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
    decode: Annotated[
        bool, typer.Option("--decode/--no-decode", help="Decode every video (default), or existence and sha256 only.")
    ] = True,
    json_: JsonOption = False,
) -> None:
    """Every video exists, decodes and matches its sha256; no duplicate ids, no orphan files (exit 1 if not)."""
    if release is not None:
        _verify_release(release, json_)
        return
    from svta.build.verify import verify_dataset

    root = existing_root(root)
    workers = workers or load_cli_config(root).build.verify_workers
    report = verify_dataset(root, workers=workers, decode=decode)
    if wants_json(json_):
        emit_json(report.to_dict())
    else:
        typer.echo(f"checked {report.n_rows} row(s), {report.n_videos} video(s): {len(report.problems)} problem(s)")
    if not report.ok:
        for problem in report.problems[:200]:
            typer.echo(f"  {problem}", err=True)
        fail_check(f"{root}: {len(report.problems)} problem(s) found")


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
        fail_check(f"{folder}: {len(check.problems)} problem(s) found")


def _options(pairs: list[str] | None) -> dict[str, Any]:
    options = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--opt {pair!r} must look like key=value")
        key, value = pair.split("=", 1)
        options[key.strip()] = value
    return options


# `-o` means the output folder (`--out`) as everywhere; a `-o KEY=VALUE` is the old spelling of `--opt` and still works.
ShortOOption = Annotated[list[str] | None, hidden_alias("-o", "--out FOLDER, or the old spelling of --opt KEY=VALUE.")]


@app.command("export")
def export(
    fmt: Annotated[str, typer.Argument(help="Format: hf | msrvtt | webdataset (see `svta list`).")],
    out_arg: Annotated[
        Path | None, typer.Argument(metavar="[OUT]", hidden=True, help="Old spelling of --out.", show_default=False)
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder, also -o (created; must not be a file).")
    ] = None,
    root: RootOption = None,
    opt: OptsOption = None,
    short_o: ShortOOption = None,
    embed_videos: Annotated[
        bool, typer.Option("--embed-videos", help="hf: store the clips inside the Parquet shards.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Export the built dataset (its manifest and videos) in another layout into --out."""
    from svta.build.formats import export_dataset

    folders, old_opts = _split_short_o(short_o)
    target = _export_folder([p for p in (out, out_arg, *folders) if p is not None])
    options = _options([*(opt or []), *old_opts])
    if embed_videos:
        options["embed_videos"] = True
    result = export_dataset(existing_root(root), fmt, target, options)
    _print_format(result, json_)


def _split_short_o(values: list[str] | None) -> tuple[list[Path], list[str]]:
    """``-o`` values: folders (``--out``) and, holding ``=``, format options (the old ``-o KEY=VALUE``)."""
    values = values or []
    return [Path(v) for v in values if "=" not in v], [v for v in values if "=" in v]


def _export_folder(given: list[Path]) -> Path:
    """The one output folder given (``--out``, ``-o`` or the old positional OUT), checked before anything is written:
    a folder, or a path where one can be made."""
    if len(set(given)) > 1:
        raise InputError(f"--out {' and '.join(map(str, dict.fromkeys(given)))}: give one output folder")
    if not given:
        raise InputError("give the output folder: svta build export FORMAT --out FOLDER")
    target = given[0]
    blocker = next((p for p in (target, *target.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise InputError(f"--out {target}: {blocker} is a file; give a folder (new or existing)")
    return target


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
    short_o: ShortOOption = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Skip (and list) bad rows and unusable videos instead of failing.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Import a foreign dataset into an svta root (tables + manifest)."""
    from svta.build.formats import import_dataset

    folders, old_opts = _split_short_o(short_o)
    if folders:
        raise InputError(f"-o {folders[0]}: import writes into --root; format options are --opt KEY=VALUE")
    options = _options([*(opt or []), *old_opts])
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
