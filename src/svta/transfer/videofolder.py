"""Find the files a foreign annotation names inside a local video folder whose layout may differ from
the one the annotation assumes (UCF-Crime is shipped as ``Abuse/Abuse028_x264.mp4``, but also as
``Anomaly-Videos-Part-1/Abuse/...`` or flat), matching by relative path first, then by file stem.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from svta.errors import InputError
from svta.video_io import VIDEO_SUFFIXES


class VideoFolder:
    """A folder of videos, indexed by file stem on first use.

    Args:
        root: the folder (searched recursively, symlinks followed).

    Raises:
        InputError: ``root`` is not a directory.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: video folder not found")
        self._by_stem: dict[str, list[Path]] | None = None

    def _index(self) -> dict[str, list[Path]]:
        if self._by_stem is None:
            by_stem: dict[str, list[Path]] = defaultdict(list)
            for folder, _, files in os.walk(self.root, followlinks=True):
                for name in files:
                    if name.lower().endswith(VIDEO_SUFFIXES):
                        path = Path(folder) / name
                        by_stem[path.stem.lower()].append(path)
            self._by_stem = dict(by_stem)
        return self._by_stem

    def resolve(self, name: str) -> Path | None:
        """The file ``name`` refers to (a relative path, a file name, or a stem without extension).

        Returns:
            The path, or ``None`` when no file matches.

        Raises:
            InputError: several files share the name's stem and none sits at the name's relative path.
        """
        name = name.strip().replace("\\", "/")
        direct = self.root / name
        if name and direct.is_file():
            return direct
        stem = Path(name).stem if Path(name).suffix.lower() in VIDEO_SUFFIXES else Path(name).name
        candidates = self._index().get(stem.lower(), [])
        if len(candidates) > 1:
            # Prefer the copy whose path ends with the annotation's relative path.
            tail = [p for p in candidates if p.as_posix().lower().endswith("/" + name.lower())]
            candidates = tail if len(tail) == 1 else candidates
        if len(candidates) > 1:
            shown = ", ".join(str(p.relative_to(self.root)) for p in sorted(candidates)[:3])
            raise InputError(f"{self.root}: {len(candidates)} files match video {name!r} ({shown}); "
                             "keep one or pass the folder that holds the intended copy")
        return candidates[0] if candidates else None
