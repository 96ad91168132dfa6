"""Confinement of served files to a base directory: a stored relative path is served only if it
names a regular file that, after resolving every symlink, still lies inside the base.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def is_safe_relative(relative: str) -> bool:
    """True when ``relative`` is a plain relative path: not absolute, no ``..``, no NUL, no drive or backslash."""
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith(("/", "~")):
        return False
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ":" in pure.parts[0]:
        return False
    return all(part not in ("..", "") for part in pure.parts)


def resolve_inside(base: Path, relative: str) -> Path | None:
    """The real path of ``base / relative`` if it is a regular file inside ``base``, else None.

    Symlinks are followed and the target must still be inside the (resolved) base, so a link that
    points out of the root is refused, as are ``..`` segments and absolute paths.
    """
    if not is_safe_relative(relative):
        return None
    try:
        real_base = base.resolve(strict=True)
        target = (real_base / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # missing file, symlink loop
        return None
    if not target.is_relative_to(real_base) or not target.is_file():
        return None
    return target
