"""Progress without a terminal: a plain line every few seconds, counting items, not batches."""

from __future__ import annotations

import pytest

import svta.progress as progress_module
from svta.progress import format_seconds, plain_line, progress


@pytest.fixture
def loud(monkeypatch):
    monkeypatch.setattr(progress_module, "_quiet", False)
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL", 0.0)  # a line after every element


def test_plain_lines_count_items(loud, capsys):
    batches = [[1, 2, 3], [4, 5, 6], [7, 8]]  # 8 items in 3 batches: lines at 3 and 6, then the summary
    assert list(progress(batches, "encoding videos", total=8, count=len)) == batches
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("encoding videos: 3/8 (38%)") and lines[1].startswith("encoding videos: 6/8 (75%)")
    assert "ETA" in lines[0] and len(lines) == 3 and lines[-1].startswith("encoding videos: 8 done in 0:00:0")


def test_quiet_prints_nothing(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "_quiet", True)
    assert list(progress(range(3), "x")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_line_formats():
    assert format_seconds(3725.4) == "1:02:05"
    assert plain_line("rendering", 40, 200, 10.0) == "rendering: 40/200 (20%) 0:00:10 elapsed, ETA 0:00:40"
    assert plain_line("rendering", 4, None, 2.0) == "rendering: 4 done, 0:00:02 elapsed"


def test_verbose_is_a_global_option():
    from svta.cli.main import main
    from svta.progress import is_verbose, set_verbose

    try:
        assert main(["-v", "list"]) == 0 and is_verbose()
        assert main(["list"]) == 0 and not is_verbose()
        assert main(["list", "--verbose"]) == 0 and is_verbose()  # after the command too
    finally:
        set_verbose(False)
