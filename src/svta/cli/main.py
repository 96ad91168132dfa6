"""The ``svta`` command line: a typer app with one sub-command group per pipeline stage.

Library code does the work; this module parses arguments, calls it, and turns svta errors into
one clear line and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from svta.cli._common import STATE, emit_json, wants_json
from svta.errors import SvtaError

app = typer.Typer(
    name="svta",
    help="Scalable video anomaly retrieval: build video-text anomaly benchmarks, train, evaluate and serve retrieval models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    root: Path | None = typer.Option(None, "--root", help="Dataset root directory (default: from config)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),
    set_: list[str] = typer.Option([], "--set", help="Config override, e.g. --set captions.per_category=20."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or info lines."),
    json_: bool = typer.Option(False, "--json", help="Print data as JSON where a command outputs data."),
) -> None:
    from svta.progress import set_quiet

    STATE.root, STATE.config, STATE.overrides, STATE.quiet, STATE.json = root, config, list(set_), quiet, json_
    set_quiet(quiet)


@app.command("list")
def list_command(json_: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List registered backends, models, classifiers and formats."""
    from svta.registry import REGISTRIES, load_builtin_plugins

    load_builtin_plugins()
    data = {kind: {name: reg.descriptions.get(name, "") for name in sorted(reg.entries)} for kind, reg in sorted(REGISTRIES.items())}
    if wants_json(json_):
        emit_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("kind", "name", "description")
    for kind, entries in data.items():
        for name, description in entries.items():
            table.add_row(kind, name, description)
    Console().print(table)


@app.command("taxonomy")
def taxonomy_command(
    json_: bool = typer.Option(False, "--json", help="Print as JSON."),
    file: Path | None = typer.Option(None, "--file", help="A taxonomy YAML/JSON file instead of the shipped one."),
) -> None:
    """Show the category taxonomy (68 anomaly + 30 normal categories by default)."""
    from svta.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(file)
    if wants_json(json_):
        emit_json({"anomaly": len(taxonomy.anomaly()), "normal": len(taxonomy.normal()), "categories": taxonomy.to_records()})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "name", "kind", "group", "description", title=f"{len(taxonomy.anomaly())} anomaly + {len(taxonomy.normal())} normal categories")
    for c in taxonomy:
        table.add_row(c.id, c.name, c.kind, c.group, c.description)
    Console().print(table)


# Stage command groups register below, one line each, as their stages land.
from svta.cli import captions as _captions; app.add_typer(_captions.app, name="captions")
from svta.cli import annotate as _annotate; app.add_typer(_annotate.app, name="annotate")
from svta.cli import build as _build; _build.register(app)
from svta.cli.metrics import metrics_command as _metrics; app.command("metrics")(_metrics)
from svta.cli import search as _search; _search.register(app)
from svta.cli.train import train_command as _train; app.command("train")(_train)
from svta.cli.evaluate import eval_command as _eval; app.command("eval")(_eval)
from svta.cli import pipeline as _pipeline; app.add_typer(_pipeline.app, name="pipeline"); app.command("demo")(_pipeline.demo_command)
from svta.cli import videos as _videos; app.add_typer(_videos.app, name="videos")
from svta.cli.overlap import overlap_command as _overlap; app.command("overlap")(_overlap)
from svta.cli.doctor import doctor_command as _doctor; app.command("doctor")(_doctor)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning svta errors into one line and exit code 2."""
    try:
        app(args=argv, prog_name="svta", standalone_mode=False)
    except SvtaError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
