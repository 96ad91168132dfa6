"""Progress reporting: rich progress bars on long loops (a plain line every few seconds without a terminal),
silenced by ``--quiet``.

Library code never prints results; it reports progress and messages through this module so the
CLI can decide whether (and where) they appear.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_quiet = os.environ.get("SVTA_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) progress bars and info messages for this process."""
    global _quiet
    _quiet = quiet


_verbose = os.environ.get("SVTA_VERBOSE", "") not in ("", "0")


def set_verbose(verbose: bool) -> None:
    """Let the libraries svta drives (Ray) print their own INFO lines and worker logs (``svta -v``)."""
    global _verbose
    _verbose = verbose


def is_verbose() -> bool:
    """Whether ``-v/--verbose`` (or ``SVTA_VERBOSE=1``) asked for the libraries' own log lines."""
    return _verbose


# Without a terminal (Slurm, nohup, a pipe) a bar cannot redraw: a plain line is printed this often instead.
PLAIN_INTERVAL = float(os.environ.get("SVTA_PROGRESS_SECONDS", "10"))


def progress(
    iterable: Iterable[T],
    description: str,
    total: int | None = None,
    count: Callable[[T], int] | None = None,
    summary: Callable[[], str] | None = None,
) -> Iterator[T]:
    """Iterate ``iterable`` while showing progress on stderr (nothing when quiet).

    On a terminal this is a rich bar; otherwise a line ``description: done/total (pct) elapsed, ETA`` is
    printed every :data:`PLAIN_INTERVAL` seconds and once at the end.

    Args:
        iterable: items to iterate.
        description: what is being done ("rendering videos").
        total: how many units in all (default ``len(iterable)``).
        count: units each element stands for (e.g. the videos in a batch); default 1.
        summary: the closing line's counts without a terminal (e.g. "3 done, 1 failed"); default "N done".
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if _quiet:
        yield from iterable
        return
    from rich.console import Console

    console = Console(stderr=True)
    if console.is_terminal:
        yield from _bar(iterable, description, total, count, console)
    else:
        yield from _plain(iterable, description, total, count, summary)


def _bar(
    iterable: Iterable[T], description: str, total: int | None, count: Callable[[T], int] | None, console: Any
) -> Iterator[T]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(task, count(item) if count else 1)


def _plain(
    iterable: Iterable[T],
    description: str,
    total: int | None,
    count: Callable[[T], int] | None,
    summary: Callable[[], str] | None = None,
) -> Iterator[T]:
    start = last = time.monotonic()
    done = 0
    for item in iterable:
        yield item
        done += count(item) if count else 1
        now = time.monotonic()
        if now - last >= PLAIN_INTERVAL and (total is None or done < total):  # the end gets its own line
            last = now
            print(plain_line(description, done, total, now - start), file=sys.stderr, flush=True)
    elapsed = time.monotonic() - start
    if summary is not None:  # the caller's counts: failed items are never reported as "done"
        print(f"{description}: {summary()} in {format_seconds(elapsed)}", file=sys.stderr, flush=True)
    else:
        print(plain_line(description, done, total, elapsed, finished=True), file=sys.stderr, flush=True)


def plain_line(description: str, done: int, total: int | None, elapsed: float, finished: bool = False) -> str:
    """``rendering videos: 40/294 (14%) 0:00:12 elapsed, ETA 0:01:16`` (``... 294 done in 0:01:28`` at the end)."""
    if finished:
        return f"{description}: {done} done in {format_seconds(elapsed)}"
    if not total:
        return f"{description}: {done} done, {format_seconds(elapsed)} elapsed"
    eta = elapsed / done * (total - done) if done else None
    left = f", ETA {format_seconds(eta)}" if eta is not None else ""
    return f"{description}: {done}/{total} ({100 * done / total:.0f}%) {format_seconds(elapsed)} elapsed{left}"


def format_seconds(seconds: float) -> str:
    """``H:MM:SS``."""
    whole = max(0, int(round(seconds)))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def info(message: str) -> None:
    """An informational line on stderr (suppressed when quiet)."""
    if not _quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning line on stderr (always shown)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)
