"""The ``hf`` dataset format: a built root as a release folder that ``datasets.load_dataset`` and
``mlcroissant`` read offline, and back.

Export writes everything into a temporary folder beside ``OUT`` and renames it into place at the
end, so a failed export leaves nothing behind. Import checks every clip against the sha256 in its
row and rebuilds the root's tables with the release's ids, splits, categories and paths.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from svta._configbase import StrictModel
from svta.build.formats.base import DATASET_FORMATS, FormatResult, staged_folder
from svta.build.stats import compute_stats
from svta.datasets.hf_release import HFReader
from svta.datasets.items import RowProblems, bad_rows_policy
from svta.errors import InputError
from svta.progress import info, progress
from svta.release.card import CARD_FILE, dataset_card
from svta.release.checksums import CHECKSUMS_FILE, sha256_of, write_checksums
from svta.release.croissant import CROISSANT_FILE, croissant_metadata, write_croissant
from svta.release.provenance import collect_provenance, resolved_config
from svta.release.shards import SPLITS, Shard, count_rows, read_shards, release_rows, write_split
from svta.tables import atomic_write_text, read_records, table_path, write_table
from svta.taxonomy import Taxonomy, default_taxonomy

FIGURES_DIR = "figures"


class HFOptions(StrictModel):
    """Options of ``svta build export hf`` / ``svta build import hf`` (``--opt key=value``)."""

    # export
    embed_videos: bool = False  # clip bytes inside the shards (column video_bytes) instead of videos/
    max_shard_mb: float = Field(500.0, gt=0)  # a shard holds at most this much (estimated)
    name: str | None = None  # the dataset's name (default: build.dataset_name, else the root's folder name)
    license: str | None = None  # a licence id (cc-by-4.0, mit, ...); None: the card says none was chosen
    version: str = "1.0.0"
    url: str | None = None
    creator: str | None = None  # who made the dataset (Croissant ``creator``); None: not stated
    overwrite: bool = False  # replace an existing OUT
    # import
    link: Literal["copy", "symlink", "hardlink"] = "copy"
    check_videos: bool = True  # sha256 of every clip against its row
    skip_bad_rows: bool = False  # False: a missing or changed clip fails the import, naming it; True: listed


# --- export ---------------------------------------------------------------------------------------


def _manifest(root: Path) -> list[dict[str, Any]]:
    path = table_path(root, "manifest")
    if not path.exists():
        raise InputError(f"{path}: manifest table not found; run `svta build --root {root}` first")
    rows = read_records(path, "manifest")
    if not rows:
        raise InputError(f"{path}: the manifest is empty; nothing to release")
    return rows


def _clip_files(
    root: Path, per_split: dict[str, list[dict[str, Any]]], manifest: list[dict[str, Any]]
) -> dict[str, Path]:
    """Release path → source clip for every row; every clip must exist before anything is written."""
    by_id = {row["id"]: row for row in manifest}
    files: dict[str, Path] = {}
    missing = []
    for rows in per_split.values():
        for row in rows:
            source = (root / by_id[row["id"]]["path"]).resolve()
            if not source.is_file():
                missing.append(f"{by_id[row['id']]['path']} (id {row['id']!r})")
            files[row["video"]] = source
    if missing:
        raise InputError(
            f"{root}: {len(missing)} clip(s) named in manifest.parquet are missing, first: {missing[0]}; "
            "run `svta build verify` and rebuild"
        )
    return files


def _copy_figures(root: Path, staging: Path) -> list[str]:
    figures = sorted((root / "stats").glob("*.png"))
    copied = []
    for figure in figures:
        target = staging / FIGURES_DIR / figure.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(figure, target)
        copied.append(f"{FIGURES_DIR}/{figure.name}")
    return copied


def _dataset_name(root: Path, options: HFOptions) -> str:
    if options.name:
        return options.name
    config, _ = resolved_config(root)
    configured = (config.get("build") or {}).get("dataset_name")
    return configured if configured and configured != "svta (this build)" else root.resolve().name


def export_release(root: Path, out: Path, options: HFOptions, taxonomy: Taxonomy | None = None) -> FormatResult:
    """Write the built dataset at ``root`` as a release folder ``out`` (see the module docstring)."""
    taxonomy = taxonomy or default_taxonomy()
    manifest = _manifest(root)
    per_split = release_rows(manifest, taxonomy)
    clips = _clip_files(root, per_split, manifest)
    name = _dataset_name(root, options)
    stats = compute_stats(manifest, name)
    provenance = collect_provenance(
        root,
        stats,
        name,
        license=options.license,
        version=options.version,
        url=options.url,
        creator=options.creator,
        ids={row["id"] for row in manifest},
    )
    splits = [split for split in SPLITS if per_split[split]]
    with staged_folder(out, options.overwrite) as staging:
        shards: list[Shard] = []
        max_bytes = int(options.max_shard_mb * 1024 * 1024)
        for split in splits:
            shards += write_split(staging, split, per_split[split], max_bytes, clips if options.embed_videos else None)
        if not options.embed_videos:
            for release_path, source in progress(sorted(clips.items()), description="copying clips"):
                target = staging / release_path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        figures = _copy_figures(root, staging)
        card = dataset_card(provenance, taxonomy, splits, figures, options.embed_videos)
        atomic_write_text(staging / CARD_FILE, card)
        write_croissant(staging, croissant_metadata(staging, name, shards, provenance, not options.embed_videos))
        write_checksums(staging)
    return FormatResult(
        format="hf",
        direction="export",
        n_items=sum(len(rows) for rows in per_split.values()),
        out=out,
        files=[shard.path for shard in shards] + [CARD_FILE, CROISSANT_FILE, CHECKSUMS_FILE],
        splits={split: len(per_split[split]) for split in SPLITS},
    )


# --- import ---------------------------------------------------------------------------------------


def _place(source: Path | None, data: bytes | None, target: Path, link: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if data is not None:
        target.write_bytes(data)
    elif link == "symlink":
        target.symlink_to(source.resolve())  # type: ignore[union-attr]
    elif link == "hardlink":
        os.link(source, target)  # type: ignore[arg-type]
    else:
        shutil.copyfile(source, target)  # type: ignore[arg-type]


def _check_clip(folder: Path, row: dict[str, Any], check: bool) -> tuple[Path | None, bytes | None, str | None]:
    """The clip of a release row (a file or embedded bytes), or why it cannot be used."""
    import hashlib

    data = row.get("video_bytes")
    source = None if data is not None else folder / row["video"]
    if source is not None and (".." in Path(row["video"]).parts or not source.is_file()):
        return None, None, f"clip not found: {row['video']}"
    if check and row.get("sha256"):
        digest = hashlib.sha256(data).hexdigest() if data is not None else sha256_of(source)  # type: ignore[arg-type]
        if digest != row["sha256"]:
            return None, None, f"clip {row['video']}: sha256 differs from the row's"
    return source, data, None


def _table_rows(row: dict[str, Any], split: str) -> dict[str, dict[str, Any]]:
    video = {k: row[k] for k in ("frames", "fps", "width", "height", "sha256")}
    source = row.get("source") or "import:hf"
    return {
        "captions": {
            "id": row["id"],
            "caption": row["caption"],
            "category": row["category"],
            "source": source,
            "source_ref": f"hf:{row['video']}",
        },
        "labels": {
            "id": row["id"],
            "category": row["category"],
            "is_anomaly": row["is_anomaly"],
            "method": "import:hf",
            "reviewed": True,
        },
        # the release does not say which backend made a clip: the record is where it came from
        "videos": {"id": row["id"], "path": row["video"], **video, "backend": "import:hf"},
        "manifest": {
            "id": row["id"],
            "caption": row["caption"],
            "category": row["category"],
            "is_anomaly": row["is_anomaly"],
            "path": row["video"],
            **video,
            "split": split,
            "source": source,
        },
    }


def import_release(source: Path, root: Path, options: HFOptions) -> FormatResult:
    """Rebuild an svta root (four tables + clips) from a release folder written by :func:`export_release`."""
    existing = [k for k in ("captions", "manifest") if table_path(root, k).exists()]
    if existing and not options.overwrite:
        raise InputError(
            f"{root}: already holds {existing[0]}.parquet; import into an empty root or pass --opt overwrite=true"
        )
    rows = read_shards(source)
    if (source / CHECKSUMS_FILE).is_file() is False:
        info(f"{source}: no {CHECKSUMS_FILE}; clips are checked against the sha256 of their rows only")
    tables: dict[str, list[dict[str, Any]]] = {"captions": [], "labels": [], "videos": [], "manifest": []}
    problems = RowProblems(source, bad_rows_policy(options.skip_bad_rows))
    placed: list[Path] = []
    splits = dict.fromkeys(SPLITS, 0)
    try:
        for split, row in progress(rows, description="importing clips", total=count_rows(source)):
            clip, data, problem = _check_clip(source, row, options.check_videos)
            if problem:
                problems.add(row["id"], problem)
                continue
            target = root / row["video"]
            _place(clip, data, target, options.link)
            placed.append(target)
            for kind, record in _table_rows(row, split).items():
                tables[kind].append(record)
            splits[split] += 1
        problems.finish()
        skipped = problems.skipped
        if not tables["manifest"]:
            raise InputError(
                f"{source}: no usable item ({len(skipped)} skipped, first: {skipped[0][1] if skipped else 'none'})"
            )
        for kind in ("captions", "labels", "videos", "manifest"):
            write_table(tables[kind], table_path(root, kind), kind)
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    return FormatResult(
        format="hf",
        direction="import",
        n_items=len(tables["manifest"]),
        out=root,
        files=["captions.parquet", "labels.parquet", "videos.parquet", "manifest.parquet"],
        splits=splits,
        skipped=skipped,
    )


@DATASET_FORMATS.register(
    "hf",
    "Hugging Face release: Parquet shards per split, clips, dataset card, croissant.json, checksums (read, import, export)",
)
class HFFormat(HFReader):
    directions = ("read", "import", "export")
    Options = HFOptions

    def export(self, root: Path, out: Path, options: Any) -> FormatResult:
        return export_release(root, out, options)

    def load(self, source: Path, root: Path, options: Any) -> FormatResult:
        return import_release(source, root, options)
