"""Shared CLI pieces: the global options every command can read, the option types every stage uses
(``--root``, ``--run``, ``--json``), the stage-group class and the helpers that check inputs before anything
is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

try:  # recent typer bundles its own copy of click
    from typer._click import Context
    from typer._click.globals import get_current_context
except ImportError:  # older typer uses the click package
    from click import Context, get_current_context  # type: ignore[no-redef,assignment]


@dataclass
class GlobalOptions:
    root: Path | None = None
    config: Path | None = None
    quiet: bool = False
    json: bool = False
    overrides: list[str] = field(default_factory=list)


STATE = GlobalOptions()


class DefaultActionGroup(TyperGroup):
    """A stage group whose first action also runs without its name: ``svta build --root R`` is
    ``svta build manifest --root R`` (the spelling of the stages that used to be one command)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        default = next(iter(self.commands), None)
        help_only = args[:1] in (["--help"], ["-h"])
        if default is not None and (not args or args[0] not in self.commands):
            if not help_only or len(self.commands) == 1:  # a one-action group shows that action's options
                args = [default, *args]
                if len(self.commands) == 1:  # its help and errors say `svta train`, not `svta train run`
                    ctx.svta_implied_action = True
                    self.commands[default].context_class = ImpliedActionContext
        return super().parse_args(ctx, args)


class ImpliedActionContext(Context):
    """The context of an action run without its name (``svta train``): its usage line names the group only."""

    @property
    def command_path(self) -> str:
        if self.parent is not None and getattr(self.parent, "svta_implied_action", False):
            return self.parent.command_path
        return super().command_path


def stage_app(help: str, default_action: bool = False) -> typer.Typer:
    """The typer app of one pipeline stage (``svta <stage> <action>``), actions listed in declaration order.

    ``default_action``: the first action also runs as ``svta <stage> [OPTIONS]``; otherwise ``svta <stage>``
    alone shows the stage's help.
    """
    if default_action:
        return typer.Typer(help=help, cls=DefaultActionGroup)
    return typer.Typer(help=help, no_args_is_help=True)


def fail_check(message: str, exit_zero: bool = False) -> None:
    """End a check that ran and found problems (exit 1, after the problems were listed).

    ``exit_zero`` (``--exit-zero``): the same last line on stderr, saying the exit is 0 as asked, and return.
    """
    from svta.errors import CheckFailed

    if exit_zero:
        typer.echo(f"problems: {message} (exit 0: --exit-zero)", err=True)
        return
    raise CheckFailed(message)


def check_name(value: str | None, option: str = "--name") -> str | None:
    """A name that becomes one folder (``runs/<name>/``): refused with one line (exit 2) when it is empty, holds a
    path separator or is ``.``/``..``, so nothing is ever written outside its parent folder."""
    from svta.errors import InputError

    if value is None:
        return None
    if not value.strip() or value.strip() in (".", "..") or any(ch in value for ch in "/\\\0"):
        raise InputError(f"{option} {value!r}: a name, not a path (no '/', '\\', '..' or empty name)")
    return value


def validated(model: Any, data: Mapping[str, Any], options: Mapping[str, str]) -> Any:
    """``model.model_validate(data)``, a bad value failing as one line naming its option (``options``: field ->
    option spelling, e.g. ``{"epochs": "--epochs"}``)."""
    from pydantic import ValidationError

    from svta.errors import ConfigError

    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = str(first["loc"][0]) if first["loc"] else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        option = options.get(field_name)
        where = f"{option} {data.get(field_name)!r}" if option else f"{model.__name__}.{field_name}"
        raise ConfigError(f"{where}: {message}") from None


def fail_incomplete(message: str) -> NoReturn:
    """End a command whose run finished short of what was asked (exit 3, after its summary)."""
    from svta.errors import StageIncomplete

    raise StageIncomplete(message)


def existing_root(root: Path | None) -> Path:
    """:func:`resolve_root`, checked to be a folder (a command that reads a root fails before writing)."""
    from svta.errors import InputError

    path = resolve_root(root)
    if not path.is_dir():
        raise InputError(f"{path}: dataset root not found; give --root, or make one with `svta captions generate`")
    return path


def resolve_run(run: str | Path, root: Path | None) -> Path:
    """``--run``: a run folder, or the name of one under ``<root>/runs/``."""
    from svta.errors import InputError

    path = Path(run)
    if path.is_dir():
        return path
    named = resolve_root(root) / "runs" / str(run)
    if named.is_dir():
        return named
    raise InputError(
        f"--run {run}: neither a run folder nor a run named {run!r} under {named.parent}; train one with `svta train`"
    )


def check_registered(kind: str, name: str, option: str) -> None:
    """Fail with one line naming ``option`` when ``name`` is not a registered ``kind`` (before writing)."""
    from svta.errors import ConfigError
    from svta.registry import registry

    known = registry(kind).names()
    if name not in known:
        raise ConfigError(f"{option} {name!r}: unknown {kind}; known: {', '.join(known)}")


def resolve_root(root: Path | None) -> Path:
    """The dataset root: the command's ``--root``, else the global ``--root``, else the config's."""
    if root is not None:
        return root
    if STATE.root is not None:
        return STATE.root
    from svta.config import load_config

    return load_config(STATE.config, STATE.overrides).root


def load_cli_config(
    root: Path | None = None, extra_overrides: list[str] | None = None, labels: Mapping[str, str] | None = None
) -> Any:
    """The resolved config for a command: ``--config`` file, ``--set`` overrides, the command's options (as
    ``extra_overrides``, named in errors by ``labels``), then ``--root``."""
    from svta.config import load_config

    overrides = [*STATE.overrides, *(extra_overrides or [])]
    return load_config(STATE.config, overrides, labels=labels, root=root or STATE.root)


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def wants_json(flag: bool) -> bool:
    return flag or STATE.json


RootOption = Annotated[
    Path | None, typer.Option("--root", help="Dataset root (default: global --root or the config's).")
]
RunOption = Annotated[
    str | None, typer.Option("--run", help="Training run: a run folder, or a name under <root>/runs/.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ExitZeroOption = Annotated[
    bool,
    typer.Option(
        "--exit-zero",
        help="Exit 0 even when the check finds problems (still listed, last line on stderr); a pure report. "
        "Bad input still exits 2 and a short run 3.",
    ),
]


def hidden_alias(name: str, help: str = "") -> Any:
    """A hidden option (for ``Annotated[...]``) keeping an old spelling working for one release."""
    return typer.Option(name, hidden=True, help=help)


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
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    labels = {item: _option_label(key, value) for item, (key, value) in zip(extra, given.items(), strict=True)}
    return root, load_cli_config(root, extra, labels)


def _option_label(key: str, value: Any) -> str:
    """How an error names the option that set config ``key`` to ``value``: ``--frames 0`` (the option of the running
    command named like the key, else the only one holding that value), else ``option value 0 (videos.frames)``."""
    context = get_current_context(silent=True)
    params = [p for p in getattr(getattr(context, "command", None), "params", []) if p.opts and not p.hidden]
    values = getattr(context, "params", {}) or {}

    def holds(param: Any) -> bool:
        held = values.get(param.name)
        return type(held) is type(value) and held == value  # type: False == 0, but --overwrite is not --size 0

    named = [p for p in params if p.name == key.rsplit(".", 1)[-1] and holds(p)]
    holding = [p for p in params if holds(p)]
    found = named or (holding if len(holding) == 1 else [])
    if found:
        return f"{found[0].opts[0]} {value!r}"
    return f"option value {value!r} ({key})"
