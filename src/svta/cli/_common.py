"""Shared CLI state: the global options every sub-command can read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer


@dataclass
class GlobalOptions:
    root: Path | None = None
    config: Path | None = None
    quiet: bool = False
    json: bool = False
    overrides: list[str] = field(default_factory=list)


STATE = GlobalOptions()


def resolve_root(root: Path | None) -> Path:
    """The dataset root: the command's ``--root``, else the global ``--root``, else the config's."""
    if root is not None:
        return root
    if STATE.root is not None:
        return STATE.root
    from svta.config import load_config

    return load_config(STATE.config, STATE.overrides).root


def load_cli_config(root: Path | None = None, extra_overrides: list[str] | None = None) -> Any:
    """The resolved config for a command: ``--config`` file, ``--set`` overrides, then ``--root``."""
    from svta.config import load_config

    return load_config(STATE.config, [*STATE.overrides, *(extra_overrides or [])], root=root or STATE.root)


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def wants_json(flag: bool) -> bool:
    return flag or STATE.json


RootOption = Annotated[
    Path | None, typer.Option("--root", help="Dataset root (default: global --root or the config's).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def stage_setup(root: Path | None, overrides: Mapping[str, Any] | None = None) -> tuple[Path, Any]:
    """The dataset root and the resolved config of a stage command.

    ``overrides`` (dotted key → value; ``None`` values are left unset) go through the config loader
    like ``--set``, so a bad option value fails as a config error naming its key.
    """
    root = resolve_root(root)
    extra = [
        f"{key}={json.dumps(value) if isinstance(value, (list, bool)) else value}"
        for key, value in (overrides or {}).items()
        if value is not None
    ]
    return root, load_cli_config(root, extra)
