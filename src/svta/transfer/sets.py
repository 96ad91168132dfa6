"""Item sets for cross-dataset work: one (caption, video) row per item, read from UCFCrime-AR spreadsheets,
UCA JSON, an svta manifest, or any caption file the caption importers read; plus the training side of a
dataset root. A *spec* names a set on the command line: ``KIND:PATH`` or a bare path whose kind is detected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from svta.errors import InputError
from svta.tables import read_records, stable_id, table_path

SET_KINDS = ("ucfcrime-ar", "uca", "manifest", "captions")
BadRows = Literal["error", "skip"]
# UCF-Crime file stems (Abuse028_x264, Normal_Videos_003_x264): the key that ties a UCA sentence, a
# UCFCrime-AR row and an imported video to the same source recording.
_UCF_KEY = re.compile(r"([a-z][a-z_]*?_?\d+(?:_\d+)?_x264)", re.IGNORECASE)
_SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class SetItem:
    """One caption and the video it describes.

    Attributes:
        id: unique within its set (UCFCrime-AR: the video stem; UCA: ``<video>#<sentence>``; manifest: its id).
        caption: normalised caption text.
        video: the video file, or ``None`` for caption-only sets.
        category / is_anomaly: label when the source has one.
        ref: where the item came from (``file: row N``, a source_ref), for messages and reports.
        source_key: the source recording's key (a UCF-Crime stem, lower case) for same-video matching.
        sha256: the video's checksum when known (manifests).
    """

    id: str
    caption: str
    video: Path | None = None
    category: str | None = None
    is_anomaly: bool | None = None
    ref: str = ""
    source_key: str | None = None
    sha256: str | None = None


@dataclass
class ItemSet:
    """Items of one dataset (an evaluation set, or a training root's captions)."""

    name: str
    kind: str
    items: list[SetItem]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)

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
        return replace(self, items=[item for item in self.items if item.id not in drop], skipped=list(self.skipped))

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "n_items": len(self.items), "fingerprint": self.fingerprint(),
                "n_videos": len({i.video for i in self.items if i.video is not None}), "skipped": len(self.skipped)}


@dataclass(frozen=True)
class SetSpec:
    """What to load: a kind and its annotation file (or root), plus reading options.

    Attributes:
        kind: one of :data:`SET_KINDS`.
        path: spreadsheet, JSON, manifest/root, or caption file.
        videos: local video folder (UCFCrime-AR, UCA); ``None``: captions only.
        split: manifest split to read (``all``: every row).
        language: UCFCrime-AR caption language, ``en`` (default, as in the paper) or ``zh``.
        bad_rows: ``error`` (default) raises on the first rows with a missing video or an empty caption,
            naming them; ``skip`` leaves them out and lists them in ``skipped``.
        clips_dir: UCA only: cut one clip per sentence timestamp into this folder and use it as the video.
        max_clip_frames: UCA clips: cap on frames written per clip (uniformly subsampled).
        workers: UCA clips: threads cutting clips.
    """

    kind: str
    path: Path
    videos: Path | None = None
    split: str = "test"
    language: str = "en"
    bad_rows: BadRows = "error"
    clips_dir: Path | None = None
    max_clip_frames: int = 256
    workers: int = 2


def parse_spec(text: str | Path, **options: Any) -> SetSpec:
    """A :class:`SetSpec` from ``KIND:PATH`` or a bare path (kind detected); ``options`` fill the rest."""
    text = str(text)
    kind, sep, rest = text.partition(":")
    if sep and kind in SET_KINDS:
        path = Path(rest)
    else:
        path, kind = Path(text), detect_kind(Path(text))
    return SetSpec(kind=kind, path=path, **{k: v for k, v in options.items() if v is not None})


def detect_kind(path: Path) -> str:
    """The set kind of a file or folder: a root/``.parquet`` is a manifest, spreadsheets are UCFCrime-AR,
    UCA JSON is UCA, anything else a caption file."""
    from svta.captions.importers import detect_format

    if path.is_dir() or path.suffix.lower() == ".parquet":
        return "manifest"
    if not path.exists():
        raise InputError(f"{path}: evaluation set not found (give KIND:PATH with KIND one of {', '.join(SET_KINDS)})")
    fmt = detect_format(path)
    return {"ucfcrime_ar": "ucfcrime-ar", "uca": "uca"}.get(fmt, "captions")


def load_set(spec: SetSpec | str | Path, **options: Any) -> ItemSet:
    """Load the item set a spec names (a string spec is parsed with ``options``)."""
    if not isinstance(spec, SetSpec):
        spec = parse_spec(spec, **options)
    if spec.kind == "ucfcrime-ar":
        from svta.transfer.ucfcrime import load_ucfcrime_ar

        return load_ucfcrime_ar(spec.path, spec.videos, language=spec.language, bad_rows=spec.bad_rows)
    if spec.kind == "uca":
        from svta.transfer.uca import load_uca

        return load_uca(spec.path, spec.videos, clips_dir=spec.clips_dir, bad_rows=spec.bad_rows,
                        max_clip_frames=spec.max_clip_frames, workers=spec.workers)
    if spec.kind == "manifest":
        return load_manifest_set(spec.path, spec.split)
    if spec.kind == "captions":
        return load_caption_file(spec.path, spec.language, spec.bad_rows)
    raise InputError(f"unknown evaluation set kind {spec.kind!r}; known: {', '.join(SET_KINDS)}")


def source_key(*texts: str | None) -> str | None:
    """The UCF-Crime recording a name, path or source_ref refers to (lower-case stem), if any."""
    for text in texts:
        match = _UCF_KEY.search(Path(str(text)).name if text else "")
        if match:
            return match.group(1).lower()
    return None


def _manifest_root(path: Path) -> tuple[Path, Path]:
    """(root, manifest file) of a root folder or a manifest file."""
    manifest = table_path(path, "manifest") if path.is_dir() else path
    if not manifest.is_file():
        raise InputError(f"{manifest}: no manifest (run `svta build`, or give the manifest.parquet itself)")
    return manifest.parent, manifest


def load_manifest_set(path: Path | str, split: str = "test") -> ItemSet:
    """The rows of a built root's manifest in ``split`` (``all``: every split), videos resolved."""
    root, manifest = _manifest_root(Path(path))
    rows = read_records(manifest, "manifest")
    items = [
        SetItem(row["id"], row["caption"], root / row["path"], row["category"], bool(row["is_anomaly"]),
                f"{manifest.name}: row {i + 1}", source_key(row["path"]), row.get("sha256"))
        for i, row in enumerate(rows)
        if split == "all" or row["split"] == split
    ]
    if not items:
        splits = sorted({str(row["split"]) for row in rows})
        raise InputError(f"{manifest}: split {split!r} has no rows (splits: {', '.join(splits) or 'none'})")
    return ItemSet(f"manifest:{root.name}/{split}", "manifest", items)


def load_caption_file(path: Path | str, language: str = "en", bad_rows: BadRows = "error") -> ItemSet:
    """Captions of any file the caption importers read (no videos): for overlap checks only."""
    from svta.captions.importers import IMPORT_RULES, read_captions
    from svta.captions.text import check_caption

    path = Path(path)
    problems = RowProblems(path, bad_rows)
    items = []
    for raw in read_captions(path, language=language):
        check = check_caption(raw.caption, IMPORT_RULES)
        where = f"{path.name}: line {raw.line}"
        if not check.ok:
            problems.add(where, f"caption {check.reason} ({check.detail})")
            continue
        ref = raw.source_ref or where
        items.append(SetItem(stable_id(path.name, ref, check.text), check.text, None, raw.category, None, ref,
                             source_key(raw.source_ref)))
    problems.finish()
    return ItemSet(f"captions:{path.name}", "captions", items, problems.skipped)


def load_training_set(root: Path | str, splits: tuple[str, ...] | None = ("train", "val"),
                      table: Literal["auto", "manifest", "captions"] = "auto") -> ItemSet:
    """The training side of a dataset root.

    Args:
        root: the dataset root.
        splits: manifest splits the model could have seen (default train and val: val picks the checkpoint);
            ``None``: every split.
        table: ``manifest`` (the built dataset), ``captions`` (``captions.parquet``, with video paths from
            ``videos.parquet`` when present: what ``svta build --exclude-from`` filters), or ``auto``
            (the manifest when it exists).
    """
    root = Path(root)
    manifest = table_path(root, "manifest")
    if table == "manifest" or (table == "auto" and manifest.exists()):
        rows = read_records(manifest, "manifest")
        items = [SetItem(r["id"], r["caption"], root / r["path"], r["category"], bool(r["is_anomaly"]),
                         f"{manifest.name}: row {i + 1}", source_key(r["path"]), r.get("sha256"))
                 for i, r in enumerate(rows) if splits is None or r["split"] in splits]
        label = "all" if splits is None else "+".join(splits)
        return ItemSet(f"{root.name}/{label}", "manifest", items)
    captions = table_path(root, "captions")
    if not captions.exists():
        raise InputError(f"{root}: no manifest.parquet or captions.parquet to read training captions from")
    videos_path = table_path(root, "videos")
    videos = {v["id"]: v for v in read_records(videos_path, "videos")} if videos_path.exists() else {}
    items = []
    for i, row in enumerate(read_records(captions, "captions")):
        video = videos.get(row["id"])
        items.append(SetItem(row["id"], row["caption"], root / video["path"] if video else None, row["category"],
                             None, row.get("source_ref") or f"{captions.name}: row {i + 1}",
                             source_key(row.get("source_ref"), video["path"] if video else None),
                             video["sha256"] if video else None))
    return ItemSet(f"{root.name}/captions", "captions", items)


class RowProblems:
    """Collects bad rows of a file: raises them together (``error``) or keeps them as skipped (``skip``)."""

    def __init__(self, path: Path, mode: BadRows):
        if mode not in ("error", "skip"):
            raise InputError(f"bad_rows must be 'error' or 'skip', got {mode!r}")
        self.path, self.mode = path, mode
        self.skipped: list[tuple[str, str]] = []

    def add(self, where: str, why: str) -> None:
        self.skipped.append((where, why))

    def finish(self) -> None:
        """Raise :class:`InputError` naming the first bad rows, in ``error`` mode."""
        if self.mode == "error" and self.skipped:
            shown = "; ".join(f"{where}: {why}" for where, why in self.skipped[:_SHOWN_PROBLEMS])
            more = f" (and {len(self.skipped) - _SHOWN_PROBLEMS} more)" if len(self.skipped) > _SHOWN_PROBLEMS else ""
            raise InputError(f"{self.path}: {len(self.skipped)} bad row(s): {shown}{more}; "
                             "fix them or skip bad rows (--skip-bad-rows / bad_rows='skip')")
