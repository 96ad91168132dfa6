"""``svta report``: several runs gathered into one table in the seed's layout (Markdown, LaTeX, CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    runs: Annotated[list[str], typer.Argument(help="Run folders, metrics.json files or patterns (runs/*).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results.md, results.tex, results.csv.")] = Path(
        "svta-report"
    ),
    json_: Annotated[bool, typer.Option("--json", help="Print {method: metrics} as JSON.")] = False,
) -> None:
    """One table of many runs: T2V | V2T, one decimal, best per column in bold, the chance level."""
    from svta.cli._common import emit_json, wants_json
    from svta.eval.report import gather_runs, report_table, results_table, write_tables

    skipped: list[tuple[Path, str]] = []
    rows = report_table(gather_runs(list(runs), skipped))
    for path, reason in skipped:  # a pattern's non-run matches, e.g. the demo's runs/results.md
        typer.echo(f"skipped {path}: {reason}", err=True)
    paths = write_tables(rows, out / "results", bold_best=True)
    if wants_json(json_):
        emit_json({name: {"t2v": data["t2v"], "v2t": data["v2t"]} for name, data in rows.items()})
        return
    typer.echo(results_table(rows, "markdown", bold_best=True), nl=False)
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))
