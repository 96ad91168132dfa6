from __future__ import annotations

import json

from svta.cli.main import main
from svta.tables import table_path


def test_build_stats_verify_export_import(dataset_root, tmp_path, capsys):
    root = str(dataset_root)
    assert main(["--root", root, "--set", "seed=5", "build", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["n_items"] == 34 and sum(built["splits"].values()) == 34
    assert main(["--set", "build.figures=false", "stats", "--root", root]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Dataset |") and "| 34 | 34 |" in out
    assert main(["verify", "--root", root, "--workers", "1"]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    out_dir = tmp_path / "msrvtt"
    assert main(["export", "msrvtt", str(out_dir), "--root", root, "-o", "link=copy"]) == 0
    assert (out_dir / "MSRVTT_data.json").exists() and "exported 34" in capsys.readouterr().out
    assert main(["import", "msrvtt", str(out_dir), "--root", str(tmp_path / "back"), "-o", "checksum=false"]) == 0
    assert table_path(tmp_path / "back", "manifest").exists()


def test_verify_failure_exits_nonzero_listing_problems(built_root, capsys):
    (built_root / "videos" / "walking-2.mp4").unlink()
    assert main(["verify", "--root", str(built_root), "--no-decode"]) == 1
    err = capsys.readouterr().err
    assert "[missing-file]" in err and "walking-2" in err and err.strip().endswith("1 problem(s) found")


def test_bad_option_is_one_line_exit_2(built_root, tmp_path, capsys):
    assert main(["export", "msrvtt", str(tmp_path / "o"), "--root", str(built_root), "--opt", "nonsense"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: --opt 'nonsense'")
    assert main(["export", "nope", str(tmp_path / "o"), "--root", str(built_root)]) == 2
    assert "unknown dataset format 'nope'" in capsys.readouterr().err
