"""The one item type of external data, the set that holds items, and the one bad-row policy
(:class:`RowProblems`, used by every reader and import): a reader either fails naming the file, row
and field of every bad row (``error``, the default; exit 2) or leaves those rows out and lists them
(``skip``, ``--skip-bad-rows``; exit 3 after the summary). A row the parser cannot read at all (a broken
CSV quote, invalid JSON) is a structural error in every format and policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from svta.errors import InputError, SvtaError
from svta.tables import stable_id

BadRows = Literal["error", "skip"]
_SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class Item:
    """One caption (and the video it describes) read from an external dataset.

    Attributes:
        id: unique within its set (UCFCrime-AR: the video stem; UCA: ``<video>#<sentence>``; a
            manifest: its id; a caption file: a stable hash of source, reference and text).
        caption: the caption text, whitespace-normalised and checked to be usable (MSR-VTT folder imports keep
            it exactly as written, so exports re-import to the same pairs).
        video: the video file, or ``None`` for caption-only data.
        category: a taxonomy id when known (else a class name from the data, or ``None``).
        is_anomaly: the anomaly/normal label when the source has one.
        ref: where the item came from (``file: row N``), for messages and reports.
        source_key: the source recording (a UCF-Crime stem, lower case) for same-video matching.
        sha256: the video file's checksum when known.
        split: ``train``/``val``/``test`` when the source splits its data.
        source_ref: the dataset's own id of the item (kept as ``source_ref`` in svta tables).
        label: the class name as written in the source (before taxonomy lookup).
        tags: free tags from the source.
        span: ``(start, end)`` seconds of the caption inside its video (UCA), as written.
        video_rel: where the video goes below ``<root>/videos`` when imported.
        line: the file row or line the item starts at (0: not from a line-based file).
    """

    id: str
    caption: str
    video: Path | None = None
    category: str | None = None
    is_anomaly: bool | None = None
    ref: str = ""
    source_key: str | None = None
    sha256: str | None = None
    split: str | None = None
    source_ref: str | None = None
    label: str | None = None
    tags: tuple[str, ...] = ()
    span: tuple[Any, ...] | None = None
    video_rel: str | None = None
    line: int = 0

    def but(self, **changes: Any) -> Item:
        """A copy with ``changes`` applied (items are immutable)."""
        return replace(self, **changes)


@dataclass
class ItemSet:
    """The items of one dataset read by one reader, with the rows it left out.

    Attributes:
        name: ``<reader>:<file>`` (e.g. ``ucfcrime-ar:ucf_crime_test.xlsx``).
        kind: the canonical reader name.
        items: the usable items, in file order.
        skipped: ``(where, why)`` of every row left out (bad-row policy ``skip``).
        notes: what was read and what was not (e.g. a spreadsheet of another split beside the one read).
    """

    name: str
    kind: str
    items: list[Item]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_videos(self) -> bool:
        return bool(self.items) and all(item.video is not None for item in self.items)

    def fingerprint(self) -> str:
        """A stable id of the set's items and captions (reports made for another set are caught with it)."""
        return stable_id(*(f"{item.id}\t{item.caption}" for item in self.items))

    def subset(self, drop: set[str] | frozenset[str]) -> ItemSet:
        """The set without the items whose id is in ``drop`` (a dataset that never had them)."""
        return replace(
            self,
            items=[item for item in self.items if item.id not in drop],
            skipped=list(self.skipped),
            notes=list(self.notes),
        )

    def skipped_list(self) -> list[dict[str, str]]:
        """Every skipped row as ``{"where", "why"}`` (what ``--json`` prints)."""
        return [{"where": where, "why": why} for where, why in self.skipped]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "n_items": len(self.items),
            "fingerprint": self.fingerprint(),
            "n_videos": len({i.video for i in self.items if i.video is not None}),
            "skipped": len(self.skipped),
            "notes": list(self.notes),
        }


def bad_rows_policy(skip_bad_rows: bool) -> BadRows:
    """The policy a ``--skip-bad-rows`` flag (or ``skip_bad_rows`` option) asks for."""
    return "skip" if skip_bad_rows else "error"


class RowProblems:
    """Collects the bad rows of one file: raises them together (``error``) or keeps them as skipped (``skip``).

    Args:
        path: the file the rows come from (named in the error).
        mode: the bad-row policy.
    """

    def __init__(self, path: Path | str, mode: BadRows = "error"):
        if mode not in ("error", "skip"):
            raise InputError(f"bad_rows must be 'error' or 'skip', got {mode!r}")
        self.path, self.mode = Path(path), mode
        self.skipped: list[tuple[str, str]] = []

    def add(self, where: str, why: str) -> None:
        self.skipped.append((where, why))

    def finish(self) -> None:
        """Raise :class:`InputError` naming the first bad rows, in ``error`` mode."""
        if self.mode == "error" and self.skipped:
            shown = "; ".join(f"{where}: {why}" for where, why in self.skipped[:_SHOWN_PROBLEMS])
            more = f" (and {len(self.skipped) - _SHOWN_PROBLEMS} more)" if len(self.skipped) > _SHOWN_PROBLEMS else ""
            raise InputError(
                f"{self.path}: {len(self.skipped)} bad row(s): {shown}{more}; "
                "fix them or skip bad rows (--skip-bad-rows / bad_rows='skip')"
            )

    def result(self, name: str, kind: str, items: list[Item], what: str = "row") -> ItemSet:
        """Finish and return the set; a set with no usable item is an error in either mode."""
        self.finish()
        if not items:
            first = f"; first problem: {self.skipped[0][0]}: {self.skipped[0][1]}" if self.skipped else ""
            raise InputError(f"{self.path}: no usable {what} ({len(self.skipped)} skipped){first}")
        return ItemSet(name, kind, items, self.skipped)


class ItemsSkipped(SvtaError):
    """A command finished but left items out (listed above it): exit code 3, what succeeded is kept."""

    exit_code = 3

    def __init__(self, what: str, n_skipped: int, n_done: int):
        self.n_skipped, self.n_done = n_skipped, n_done
        super().__init__(f"{what}: {n_skipped} item(s) skipped (listed above), {n_done} done")


def bad_caption(field: str, why: str) -> str:
    """How every reader words an unusable caption: the field it came from and why (``too_long 1000000 ...``)."""
    return f"caption field {field!r}: {why}"


def checked_caption(value: Any) -> tuple[str | None, str]:
    """``(normalised text, "")`` of a caption fit to import, else ``(None, why)``.

    Import keeps captions close to the original: only unusable text is refused here (``svta captions
    filter`` applies a dataset's length and charset policy later).
    """
    from svta.captions.text import check_caption

    check = check_caption(value, _import_rules())
    if check.ok:
        return check.text, ""
    return None, f"{check.reason} {check.detail}".strip()


def _import_rules() -> Any:
    from svta.captions.config import FilterConfig

    return FilterConfig(min_chars=1, min_words=1, max_chars=2000, max_words=400, charset="any", min_alpha_ratio=0.0)
