"""Loading score matrices, embeddings and index vectors from ``.npy`` files with one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from svta.errors import InputError

NPY_MAGIC = b"\x93NUMPY"


def load_npy(path: Path | str, ndim: int, kinds: str = "f", what: str = "array") -> np.ndarray:
    """Read a ``.npy`` file (memory-mapped, so big score matrices stream from disk).

    Args:
        path: the file.
        ndim: required number of dimensions.
        kinds: allowed numpy dtype kinds ("f" float, "iu" integer).
        what: what the array is, for error messages.

    Raises:
        InputError: missing, empty, not a .npy file, unreadable, wrong dtype/shape, or empty array.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise InputError(f"{path}: not a .npy file (save {what} with numpy.save)")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read {what}: {str(exc).splitlines()[0]}") from None
    if arr.dtype.kind not in kinds:
        wanted = {"f": "floating-point", "iu": "integer"}.get(kinds, kinds)
        raise InputError(f"{path}: {what} must be {wanted}, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise InputError(f"{path}: {what} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{path}: {what} is empty (shape {arr.shape})")
    return arr
