"""Shared CLI state: the global options every sub-command can read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
