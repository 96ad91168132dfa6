"""Pins the bytes every dataset format writes (exports) and the tables every import writes, so that
moving formats between modules or registries cannot change an output unnoticed."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile

import pandas as pd
import pytest

from svta.build.formats import export_dataset, import_dataset
from svta.tables import read_records, table_path

# Computed with the formats as they were before the two registries were merged (same inputs, same bytes).
EXPECTED = {
    "export msrvtt": "0b562df85d19d3d6a41abe9512fc9cd462ba0bbdc4702db839e4776ffa24f3a8",
    "export webdataset": "1c2bc7ba52f17ae6be9ec57e49e0331aac11acb8547e0e99888548d9074c2c7f",
    "import msrvtt": "60491e473db0da5d72ea9678ac889872008d9ecf67ba766bd7dd58afc9224f97",
    "import svta-release": "5c4e6393047d7a0bc3f1e254bbbffdf94155baefaa34f2bf01471396d30d4e32",
    "import ucfcrime-ar": "0a9aa4747f1df36be0a75e5fd21013d7f08673e2cd68ea1c3154cfb16a1b72c2",
}


def _content(path) -> bytes:
    """A file's bytes, except the encoder's: an mp4 by its name, a tar by its members (mp4 members by name)."""
    if path.suffix == ".mp4":
        return path.name.encode()
    if path.suffix == ".tar":
        with tarfile.open(path) as tar:
            return json.dumps(
                [(m.name, m.size if not m.name.endswith(".mp4") else 0, m.mtime, m.mode) for m in tar.getmembers()]
                + [tar.extractfile(m).read().decode() for m in tar.getmembers() if not m.name.endswith(".mp4")]
            ).encode()
    return path.read_bytes()


def _digest_files(folder, skip=("README.txt",)) -> str:
    """sha256 over every file's relative path and content (the video encoder's bytes left out: they are
    the input's, copied, and differ between codec builds)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name in skip:
            continue
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(_content(path))
    return digest.hexdigest()


def _digest_tables(root) -> str:
    """sha256 over the rows of every table an import writes (paths are relative to the root; the clips'
    sha256 left out, as it depends on the codec build that encoded the test clips)."""
    digest = hashlib.sha256()
    for kind in ("captions", "labels", "videos", "manifest"):
        if table_path(root, kind).exists():
            rows = [{k: v for k, v in r.items() if k != "sha256"} for r in read_records(table_path(root, kind), kind)]
            digest.update(json.dumps([kind, rows], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _release_source(tmp_path, video_bank):
    src = tmp_path / "release"
    (src / "clips").mkdir(parents=True)
    for i in range(4):
        shutil.copyfile(video_bank[i], src / "clips" / f"clip{i}.mp4")
    rows = [{"file": f"clip{i}", "text": f"caption {i}", "label": "Walk", "subset": "test"} for i in range(4)]
    pd.DataFrame(rows).to_csv(src / "a.csv", index=False)
    return src, {"videos_dir": "clips", "video_column": "file", "caption_column": "text", "category_column": "label"}


def _ucf_source(tmp_path, video_bank):
    src = tmp_path / "ucf"
    names = ["Abuse/Abuse028_x264.mp4", "Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4"]
    for i, name in enumerate(names):
        (src / "videos" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(video_bank[i], src / "videos" / name)
    frame = {"Video Name": names, "Chinese Text": ["中文"] * 2, "English Text": ["A man hits a dog.", "People walk."]}
    pd.DataFrame(frame).to_excel(src / "ucf_crime_test.xlsx", index=False)
    return src


@pytest.mark.parametrize("fmt", ["msrvtt", "webdataset"])
def test_export_bytes_are_pinned(built_root, tmp_path, fmt):
    export_dataset(built_root, fmt, tmp_path / "out", {"link": "copy"} if fmt == "msrvtt" else {})
    assert _digest_files(tmp_path / "out") == EXPECTED[f"export {fmt}"]


def test_import_tables_are_pinned(built_root, tmp_path, video_bank):
    export_dataset(built_root, "msrvtt", tmp_path / "msrvtt", {"link": "copy"})
    import_dataset("msrvtt", tmp_path / "msrvtt", tmp_path / "a")
    src, options = _release_source(tmp_path, video_bank)
    import_dataset("svta-release", src, tmp_path / "b", {**options, "unknown_kind": "normal"})
    import_dataset("ucfcrime-ar", _ucf_source(tmp_path, video_bank), tmp_path / "c")
    got = {
        "import msrvtt": _digest_tables(tmp_path / "a"),
        "import svta-release": _digest_tables(tmp_path / "b"),
        "import ucfcrime-ar": _digest_tables(tmp_path / "c"),
    }
    assert got == {k: v for k, v in EXPECTED.items() if k.startswith("import")}
