"""The dataset spine: declared schemas of the shared tables and safe ways to read and write them.

Every reader validates columns and types and names the file, row and field on error; every writer
is atomic (temp file, fsync, rename); resumable stages append small *parts* and compact them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from svta.errors import TableSchemaError

if TYPE_CHECKING:
    from svta.taxonomy import Taxonomy

# What makes each table, for "not found" errors.
NEXT_STEP = {
    "captions": "run `svta captions generate` (or `svta captions import FILE`) first",
    "videos": "run `svta videos generate` first",
    "labels": "run `svta annotate classify` first",
    "manifest": "run `svta build` first",
}

# How to finish a table whose stage was interrupted (committed parts not yet compacted into the table).
RESUME_STEP = {
    "captions": "rerun `svta captions generate` (or the same `svta captions import`) to finish it",
    "videos": "rerun `svta videos generate` to finish it",
    "labels": "rerun `svta annotate classify` (or the review import that was running) to finish it",
}

# The ``labels.category`` of a caption no classifier could place (annotate writes it, build skips it).
NEEDS_REVIEW = "needs_review"

# Required (non-null) fields are listed in REQUIRED; everything else may be null.
SCHEMAS: dict[str, pa.Schema] = {
    "captions": pa.schema(
        [
            ("id", pa.string()),
            ("caption", pa.string()),
            ("category", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("source", pa.string()),
            ("source_ref", pa.string()),
            ("seed", pa.int64()),
        ]
    ),
    "videos": pa.schema(
        [
            ("id", pa.string()),
            ("path", pa.string()),
            ("frames", pa.int32()),
            ("fps", pa.float64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("sha256", pa.string()),
            ("backend", pa.string()),
            ("params", pa.string()),
            ("seconds", pa.float64()),
        ]
    ),
    "labels": pa.schema(
        [
            ("id", pa.string()),
            ("category", pa.string()),
            ("is_anomaly", pa.bool_()),
            ("method", pa.string()),
            ("confidence", pa.float64()),
            ("reviewed", pa.bool_()),
        ]
    ),
    "manifest": pa.schema(
        [
            ("id", pa.string()),
            ("caption", pa.string()),
            ("category", pa.string()),
            ("is_anomaly", pa.bool_()),
            ("path", pa.string()),
            ("frames", pa.int32()),
            ("fps", pa.float64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("sha256", pa.string()),
            ("split", pa.string()),
            ("source", pa.string()),
        ]
    ),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "captions": ("id", "caption", "source"),
    "videos": ("id", "path", "frames", "fps", "width", "height", "sha256", "backend"),
    "labels": ("id", "category", "method"),  # is_anomaly is null while a label needs review
    "manifest": ("id", "caption", "category", "is_anomaly", "path", "split"),
}

TABLE_FILES = {name: f"{name}.parquet" for name in SCHEMAS}

PART_TAG_KEY = "svta.part_tag"  # parquet key-value metadata of a part: who committed it (see PartWriter.append)


def stable_id(*parts: Any, length: int = 16) -> str:
    """A stable hex id derived from content (and seed): re-running a stage gives the same ids."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:length]


@contextmanager
def atomic_path(path: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync it and rename it over ``path``.

    A crash leaves either the old file or the new one, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix or (path.suffix + ".tmp"), dir=path.parent
        )
    except OSError as exc:  # name the file being written, not the temp file (a read-only or full folder)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:  # a full disk says so without naming the file
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def to_arrow(rows: Any, kind: str, path: Path | str = "<memory>") -> pa.Table:
    """Convert records / a pandas DataFrame / a pyarrow Table to the declared schema of ``kind``.

    Extra columns are dropped; missing optional columns become null; a missing required column or
    a value of the wrong type raises :class:`TableSchemaError` naming the row and field.
    """
    schema = _schema(kind)
    if isinstance(rows, pa.Table):
        table = rows
    elif hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas
        table = pa.Table.from_pandas(rows, preserve_index=False)
    else:
        rows = list(rows)
        columns = {f.name: [_get(r, f.name) for r in rows] for f in schema}
        missing = [name for name in REQUIRED[kind] if rows and all(_absent(r, name) for r in rows)]
        if missing:
            raise TableSchemaError(path, f"missing required column(s) {missing} for a {kind} table")
        return _validate(_build_columns(columns, schema, path), kind, path)
    return _validate(_conform(table, schema, kind, path), kind, path)


def _get(record: Mapping[str, Any] | Any, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _absent(record: Mapping[str, Any] | Any, name: str) -> bool:
    if isinstance(record, Mapping):
        return name not in record
    return not hasattr(record, name)


def _build_columns(columns: dict[str, list[Any]], schema: pa.Schema, path: Path | str) -> pa.Table:
    arrays = []
    for f in schema:
        try:
            arrays.append(pa.array(columns[f.name], type=f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            row = _first_bad_row(columns[f.name], f.type)
            raise TableSchemaError(path, f"expected {f.type}: {exc}", row=row, field=f.name) from None
    return pa.Table.from_arrays(arrays, schema=schema)


def _first_bad_row(values: Sequence[Any], typ: pa.DataType) -> int | None:
    for i, value in enumerate(values):
        try:
            pa.array([value], type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            return i
    return None


def _conform(table: pa.Table, schema: pa.Schema, kind: str, path: Path | str) -> pa.Table:
    missing = [name for name in REQUIRED[kind] if name not in table.column_names]
    if missing:
        raise TableSchemaError(path, f"missing required column(s) {missing} for a {kind} table")
    arrays = []
    for f in schema:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, type=f.type))
            continue
        column = table.column(f.name)
        if column.type == f.type:
            arrays.append(column)
            continue
        try:
            arrays.append(column.cast(f.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            row = _first_bad_row(column.to_pylist(), f.type)
            raise TableSchemaError(
                path, f"expected {f.type}, found {column.type}: {exc}", row=row, field=f.name
            ) from None
    return pa.Table.from_arrays(arrays, schema=schema)


def _validate(table: pa.Table, kind: str, path: Path | str) -> pa.Table:
    for name in REQUIRED[kind]:
        column = table.column(name)
        if column.null_count:
            row = column.is_null().to_pylist().index(True)
            raise TableSchemaError(path, "required value is missing (null)", row=row, field=name)
    ids = table.column("id").to_pylist()
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for row, value in enumerate(ids):
            if value in seen:
                raise TableSchemaError(path, f"duplicate id {value!r}", row=row, field="id")
            seen.add(value)
    return table


def _schema(kind: str) -> pa.Schema:
    if kind not in SCHEMAS:
        raise TableSchemaError("<schema>", f"unknown table kind {kind!r}; known: {sorted(SCHEMAS)}")
    return SCHEMAS[kind]


def read_table(path: Path | str, kind: str) -> pa.Table:
    """Read and validate a table file of ``kind`` (``captions``, ``videos``, ``labels``, ``manifest``).

    Raises:
        TableSchemaError: the file is missing or invalid, or its stage was interrupted: committed parts
            lie beside it (``<table>.parts/``) that only a rerun of the stage merges into it.
    """
    path = Path(path)
    parts = PartWriter(path, kind).part_files() if kind in SCHEMAS else []
    if parts:
        step = RESUME_STEP.get(kind, "rerun the command that writes it to finish it")
        raise TableSchemaError(
            path,
            f"{kind} table is unfinished: {len(parts)} committed part(s) of an interrupted run in "
            f"{parts[0].parent.name}/ are not merged into it yet; {step} (it resumes where it stopped)",
        )
    return _read_file(path, kind)


def _read_file(path: Path, kind: str) -> pa.Table:
    if not path.exists():
        hint = f"; {NEXT_STEP[kind]}" if kind in NEXT_STEP else ""
        raise TableSchemaError(path, f"{kind} table not found{hint}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TableSchemaError(path, f"not a readable parquet file: {exc}") from None
    return to_arrow(table, kind, path)


def carried_category(caption: Mapping[str, Any], taxonomy: Taxonomy) -> str | None:
    """The taxonomy id of the category a ``captions`` row carries, or None (no category, or an unknown one)."""
    value = caption.get("category")
    if not value:
        return None
    category = taxonomy.match(value)
    return category.id if category is not None else None


def read_records(path: Path | str, kind: str) -> list[dict[str, Any]]:
    """Read a table as a list of dicts (validated)."""
    return read_table(path, kind).to_pylist()


def write_table(rows: Any, path: Path | str, kind: str) -> pa.Table:
    """Validate ``rows`` against ``kind`` and write them atomically to ``path``."""
    table = to_arrow(rows, kind, path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return table


class PartWriter:
    """Append-in-parts for resumable stages.

    Each :meth:`append` commits a small parquet part atomically under ``<table>.parts/``; a crash
    loses at most the items not yet appended. :meth:`compact` merges the main table and the parts
    (later records win per id) into the main table, then removes the parts.
    """

    def __init__(self, table_path: Path | str, kind: str):
        self.table_path = Path(table_path)
        self.kind = kind
        self.parts_dir = self.table_path.with_name(self.table_path.stem + ".parts")

    def part_files(self) -> list[Path]:
        if not self.parts_dir.exists():
            return []
        return sorted(p for p in self.parts_dir.glob("part-*.parquet") if not p.name.startswith("."))

    def append(self, rows: Iterable[Mapping[str, Any]] | pa.Table, tag: Mapping[str, str] | None = None) -> int:
        """Commit ``rows`` as one part; ``tag`` (e.g. the run and settings that made them) is stored with it."""
        table = to_arrow(rows, self.kind, self.parts_dir)
        if table.num_rows == 0:
            return 0
        if tag:
            table = table.replace_schema_metadata({PART_TAG_KEY: json.dumps(dict(tag), sort_keys=True)})
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        name = f"part-{len(self.part_files()):06d}-{uuid.uuid4().hex[:8]}.parquet"
        with atomic_path(self.parts_dir / name) as tmp:
            pq.write_table(table, tmp)
        return table.num_rows

    def tagged_ids(self, tag: Mapping[str, str]) -> set[str]:
        """Ids of the parts not compacted yet whose tag equals ``tag`` (what an interrupted run committed)."""
        wanted = json.dumps(dict(tag), sort_keys=True)
        ids: set[str] = set()
        for part in self.part_files():
            try:
                metadata = pq.read_schema(part).metadata or {}
                if metadata.get(PART_TAG_KEY.encode()) == wanted.encode():
                    ids.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
            except (pa.ArrowInvalid, OSError):
                continue  # foreign damage, as in read_all
        return ids

    def read_all(self) -> pa.Table:
        """The main table plus all parts, deduplicated by id (the latest record wins)."""
        tables = []
        if self.table_path.exists():
            tables.append(_read_file(self.table_path, self.kind))
        for part in self.part_files():
            try:
                tables.append(_read_file(part, self.kind))
            except TableSchemaError:
                # A part is renamed into place only when complete, so an unreadable one is foreign
                # damage; skip it rather than lose the whole table.
                continue
        if not tables:
            return _schema(self.kind).empty_table()
        merged = pa.concat_tables(tables)
        return _dedupe_latest(merged)

    def done_ids(self) -> set[str]:
        return set(self.read_all().column("id").to_pylist())

    def compact(self) -> pa.Table:
        table = self.read_all()
        parts = self.part_files()
        with atomic_path(self.table_path) as tmp:
            pq.write_table(table, tmp)
        for part in parts:
            part.unlink(missing_ok=True)
        if self.parts_dir.exists() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()
        return table


def _dedupe_latest(table: pa.Table) -> pa.Table:
    ids = table.column("id").to_pylist()
    last: dict[str, int] = {}
    for i, value in enumerate(ids):
        last.pop(value, None)
        last[value] = i
    keep = sorted(last.values())
    return table.take(pa.array(keep, type=pa.int64()))


def table_path(root: Path | str, kind: str) -> Path:
    """The canonical location of a table inside a dataset root."""
    return Path(root) / TABLE_FILES[kind]
