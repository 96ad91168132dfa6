from __future__ import annotations

import json
import subprocess
import sys

from svta.cli.main import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "taxonomy" in out and "list" in out


def test_taxonomy_json(capsys):
    assert main(["taxonomy", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["anomaly"] == 68 and data["normal"] == 30
    assert len(data["categories"]) == 98


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "minilm" in data["text_embedder"]


def test_error_is_one_line_exit_2(capsys, tmp_path):
    bad = tmp_path / "tax.yaml"
    bad.write_text("categories: [{id: x}]\n")
    assert main(["taxonomy", "--file", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_import_is_cheap():
    """`import svta` and the CLI module must not pull in torch or other heavy libraries."""
    code = "import sys, svta.cli.main; print(sorted(m for m in ('torch','diffusers','ray','open_clip','sentence_transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
