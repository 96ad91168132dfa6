"""The exception types that are part of svta's API.

Every error a user can cause carries the path/row/field it is about; the CLI turns any
:class:`SvtaError` into one clear line and its exit code (:data:`EXIT_CODES`): 1 when a check ran and found
problems, 2 for bad input, usage or config (nothing written), 3 when a run finished but some items failed
or fell short (what succeeded is kept).
"""

from __future__ import annotations

from pathlib import Path

# The exit-code contract of every ``svta`` command (README "Exit codes", ``svta --help``).
EXIT_CODES: dict[int, str] = {
    0: "done: everything asked was done",
    1: "a check ran and found problems (svta build verify, svta videos check, svta eval overlap, svta doctor)",
    2: "bad input, usage or config: nothing was written, one line on stderr",
    3: "the run finished short (some items failed or were skipped): what succeeded is kept and listed",
}


class SvtaError(Exception):
    """Base class of every error svta raises on purpose."""

    exit_code = 2


class StageIncomplete(SvtaError):
    """A stage finished, but some items failed or it ended short of what was asked (exit code 3)."""

    exit_code = 3


class CheckFailed(SvtaError):
    """A check ran to the end and found problems (exit code 1); the problems were listed before it."""

    exit_code = 1


class ConfigError(SvtaError):
    """A configuration value or file is invalid."""


class TableSchemaError(SvtaError):
    """A table file is missing, unreadable, or does not match its declared schema."""

    def __init__(self, path: Path | str, message: str, row: int | None = None, field: str | None = None):
        self.path = Path(path)
        self.row = row
        self.field = field
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class VideoDecodeError(SvtaError):
    """A video cannot be probed or decoded (corrupt, truncated, empty, not a video, ...)."""

    def __init__(self, path: Path | str, message: str):
        self.path = Path(path)
        super().__init__(f"{path}: {message}")


class BackendError(SvtaError):
    """A backend (LLM server, video generator, model) failed or is misconfigured."""


class MissingExtraError(SvtaError):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str):
        self.module = module
        self.extra = extra
        super().__init__(f"this feature needs the '{module}' package: pip install 'svta[{extra}]'")


class InputError(SvtaError):
    """A user-supplied input file or value is invalid (names what and where)."""
