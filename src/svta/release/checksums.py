"""``checksums.sha256`` for a release folder, in the format ``sha256sum -c`` reads
(``<hex>  <relative path>``), and the check that every listed file is present and unchanged and
that nothing unlisted lies in the folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from svta.errors import InputError
from svta.progress import progress
from svta.tables import atomic_write_text

CHECKSUMS_FILE = "checksums.sha256"


def sha256_of(path: Path) -> str:
    """:func:`svta.video_io.sha256_file`, imported on first use (PyAV loads with it; `svta list` should not)."""
    from svta.video_io import sha256_file

    return sha256_file(path)


def release_files(folder: Path) -> list[Path]:
    """Every regular file below ``folder`` except the checksum list itself, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS_FILE)


def write_checksums(folder: Path) -> Path:
    """Hash every file of the release and write the list atomically."""
    files = release_files(folder)
    lines = [
        f"{sha256_of(path)}  {path.relative_to(folder).as_posix()}"
        for path in progress(files, description="hashing release files")
    ]
    atomic_write_text(folder / CHECKSUMS_FILE, "\n".join(lines) + "\n")
    return folder / CHECKSUMS_FILE


def read_checksums(folder: Path) -> dict[str, str]:
    """Relative path → sha256 from the folder's ``checksums.sha256``."""
    path = folder / CHECKSUMS_FILE
    if not path.is_file():
        raise InputError(f"{path}: not found; is {folder} a release written by `svta build export hf`?")
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise InputError(f"{path}: line {number} is not '<sha256>  <path>': {line[:80]!r}")
        listed[name.lstrip("*")] = digest.lower()
    return listed


@dataclass
class ReleaseCheck:
    """What ``svta build verify --release`` found."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_release(folder: Path | str) -> ReleaseCheck:
    """Check every file against ``checksums.sha256``: missing, changed and unlisted files are problems."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: release folder not found")
    listed = read_checksums(folder)
    report = ReleaseCheck()
    for name, digest in progress(sorted(listed.items()), description="checking release files"):
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            report.problems.append(f"[path] {name}: listed path leaves the release folder")
        elif not path.is_file():
            report.problems.append(f"[missing] {name}: listed in {CHECKSUMS_FILE} but not found")
        elif sha256_of(path) != digest:
            report.problems.append(f"[checksum] {name}: sha256 differs from {CHECKSUMS_FILE}")
        else:
            report.checked += 1
    for path in release_files(folder):
        name = path.relative_to(folder).as_posix()
        if name not in listed:
            report.problems.append(f"[unlisted] {name}: not in {CHECKSUMS_FILE}")
    return report
