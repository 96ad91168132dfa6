from __future__ import annotations

import pytest

from svta.errors import InputError
from svta.retrieval.analysis import pick_queries, write_analysis
from svta.retrieval.evaluate import EvalReport


def test_pick_queries_spreads_over_categories_and_is_seeded():
    categories = ["a"] * 10 + ["b"] * 3 + ["c"] * 2
    picked = pick_queries(categories, 3, seed=1)
    assert len(picked) == 3 and {categories[i] for i in picked} == {"a", "b", "c"}
    assert pick_queries(categories, 3, seed=1) == picked
    assert len(set(pick_queries(categories, 6, seed=2))) == 6  # more than the categories: repeats allowed


def test_write_analysis_needs_per_query_results(tmp_path):
    report = EvalReport({"t2v": {}, "v2t": {}}, "test", 0, 0)
    with pytest.raises(InputError, match="keep_topk"):
        write_analysis(report, tmp_path)


def test_train_and_eval_write_tables_and_analysis(tmp_path, capsys):
    """`svta train` leaves results.md/.tex/.csv and analysis/ in the run; `svta eval --run` writes the same
    under RUN/eval/SPLIT; --no-analysis skips the breakdowns and figures."""
    from retrievalkit import make_dataset, tiny_train_config

    from svta.cli.main import main
    from svta.retrieval.trainer import train

    make_dataset(tmp_path, {"train": 4, "val": 2, "test": 6}, frames=2, size=48)
    config = tiny_train_config()
    run = train(tmp_path, config).run_dir
    for name in (
        "results.md",
        "results.tex",
        "results.csv",
        "analysis/per_category.csv",
        "analysis/per_category_R5.png",
        "analysis/qualitative.png",
    ):
        assert (run / name).is_file(), name
    assert "CLIP4Clip-MeanP (tiny)" in (run / "results.tex").read_text()
    assert "chance" in (run / "results.csv").read_text()

    assert main(["eval", "--run", str(run), "--workers", "0", "--device", "cpu"]) == 0
    out = run / "eval" / "test"
    for name in ("metrics.json", "results.md", "results.tex", "results.csv", "analysis/head_tail.csv"):
        assert (out / name).is_file(), name
    assert "| CLIP4Clip-MeanP (tiny) |" in (out / "results.md").read_text()
    plain = tmp_path / "plain"
    assert (
        main(["eval", "--run", str(run), "--workers", "0", "--device", "cpu", "--no-analysis", "--out", str(plain)])
        == 0
    )
    assert (plain / "results.tex").is_file() and not (plain / "analysis").exists()
    capsys.readouterr()
