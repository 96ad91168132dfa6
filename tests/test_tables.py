from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from svta.errors import TableSchemaError
from svta.tables import PartWriter, atomic_path, read_records, read_table, stable_id, table_path, write_table


def _caption(i: int, **extra):
    row = {
        "id": f"c{i}",
        "caption": f"caption {i}",
        "category": "abuse",
        "tags": ["abuse"],
        "source": "template",
        "seed": 0,
    }
    row.update(extra)
    return row


def test_write_read_round_trip(tmp_path):
    path = table_path(tmp_path, "captions")
    write_table([_caption(0), _caption(1)], path, "captions")
    rows = read_records(path, "captions")
    assert [r["id"] for r in rows] == ["c0", "c1"]
    assert rows[0]["tags"] == ["abuse"] and rows[0]["source_ref"] is None


def test_missing_required_column_names_file(tmp_path):
    path = tmp_path / "captions.parquet"
    pq.write_table(pa.table({"id": ["a"], "source": ["x"]}), path)
    with pytest.raises(TableSchemaError, match=r"captions.parquet.*caption"):
        read_table(path, "captions")


def test_null_required_value_names_row_and_field(tmp_path):
    with pytest.raises(TableSchemaError, match=r"row 1, field 'caption'"):
        write_table([_caption(0), _caption(1, caption=None)], tmp_path / "c.parquet", "captions")


def test_wrong_type_names_row_and_field(tmp_path):
    with pytest.raises(TableSchemaError, match=r"row 2, field 'seed'"):
        write_table([_caption(0), _caption(1), _caption(2, seed="seven")], tmp_path / "c.parquet", "captions")


def test_duplicate_ids_rejected(tmp_path):
    with pytest.raises(TableSchemaError, match=r"duplicate id 'c0'"):
        write_table([_caption(0), _caption(0)], tmp_path / "c.parquet", "captions")


def test_unreadable_file(tmp_path):
    path = tmp_path / "videos.parquet"
    path.write_text("not parquet")
    with pytest.raises(TableSchemaError, match="not a readable parquet"):
        read_table(path, "videos")
    with pytest.raises(TableSchemaError, match="not found"):
        read_table(tmp_path / "missing.parquet", "videos")


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_survives_kill(tmp_path):
    """A process killed while writing leaves the previous table intact."""
    path = tmp_path / "captions.parquet"
    write_table([_caption(0)], path, "captions")
    script = textwrap.dedent(
        f"""
        import os, signal
        from svta.tables import atomic_path
        with atomic_path({str(path)!r}) as tmp:
            tmp.write_bytes(b"partial")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ})
    assert proc.returncode != 0
    assert [r["id"] for r in read_records(path, "captions")] == ["c0"]


def test_parts_resume_and_compact(tmp_path):
    path = table_path(tmp_path, "captions")
    writer = PartWriter(path, "captions")
    writer.append([_caption(0), _caption(1)])
    writer.append([_caption(1, caption="updated"), _caption(2)])
    assert writer.done_ids() == {"c0", "c1", "c2"}
    # a half-written (foreign) temp file in the parts dir is ignored
    (writer.parts_dir / ".part-x.parquet.tmp").write_bytes(b"junk")
    table = writer.compact()
    assert table.num_rows == 3
    rows = {r["id"]: r for r in read_records(path, "captions")}
    assert rows["c1"]["caption"] == "updated"
    assert writer.part_files() == []
    # a new writer on the same table resumes from the compacted state
    assert PartWriter(path, "captions").done_ids() == {"c0", "c1", "c2"}


def test_stable_id_is_deterministic():
    assert stable_id("a man falls", 0) == stable_id("a man falls", 0)
    assert stable_id("a man falls", 0) != stable_id("a man falls", 1)
    assert len(stable_id("x")) == 16


def test_a_table_with_parts_left_by_a_killed_run_says_how_to_finish(tmp_path):
    path = table_path(tmp_path, "videos")
    writer = PartWriter(path, "videos")
    row = {"id": "v0", "path": "videos/v0.mp4", "frames": 8, "fps": 8.0, "width": 64, "height": 64}
    writer.append([{**row, "sha256": "0" * 64, "backend": "procedural"}])
    with pytest.raises(TableSchemaError, match=r"videos table is unfinished: 1 committed part.*`svta videos generate`"):
        read_table(path, "videos")
    assert writer.read_all().num_rows == 1  # the stage itself still reads its parts
    writer.compact()
    assert read_table(path, "videos").num_rows == 1


def test_parts_remember_who_committed_them_until_compaction(tmp_path):
    writer = PartWriter(table_path(tmp_path, "captions"), "captions")
    writer.append([_caption(0), _caption(1)], tag={"run": "a", "settings": "x"})
    writer.append([_caption(2)], tag={"run": "b", "settings": "x"})
    writer.append([_caption(3)])
    assert writer.tagged_ids({"run": "a", "settings": "x"}) == {"c0", "c1"}
    assert writer.tagged_ids({"settings": "x", "run": "b"}) == {"c2"}
    compacted = writer.compact()
    assert compacted.num_rows == 4 and not compacted.schema.metadata  # the table itself carries no tag
    assert writer.tagged_ids({"run": "a", "settings": "x"}) == set()
