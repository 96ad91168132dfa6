"""Dataset verification (``svta build verify``): every table row is well formed and unique, every video
it names exists, decodes and matches its checksum, and no video file lies around unreferenced.
All problems are collected (not just the first), each naming the table, row, id and path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from svta.errors import InputError, SvtaError
from svta.progress import progress
from svta.tables import REQUIRED, table_path
from svta.video_io import VIDEO_SUFFIXES


@dataclass
class Problem:
    kind: str  # duplicate-id | missing-value | missing-file | undecodable | checksum | orphan | table
    message: str
    table: str | None = None
    row: int | None = None
    id: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.table,
                f"row {self.row}" if self.row is not None else None,
                f"id {self.id!r}" if self.id is not None else None,
                self.path,
            )
            if part
        )
        return f"[{self.kind}] {where}: {self.message}"


@dataclass
class VerifyReport:
    n_rows: int = 0
    n_videos: int = 0  # distinct video files checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self), "messages": [str(p) for p in self.problems]}


def _load_rows(root: Path, kind: str, report: VerifyReport) -> list[dict[str, Any]]:
    """Rows of a table, read without the strict reader so that every bad row can be listed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = table_path(root, kind)
    if not path.exists():
        return []
    try:
        rows = pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:  # a damaged parquet file is a finding, not a crash
        report.problems.append(Problem("table", f"unreadable: {exc}", table=path.name))
        return []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        for name in REQUIRED[kind]:
            if row.get(name) is None:
                report.problems.append(Problem("missing-value", f"{name} is missing", path.name, index, row.get("id")))
        if row.get("id") in seen:
            first = seen[row["id"]]
            report.problems.append(Problem("duplicate-id", f"duplicate of row {first}", path.name, index, row["id"]))
        elif row.get("id") is not None:
            seen[row["id"]] = index
    report.n_rows += len(rows)
    return rows


def _check_video(root: Path, relative: str, sha256: str | None, decode: bool) -> list[tuple[str, str]]:
    """(kind, message) problems of one video file."""
    from svta.video_io import check_decodable, sha256_file

    path = root / relative
    if not path.is_file():
        return [("missing-file", "video file does not exist")]
    problems = []
    if decode:
        try:
            check_decodable(path)
        except SvtaError as exc:
            problems.append(("undecodable", str(exc)))
    if sha256:
        actual = sha256_file(path)
        if actual != sha256:
            problems.append(("checksum", f"sha256 {actual[:12]}… does not match the recorded {sha256[:12]}…"))
    return problems


def verify_dataset(root: Path | str, workers: int = 1, decode: bool = True) -> VerifyReport:
    """Check ``manifest.parquet`` and ``videos.parquet`` of ``root`` against the files.

    Args:
        root: the dataset root.
        workers: processes checking videos (1: in this process).
        decode: decode every video (off: existence and checksums only).

    Returns:
        the report; ``report.ok`` is True when nothing is wrong.
    """
    root = Path(root)
    if not any(table_path(root, kind).exists() for kind in ("manifest", "videos")):
        raise InputError(
            f"{root}: no manifest.parquet or videos.parquet to verify; make them with `svta videos` and `svta build`"
        )
    report = VerifyReport()
    references: dict[str, list[tuple[str, int, str | None, str | None]]] = {}
    for kind in ("manifest", "videos"):
        for index, row in enumerate(_load_rows(root, kind, report)):
            if row.get("path"):
                references.setdefault(row["path"], []).append(
                    (f"{kind}.parquet", index, row.get("id"), row.get("sha256"))
                )
    if not references and not report.problems:
        report.problems.append(Problem("table", "no manifest.parquet or videos.parquet with video paths to verify"))
    checks = _run_checks(root, references, workers, decode)
    for relative, found in checks.items():
        table, row_index, item_id, _ = references[relative][0]
        report.problems.extend(Problem(kind, message, table, row_index, item_id, relative) for kind, message in found)
    report.n_videos = len(references)
    referenced = {(root / p).resolve() for p in references}
    for path in _video_files(root / "videos"):
        if path.resolve() not in referenced:
            report.problems.append(
                Problem("orphan", "video file is not in any table", path=str(path.relative_to(root)))
            )
    return report


def _run_checks(
    root: Path, references: dict[str, list[tuple[str, int, str | None, str | None]]], workers: int, decode: bool
) -> dict[str, list[tuple[str, str]]]:
    """(kind, message) problems per referenced path, checked in ``workers`` processes.

    Processes, not threads: the strict decode check captures FFmpeg's log, which is process-global
    state in PyAV, and concurrent captures from threads leave it changed (threaded decoding can
    then deadlock).
    """
    jobs = []
    for relative in sorted(references):
        sums = sorted({entry[3] for entry in references[relative] if entry[3]})
        jobs.append((relative, sums))
    args = ([root] * len(jobs), [j[0] for j in jobs], [j[1][0] if len(j[1]) == 1 else None for j in jobs])
    if workers > 1 and len(jobs) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        chunk = max(1, len(jobs) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            found = list(
                progress(
                    pool.map(_check_video, *args, [decode] * len(jobs), chunksize=chunk),
                    description="verifying videos",
                    total=len(jobs),
                )
            )
    else:
        found = [_check_video(*a, decode) for a in progress(list(zip(*args)), description="verifying videos")]
    out = {}
    for (relative, sums), problems in zip(jobs, found):
        if len(sums) > 1:
            problems.append(("checksum", f"tables disagree on its sha256: {sums}"))
        out[relative] = problems
    return out


def _video_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."))
