"""``svta list`` and ``svta taxonomy``: what is registered, and the category taxonomy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from svta.cli._common import JsonOption, emit_json, wants_json


def list_command(json_: JsonOption = False) -> None:
    """List registered backends, models, classifiers and formats."""
    from svta.registry import REGISTRIES, load_builtin_plugins

    load_builtin_plugins()
    data = {
        kind: {name: reg.descriptions.get(name, "") for name in sorted(reg.entries)}
        for kind, reg in sorted(REGISTRIES.items())
    }
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


def taxonomy_command(
    json_: JsonOption = False,
    file: Annotated[
        Path | None, typer.Option("--file", help="A taxonomy YAML/JSON file instead of the shipped one.")
    ] = None,
) -> None:
    """Show the category taxonomy (68 anomaly + 30 normal categories by default)."""
    from svta.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(file)
    if wants_json(json_):
        emit_json(
            {"anomaly": len(taxonomy.anomaly()), "normal": len(taxonomy.normal()), "categories": taxonomy.to_records()}
        )
        return
    from rich.console import Console
    from rich.table import Table

    title = f"{len(taxonomy.anomaly())} anomaly + {len(taxonomy.normal())} normal categories"
    table = Table("id", "name", "kind", "group", "description", title=title)
    for c in taxonomy:
        table.add_row(c.id, c.name, c.kind, c.group, c.description)
    Console().print(table)
