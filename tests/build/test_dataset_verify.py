from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from svta.build.verify import verify_dataset
from svta.errors import InputError
from svta.tables import table_path


def kinds(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for problem in report.problems:
        out.setdefault(problem.kind, []).append(problem)
    return out


def test_clean_root_verifies(built_root):
    report = verify_dataset(built_root, workers=2)  # the process pool path
    assert report.ok, [str(p) for p in report.problems]
    assert report.n_videos == 34 and report.n_rows == 68  # manifest + videos rows


def test_catches_corrupt_missing_and_orphan_videos(built_root):
    corrupt = built_root / "videos" / "fighting-3.mp4"
    data = corrupt.read_bytes()
    corrupt.write_bytes(data[: len(data) // 3])  # truncated
    (built_root / "videos" / "walking-2.mp4").unlink()
    flipped = built_root / "videos" / "explosion-1.mp4"
    flipped.write_bytes(flipped.read_bytes() + b"\0")  # still decodes, wrong checksum
    (built_root / "videos" / "stray.mp4").write_bytes(data)
    report = verify_dataset(built_root)
    found = kinds(report)
    assert not report.ok
    assert [p.path for p in found["missing-file"]] == ["videos/walking-2.mp4"]
    assert "videos/fighting-3.mp4" in [p.path for p in found["undecodable"]]
    assert {p.path for p in found["checksum"]} >= {"videos/explosion-1.mp4", "videos/fighting-3.mp4"}
    assert [p.path for p in found["orphan"]] == ["videos/stray.mp4"]
    message = str(found["missing-file"][0])
    assert "manifest.parquet" in message and "walking-2" in message and "row" in message


def test_duplicate_ids_and_missing_values_name_rows(built_root):
    path = table_path(built_root, "manifest")
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows.append(dict(rows[0]))
    rows[1]["caption"] = None
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    found = kinds(verify_dataset(built_root, decode=False))
    assert [(p.row, p.id) for p in found["duplicate-id"]] == [(len(rows) - 1, rows[0]["id"])]
    assert "duplicate of row 0" in str(found["duplicate-id"][0])
    assert [(p.row, p.message) for p in found["missing-value"]] == [(1, "caption is missing")]


def test_empty_root_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="no manifest.parquet or videos.parquet to verify"):
        verify_dataset(tmp_path)


def test_a_root_without_tables_is_bad_input_not_a_failed_check(tmp_path, capsys):
    from svta.cli.main import main

    assert main(["build", "verify", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no manifest.parquet or videos.parquet to verify" in err[0]
