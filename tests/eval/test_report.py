"""Reports: the seed's table layout in Markdown/LaTeX/CSV, the per-category chart, the qualitative figure."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from svta.errors import InputError
from svta.eval.breakdown import per_category
from svta.eval.figures import CORRECT, WRONG, plot_per_category, qualitative_figure
from svta.eval.metrics import evaluate_similarity
from svta.eval.report import results_table, write_table

RUN_A = {
    "t2v": {"R1": 54.0, "R5": 81.7, "R10": 88.9, "MdR": 1.0, "MnR": 8.8},
    "v2t": {"R1": 55.8, "R5": 82.5, "R10": 89.4, "MdR": 1.0, "MnR": 7.9},
}
RUN_B = {
    "t2v": {"R1": 57.3, "R5": 82.0, "R10": 88.7, "MdR": 1.0, "MnR": 130.5},
    "v2t": {"R1": 56.5, "R5": 81.6, "R10": 88.3, "MdR": 1.0, "MnR": 137.9},
}


def test_markdown_layout():
    text = results_table({"CLIP4Clip-MeanP": RUN_A, "GRAM": RUN_B}, "markdown", bold_best=True)
    lines = text.strip().splitlines()
    assert lines[0] == ("| Method | T2V R@1 | R@5 | R@10 | MdR | MnR | V2T R@1 | R@5 | R@10 | MdR | MnR |")
    assert lines[2].startswith("| CLIP4Clip-MeanP | 54.0 | 81.7 | **88.9** | **1.0** | **8.8** |")
    assert lines[3].startswith("| GRAM | **57.3** | **82.0** | 88.7 | **1.0** | 130.5 |")


def test_latex_layout_and_escaping():
    text = results_table({"X_CLIP & co": RUN_A}, "latex", decimals=2)
    assert r"\multicolumn{5}{c}{Text-to-Video} & \multicolumn{5}{c}{Video-to-Text}" in text
    assert r"X\_CLIP \& co & 54.00 & 81.70 & 88.90 & 1.00 & 8.80 & 55.80" in text
    assert text.count(r"\\") == 3 and text.strip().endswith(r"\end{tabular}")


def test_csv_full_precision_from_results(tmp_path):
    rng = np.random.default_rng(0)
    result = evaluate_similarity(rng.normal(size=(7, 7)))
    path = write_table({"run": result, "seed": RUN_A}, tmp_path / "t.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows[0]["t2v_MnR"] == repr(result.t2v.MnR) and rows[1]["v2t_R10"] == "89.4"
    assert list(rows[0])[:3] == ["method", "t2v_R1", "t2v_R5"]
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temp file


def test_table_errors(tmp_path):
    with pytest.raises(InputError, match="t2v lacks R5, R10, MdR, MnR"):
        results_table({"bad": {"t2v": {"R1": 1}, "v2t": RUN_A["v2t"]}})
    with pytest.raises(InputError, match="suffix"):
        write_table({"a": RUN_A}, tmp_path / "t.txt")
    with pytest.raises(InputError, match="format"):
        results_table({"a": RUN_A}, "html")


def test_json_round_trip_renders():
    result = evaluate_similarity(np.eye(4))
    assert "100.0" in results_table({"x": json.loads(result.to_json())})


def test_per_category_bar_chart(tmp_path):
    rng = np.random.default_rng(1)
    result = evaluate_similarity(rng.normal(size=(12, 12)) + np.eye(12))
    table = per_category(result, np.array(["a", "b", "c"] * 4))
    path = plot_per_category(table, tmp_path / "cats.png", metric="R5")
    image = Image.open(path)
    assert image.format == "PNG" and image.size[0] > 100


def test_qualitative_figure_borders(tmp_path):
    S = np.array([[0.9, 0.1, 0.2], [0.8, 0.3, 0.1], [0.1, 0.2, 0.7]])
    result = evaluate_similarity(S, keep_topk=3)
    shades = {0: 40, 1: 120, 2: 200}

    def frames(video):
        return np.full((5, 20, 30, 3), shades[video], dtype=np.uint8)

    path = qualitative_figure(
        result,
        [0, 1],
        ["a man falls", "two men fight", "x"],
        frames,
        tmp_path / "q.png",
        categories=["fall", "fight", "walk"],
        frame_height=20,
        border=3,
        n_frames=2,
    )
    image = np.asarray(Image.open(path).convert("RGB"))
    colors = {tuple(int(c) for c in px) for px in image.reshape(-1, 3)}
    assert CORRECT in colors and WRONG in colors  # query 0 hits at #1; query 1 misses at #1
    with pytest.raises(InputError, match="keep_topk"):
        qualitative_figure(evaluate_similarity(S), [0], ["a"] * 3, frames, tmp_path / "r.png")
    with pytest.raises(InputError, match="uint8"):
        qualitative_figure(result, [0], ["a"] * 3, lambda v: np.zeros((2, 4, 4, 3)), tmp_path / "s.png")


def _metrics(r1: float, n_videos: int = 20, model: str = "clip4clip-meanp", backbone: str = "tiny") -> dict:
    side = {"R1": r1, "R5": r1 + 10, "R10": r1 + 20, "MdR": 3.0, "MnR": 5.25}
    return {"t2v": dict(side), "v2t": dict(side), "model": model, "backbone": backbone, "n_videos": n_videos}


def test_method_names_chance_row_and_bold_best_in_one_decimal():
    from svta.eval.report import CHANCE, chance_metrics, method_name

    assert (
        method_name("clip4clip-meanp") == "CLIP4Clip-MeanP" and method_name("xclip", "ViT-B-16") == "X-CLIP (ViT-B/16)"
    )
    assert (
        method_name("gram", "ViT-B-32") == "GRAM"
        and method_name("clip4clip-seqtransf", "tiny") == "CLIP4Clip-seqTransf (tiny)"
    )
    chance = chance_metrics(20)
    assert chance["t2v"]["R1"] == 5.0 and chance["v2t"]["R10"] == 50.0 and chance["t2v"]["MdR"] == 10.5
    rows = {"A": _metrics(10.04), "B": _metrics(12.0), CHANCE: chance}
    table = results_table(rows, "markdown", bold_best=True)
    a_row, b_row, chance_row = table.splitlines()[2:]
    assert "| **12.0** |" in b_row and "10.0" in a_row and "**" not in chance_row and "**5.0**" not in table
    assert "**3.0**" in a_row and "**3.0**" in b_row  # equal when printed: both bold
    latex = results_table(rows, "latex", bold_best=True)
    assert r"\textbf{12.0}" in latex and r"\toprule" in latex and r"\bottomrule" in latex


def test_results_table_accepts_an_eval_report():
    from svta.retrieval.evaluate import EvalReport

    report = EvalReport(_metrics(7.0), "test", 20, 20)
    assert "| run | 7.0 | 17.0 | 27.0 | 3.0 | 5.2 |" in results_table({"run": report})


def test_svta_report_gathers_runs_by_pattern(tmp_path, capsys):
    import json

    from svta.cli.main import main

    for name, r1, model in (("a", 11.0, "clip4clip-meanp"), ("b", 13.5, "xclip"), ("c", 9.0, "clip4clip-meanp")):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "metrics.json").write_text(json.dumps(_metrics(r1, model=model)))
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "runs" / "*"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| X-CLIP (tiny) | **13.5** |" in printed and "| CLIP4Clip-MeanP (tiny) [c] | 9.0 |" in printed
    assert "| chance | 5.0 | 25.0 | 50.0 | 10.5 | 10.5 |" in printed
    assert {p.name for p in out.iterdir()} == {"results.md", "results.tex", "results.csv"}
    assert "X-CLIP (tiny)" in (out / "results.csv").read_text()
    assert main(["report", str(tmp_path / "nothing-*"), "--out", str(out)]) == 2
    assert "matches no run" in capsys.readouterr().err
