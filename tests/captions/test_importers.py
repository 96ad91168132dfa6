from __future__ import annotations

import json

import pytest

from svta.captions.importers import detect_format, import_captions
from svta.datasets.ucf import ucf_class
from svta.errors import InputError
from svta.tables import read_records


def _rows(root):
    return {r["source_ref"]: r for r in read_records(root / "captions.parquet", "captions")}


def test_generic_csv_with_mapping_and_skipped_rows(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "vid,text,label,tags\n"
        "v1,A man throws a stone at a car.,throw,stone;car\n"
        'v2,"A woman\nslips on ice.",falls,\n'
        "v3,,fighting,\n"
        f"v4,{'x' * 100_000},fighting,\n"
        "v5,Bad \x07 bell,fighting,\n"
        "v6,A dog chases a ball.,frolicking,\n",
        encoding="utf-8",
    )
    mapping = {"caption": "text", "source_ref": "vid", "category": "label"}
    with pytest.raises(InputError, match=r"mine\.csv: 3 bad row\(s\): line 5 \(v3\): caption field 'text': empty"):
        import_captions(tmp_path / "root", path, mapping=mapping)  # the default policy: fail, write nothing
    assert not (tmp_path / "root" / "captions.parquet").exists()
    result = import_captions(tmp_path / "root", path, mapping=mapping, bad_rows="skip")
    assert result.read == 6 and result.added == 3 and result.source == "mine" and result.format == "csv"
    assert [(s["where"], s["reason"].split()[3]) for s in result.skipped] == [
        ("line 5 (v3)", "empty"),
        ("line 6 (v4)", "too_long"),
        ("line 7 (v5)", "control_chars"),
    ]
    rows = _rows(tmp_path / "root")
    assert rows["v1"]["category"] == "throwing_objects" and rows["v1"]["tags"] == ["stone", "car"]
    assert rows["v2"]["caption"] == "A woman slips on ice." and rows["v2"]["category"] == "falls"
    assert rows["v6"]["category"] is None and rows["v6"]["tags"] == ["frolicking"]  # unknown label kept as a tag
    again = import_captions(tmp_path / "root", path, mapping=mapping, bad_rows="skip")
    assert again.added == 0 and len(_rows(tmp_path / "root")) == 3


def test_jsonl_errors_name_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"caption": "A man runs fast.", "id": "a"}\n\n{"caption": "oops"\n')
    with pytest.raises(InputError, match=r"c\.jsonl:3: invalid JSON"):
        import_captions(tmp_path / "root", path)
    assert not (tmp_path / "root" / "captions.parquet").exists()  # all or nothing
    path.write_text('{"words": "A man runs fast."}\n')
    with pytest.raises(InputError, match=r"c\.jsonl:1: no caption column"):
        import_captions(tmp_path / "root", path)
    ok = import_captions(tmp_path / "root", path, mapping={"caption": "words"}, category="running")
    assert (
        ok.added == 1 and read_records(tmp_path / "root" / "captions.parquet", "captions")[0]["category"] == "running"
    )
    with pytest.raises(InputError, match=r"mapped column 'nope'"):
        import_captions(tmp_path / "root", path, mapping={"caption": "nope"})


def test_csv_errors(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("caption,id\nA fine caption here,1\nA second, with extra,2\n")
    with pytest.raises(InputError, match=r"bad\.csv:3: more fields"):
        import_captions(tmp_path / "root", path)
    latin1 = tmp_path / "latin.csv"
    latin1.write_bytes("caption\nline one ok\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv:3: not UTF-8"):
        import_captions(tmp_path / "root", latin1)
    with pytest.raises(InputError, match="file not found"):
        import_captions(tmp_path / "root", tmp_path / "missing.csv")


def test_msrvtt(tmp_path):
    path = tmp_path / "MSRVTT_data.json"
    data = {
        "videos": [{"video_id": "video0", "category": 9}],
        "sentences": [
            {"caption": "a man is driving a car", "video_id": "video0", "sen_id": 0},
            {"caption": "a car drives down a road", "video_id": "video0", "sen_id": 1},
        ],
    }
    path.write_text(json.dumps(data, indent=1))
    assert detect_format(path) == "msrvtt"
    result = import_captions(tmp_path / "root", path)
    assert result.source == "msrvtt" and result.added == 2
    assert set(_rows(tmp_path / "root")) == {"video0#0", "video0#1"}
    data["sentences"].append({"caption": "no video id", "sen_id": 2})
    path.write_text(json.dumps(data, indent=1))
    with pytest.raises(InputError, match=r"MSRVTT_data\.json:\d+: sentence #2 needs"):
        import_captions(tmp_path / "root", path)
    path.write_text('{"videos": [],\n "sentences": [\n}')
    with pytest.raises(InputError, match=r"MSRVTT_data\.json:3: invalid JSON"):
        import_captions(tmp_path / "root", path)


def test_uca(tmp_path):
    path = tmp_path / "UCFCrime_Train.json"
    data = {
        "Abuse037_x264": {
            "duration": 80.1,
            "timestamps": [[0.0, 5.2], [5.2, 9.9]],
            "sentences": ["A man in black hits a dog.", "The dog runs away."],
        },
        "Normal_Videos_003_x264": {"duration": 20.0, "timestamps": [[1.0, 3.0]], "sentences": ["A woman walks."]},
        "RoadAccidents012_x264": {"duration": 9.0, "timestamps": [[0, 4]], "sentences": ["Two cars collide."]},
    }
    path.write_text(json.dumps(data, indent=2))
    assert detect_format(path) == "uca"
    import_captions(tmp_path / "root", path)
    rows = _rows(tmp_path / "root")
    assert rows["Abuse037_x264#0@0.0-5.2"]["category"] == "abuse" and rows["Abuse037_x264#1@5.2-9.9"]["tags"] == [
        "Abuse"
    ]
    assert rows["Normal_Videos_003_x264#0@1.0-3.0"]["category"] is None
    assert rows["RoadAccidents012_x264#0@0-4"]["category"] == "road_accident"
    data["Abuse037_x264"]["timestamps"].pop()
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(InputError, match=r"UCFCrime_Train\.json:2: video 'Abuse037_x264' has 1 timestamps"):
        import_captions(tmp_path / "root", path)


def test_ucfcrime_ar_xlsx_and_csv(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Video Name", "Chinese Text", "English Text"])
    sheet.append(["Abuse/Abuse028_x264.mp4\n", "一个男人打了一只狗", "A man hits a dog in a yard.\n"])
    sheet.append(["Normal_Videos_event/Normal_Videos_015_x264.mp4", "一个女人走路", "A woman walks on the road."])
    sheet.append(["Shoplifting/Shoplifting001_x264.mp4", "空", None])
    path = tmp_path / "ucf_crime_test.xlsx"
    book.save(path)
    result = import_captions(tmp_path / "root", path, bad_rows="skip")
    assert result.format == "ucfcrime-ar" and result.added == 2
    assert result.skipped == [
        {
            "where": "row 4 (Shoplifting/Shoplifting001_x264.mp4)",
            "reason": "empty or unusable 'English Text' caption (empty)",
        }
    ]
    rows = _rows(tmp_path / "root")
    abuse = rows["Abuse/Abuse028_x264.mp4"]
    assert (
        abuse["caption"] == "A man hits a dog in a yard."
        and abuse["category"] == "abuse"
        and abuse["source"] == "ucfcrime-ar"
    )
    assert rows["Normal_Videos_event/Normal_Videos_015_x264.mp4"]["category"] is None
    zh = import_captions(tmp_path / "zh", path, language="zh")
    assert zh.added == 3
    csv_path = tmp_path / "ucf.csv"
    csv_path.write_text("Video Name,English Text\nArson/Arson011_x264.mp4,A man sets a car on fire.\n")
    assert detect_format(csv_path) == "ucfcrime-ar"
    import_captions(tmp_path / "csv", csv_path)
    assert _rows(tmp_path / "csv")["Arson/Arson011_x264.mp4"]["category"] == "arson"
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"broken\.xlsx: not a readable \.xlsx"):
        import_captions(tmp_path / "root", broken)


def test_ucf_class_names():
    assert ucf_class("Abuse/Abuse028_x264.mp4") == "Abuse"
    assert ucf_class("RoadAccidents012_x264") == "RoadAccidents"
    assert ucf_class("Normal_Videos_003_x264") == "Normal"
    assert ucf_class("Normal_Videos_event/Normal_Videos_015_x264.mp4") == "Normal"
