"""The ``svta`` command line. Every pipeline stage is a command group named like its folder and config
section (``svta <stage> <action>``; ``svta build``, ``svta train`` and ``svta eval`` alone run their main
action); all commands are registered here, in pipeline order.

Library code does the work; this module parses arguments, calls it, and turns errors into one line and
an exit code: 0 done, 2 bad input or usage, 3 finished but some items failed or fell short.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from svta.cli import annotate, build, captions, doctor, evaluate, info, pipeline, report, search, train, videos
from svta.cli._common import STATE
from svta.errors import SvtaError

try:  # recent typer bundles its own copy of click and raises that copy's exceptions
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer uses the click package
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

# Stage groups, in pipeline order: (name = folder = config section, its typer app).
STAGES: tuple[tuple[str, typer.Typer], ...] = (
    ("captions", captions.app),
    ("videos", videos.app),
    ("annotate", annotate.app),
    ("build", build.app),
    ("train", train.app),
    ("eval", evaluate.app),
    ("search", search.app),
    ("pipeline", pipeline.app),
)

# Commands that are not a stage, listed after the stages.
TOOLS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("demo", pipeline.demo_command),
    ("report", report.report_command),
    ("doctor", doctor.doctor_command),
    ("list", info.list_command),
    ("taxonomy", info.taxonomy_command),
)

# Old top-level spellings, hidden from --help, kept working for one release.
ALIASES: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("stats", build.stats),
    ("verify", build.verify),
    ("export", build.export),
    ("import", build.import_),
    ("metrics", evaluate.metrics_command),
    ("overlap", evaluate.overlap_command),
    ("index", search.index_command),
    ("serve", search.serve_command),
)


class PipelineOrderGroup(TyperGroup):
    """Lists the stages in pipeline order, then the tools, then anything registered later."""

    def list_commands(self, ctx: Any) -> list[str]:
        order = [name for name, _ in (*STAGES, *TOOLS)]
        names = list(self.commands)
        return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), names.index(n)))


app = typer.Typer(
    cls=PipelineOrderGroup,
    name="svta",
    help="Scalable video anomaly retrieval: build video-text anomaly benchmarks, train, evaluate and serve "
    "retrieval models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    root: Path | None = typer.Option(None, "--root", help="Dataset root directory (default: from config)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML config file."),
    set_: list[str] = typer.Option([], "--set", help="Config override, e.g. --set captions.per_category=20."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or info lines."),
    json_: bool = typer.Option(False, "--json", help="Print data as JSON where a command outputs data."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also show the log lines of the libraries svta drives (Ray's INFO, worker logs)."
    ),
) -> None:
    from svta.embed import requested_precision
    from svta.progress import set_quiet, set_verbose

    if ctx.invoked_subcommand != "doctor":  # the doctor reports a bad setting among its checks
        requested_precision()  # a bad $SVTA_EMBED_PRECISION stops here, before any stage writes
    STATE.root, STATE.config, STATE.overrides, STATE.quiet, STATE.json = root, config, list(set_), quiet, json_
    set_quiet(quiet)
    set_verbose(verbose)


def _register() -> None:
    for name, stage in STAGES:
        app.add_typer(stage, name=name)
    for name, command in TOOLS:
        app.command(name)(command)
    for name, command in ALIASES:
        app.command(name, hidden=True)(command)


_register()


def usage_line(exc: click_exceptions.ClickException) -> str:
    """A click usage error as one line with a hint where to look: ``error: ... (see 'svta x --help')``."""
    message = " ".join(exc.format_message().split())
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "svta"
    return f"error: {message} (see '{command} --help')"


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; every error is one line on stderr and an exit code, never a traceback."""
    try:
        code = app(args=argv, prog_name="svta", standalone_mode=False)
    except SvtaError as exc:
        typer.echo(f"{'incomplete' if exc.exit_code == 3 else 'error'}: {exc}", err=True)
        return exc.exit_code
    except click_exceptions.ClickException as exc:  # usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":  # `svta captions` alone: the group's help
            exc.show()
        else:
            typer.echo(usage_line(exc), err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return code if isinstance(code, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
