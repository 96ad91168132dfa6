from __future__ import annotations

import json

from annotatekit import write_captions

from svta.cli.main import main
from svta.tables import read_records, table_path


def test_annotate_commands(tmp_path, capsys, minilm_classifier):
    write_captions(
        tmp_path,
        [
            {"id": "a", "caption": "Two men punch each other in a bar.", "tags": ["fist fight", "brawl"]},
            {
                "id": "b",
                "caption": "A woman walks slowly along the sidewalk.",
                "category": "walking",
                "tags": ["walking", "stroll"],
            },
            {"id": "c", "caption": "A gas tank explodes.", "tags": ["explosion", "blast"]},
        ],
    )
    root = str(tmp_path)
    assert main(["annotate", "classify", "--root", root, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_labelled"] == 2 and result["method"] == "minilm-head"
    assert main(["annotate", "classify", "--root", root, "--all"]) == 0
    assert "agreement with the captions' categories: accuracy 1.000" in capsys.readouterr().out
    assert main(["annotate", "cluster", "--root", root, "--k", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["k"] == 3
    assert main(["annotate", "review-export", "--root", root]) == 0
    tasks = json.loads((tmp_path / "review" / "tasks.json").read_text())
    for task in tasks:
        task["annotations"] = [
            {"result": [{"type": "choices", "from_name": "category", "value": {"choices": ["fighting"]}}]}
        ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    capsys.readouterr()
    assert main(["annotate", "review-import", str(tmp_path / "export.json"), "--root", root]) == 0
    assert "imported 3 reviewed label(s)" in capsys.readouterr().out
    assert main(["annotate", "csv-export", "--root", root, "--include-reviewed", "--prefill"]) == 0
    assert main(["annotate", "csv-import", str(tmp_path / "review" / "review.csv"), "--root", root]) == 0
    labels = read_records(table_path(tmp_path, "labels"), "labels")
    assert {row["category"] for row in labels} == {"fighting"} and all(row["reviewed"] for row in labels)


def test_bad_classifier_is_one_line_exit_2(tmp_path, capsys):
    write_captions(tmp_path, [{"id": "a", "caption": "x"}])
    assert main(["annotate", "classify", "--root", str(tmp_path), "--classifier", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--classifier 'nope': unknown category_classifier" in err[0]
    assert main(["annotate", "cluster", "--root", str(tmp_path), "--source", "nonsense"]) == 2
    assert "annotate.cluster.source" in capsys.readouterr().err
