from __future__ import annotations

import json

from svta.cli.main import main
from svta.tables import read_records


def test_generate_import_filter_from_the_command_line(tmp_path, capsys, hashing_embedder):
    root = tmp_path / "root"
    code = main(
        [
            "--root",
            str(root),
            "captions",
            "generate",
            "-n",
            "3",
            "--category",
            "abuse",
            "--category",
            "walking",
            "--seed",
            "5",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 6 and out["complete"] and out["backend"] == "template"
    assert (root / "svta.yaml").exists()
    assert {r["seed"] for r in read_records(root / "captions.parquet", "captions")} == {5}

    data = tmp_path / "mine.jsonl"
    data.write_text(
        '{"words": "A man juggles three knives on a crowded platform.", "vid": "v9", "label": "dangerous stunt"}\n'
    )
    code = main(
        [
            "captions",
            "import",
            str(data),
            "--root",
            str(root),
            "--map",
            "caption=words",
            "--map",
            "source_ref=vid",
            "--map",
            "category=label",
            "--json",
        ]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["added"] == 1
    rows = {r["source_ref"]: r for r in read_records(root / "captions.parquet", "captions")}
    assert rows["v9"]["category"] == "dangerous_stunt" and rows["v9"]["source"] == "mine"

    code = main(
        [
            "--root",
            str(root),
            "--set",
            "captions.filter.embedder=test-hash",
            "captions",
            "filter",
            "--block",
            "juggles",
            "--threshold",
            "0.99",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["removed"] == 1 and out["by_reason"] == {"blocked_term": 1} and out["kept"] == 6


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"caption": "fine caption here"}\nnot json\n')
    assert main(["captions", "import", str(bad), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "bad.jsonl:2" in err[0]
    assert main(["captions", "generate", "--root", str(tmp_path), "--category", "juggling"]) == 2
    assert "unknown category 'juggling'" in capsys.readouterr().err
    assert main(["captions", "import", str(bad), "--root", str(tmp_path), "--map", "caption"]) == 2
    assert "FIELD=COLUMN" in capsys.readouterr().err
    assert main(["captions", "filter", "--root", str(tmp_path / "empty")]) == 2
    assert "dataset root not found" in capsys.readouterr().err


def test_nothing_to_generate_is_refused_before_writing(tmp_path, capsys):
    from svta.cli.main import main

    root = tmp_path / "root"
    assert main(["captions", "generate", "--root", str(root), "-n", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing to generate" in err[0]
    assert not root.exists()
