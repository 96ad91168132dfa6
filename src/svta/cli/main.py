"""The ``svta`` command line. Every pipeline stage is a command group named like its folder and config
section (``svta <stage> <action>``; ``svta build``, ``svta train`` and ``svta eval`` alone run their main
action); all commands are registered here, in pipeline order.

Library code does the work; this module parses arguments, calls it, and turns errors into one line and
an exit code (:data:`svta.errors.EXIT_CODES`): 0 done, 1 a check found problems, 2 bad input, usage or config
(nothing written), 3 finished short (what succeeded is kept).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from svta.cli import build, doctor, evaluate, info, pipeline, report, search
from svta.cli._common import STATE
from svta.errors import EXIT_CODES, SvtaError
from svta.stages import STAGES as DECLARED
from svta.stages import load

try:  # recent typer bundles its own copy of click and raises that copy's exceptions
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer uses the click package
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

# Stage groups, in pipeline order, from the stage declarations: (name = folder = config section, its typer app).
STAGES: tuple[tuple[str, typer.Typer], ...] = (
    *((declared.name, load(declared.cli)) for declared in DECLARED),
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


def _epilog() -> str:
    codes = "\n\n".join(f"{code}  {meaning}" for code, meaning in EXIT_CODES.items())
    return f"Exit codes, every command:\n\n{codes}"


app = typer.Typer(
    cls=PipelineOrderGroup,
    name="svta",
    help="Scalable video anomaly retrieval: build video-text anomaly benchmarks, train, evaluate and serve "
    "retrieval models.",
    epilog=_epilog(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from svta import __version__

        typer.echo(f"svta {__version__}")
        raise typer.Exit(0)


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
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print svta's version and exit."
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


# OS errors a user can cause and fix (a read-only or full disk, no permission, a file where a folder goes):
# one line naming the path, exit 2. Anything else is a bug and keeps its traceback.
OS_ERRORS: dict[int, str] = {
    errno.EROFS: "read-only file system: make it writable or choose another location, then rerun",
    errno.EACCES: "permission denied: make it writable or choose another location, then rerun",
    errno.EPERM: "operation not permitted: make it writable or choose another location, then rerun",
    errno.ENOSPC: "no space left on device: free some space, then rerun (finished items are kept)",
    errno.EDQUOT: "disk quota exceeded: free some space, then rerun (finished items are kept)",
    errno.EEXIST: "already exists: remove it or choose another path",
    errno.ENOTDIR: "not a folder: a file stands where a folder is needed; remove it or choose another path",
    errno.EISDIR: "is a folder: give a file path",
}
# Flags of the global callback that are also accepted after the subcommand (`svta demo -q`).
HOISTED_FLAGS = ("-q", "--quiet", "-v", "--verbose")
LABELS = {1: "problems", 3: "incomplete"}


def os_error_line(exc: OSError) -> str | None:
    """One line for an OSError a user can fix (naming its path), or None for any other OSError."""
    why = OS_ERRORS.get(exc.errno or 0)
    if why is None:
        return None
    where = exc.filename if exc.filename is not None else "svta"
    return f"error: {where}: {why}"


def validation_line(exc: Exception) -> str:
    """A pydantic ValidationError that reached the CLI as one line: the first field and its message."""
    first = exc.errors()[0]  # type: ignore[attr-defined]
    where = ".".join(str(p) for p in first["loc"]) or getattr(exc, "title", "value")
    return f"error: {where}: {first['msg']}"


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move ``-q``/``--quiet`` and ``-v``/``--verbose`` given after the subcommand to the front (the global callback reads them)."""
    end = argv.index("--") if "--" in argv else len(argv)
    moved = [a for a in argv[:end] if a in HOISTED_FLAGS]
    kept = [a for a in argv[:end] if a not in HOISTED_FLAGS]
    return [*dict.fromkeys(moved), *kept, *argv[end:]]


def error_line(exc: Exception) -> tuple[str, int] | None:
    """The one line and exit code of an error the user can act on, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, SvtaError):
        return f"{LABELS.get(exc.exit_code, 'error')}: {exc}", exc.exit_code
    if isinstance(exc, OSError):
        line = os_error_line(exc)
        return (line, 2) if line is not None else None
    if type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith("pydantic"):
        return validation_line(exc), 2
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; every error is one line on stderr and an exit code, never a traceback."""
    argv = hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        code = app(args=argv, prog_name="svta", standalone_mode=False)
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
    except Exception as exc:  # after click's own exceptions, which are Exceptions too
        known = error_line(exc)
        if known is None:
            raise
        typer.echo(known[0], err=True)
        return known[1]
    return code if isinstance(code, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
