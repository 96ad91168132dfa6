"""Progress reporting: rich progress bars on long loops, silenced by ``--quiet``.

Library code never prints results; it reports progress and messages through this module so the
CLI can decide whether (and where) they appear.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_quiet = os.environ.get("SVTA_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) progress bars and info messages for this process."""
    global _quiet
    _quiet = quiet


def progress(
    iterable: Iterable[T], description: str, total: int | None = None, summary: Callable[[], str] | None = None
) -> Iterator[T]:
    """Iterate ``iterable`` while showing a progress bar on stderr (nothing when quiet).

    Args:
        iterable: items to iterate.
        description: what is being done ("rendering videos").
        total: number of items when ``iterable`` has no ``len``.
        summary: the closing line's counts (e.g. "3 done, 1 failed"); default "<total> done".
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if _quiet:
        yield from iterable
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=not console.is_terminal, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(task)
    if not console.is_terminal:
        done = summary() if summary is not None else f"{total if total is not None else 'all'} done"
        print(f"{description}: {done}", file=sys.stderr)


def info(message: str) -> None:
    """An informational line on stderr (suppressed when quiet)."""
    if not _quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning line on stderr (always shown)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)
