"""The Python API: stage packages export their functions and config classes, stage functions take config
fields as keyword arguments, and the README's Python API script runs as printed."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from svta.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"

STAGE_API = {
    "svta.captions": ("generate_captions", "import_captions", "filter_captions", "CaptionsConfig"),
    "svta.videos": ("generate_videos", "check_videos", "VideosConfig"),
    "svta.annotate": ("classify_captions", "cluster_tags", "AnnotateConfig"),
    "svta.build": ("build_dataset", "dataset_stats", "verify_dataset", "BuildConfig"),
    "svta.retrieval": ("train", "evaluate_run", "TrainConfig"),
    "svta.eval": ("evaluate", "evaluate_runs", "results_table", "EvalConfig"),
    "svta.search": ("build_index", "serve", "SearchConfig"),
}


@pytest.mark.parametrize("package, names", STAGE_API.items())
def test_stage_packages_export_functions_and_configs(package, names):
    module = importlib.import_module(package)
    for name in names:
        assert name in dir(module) and name in module.__all__, name
        assert callable(getattr(module, name))


def test_stage_functions_take_config_fields_as_keywords(tmp_path):
    from svta.captions import CaptionsConfig, generate_captions

    result = generate_captions(tmp_path, per_category=2, categories=["fighting", "walking"])
    assert result.to_dict()["total"] == 4
    more = generate_captions(tmp_path, CaptionsConfig(categories=["fighting", "walking"]), per_category=3)
    assert more.to_dict()["total"] == 6  # the keyword overrides the object's field, resuming the first run
    with pytest.raises(ConfigError, match="generate_captions: per_category"):
        generate_captions(tmp_path, per_category=-1)
    with pytest.raises(TypeError):
        generate_captions(tmp_path, no_such_field=1)


def test_readme_python_api_script_runs_and_prints_the_table(tmp_path, monkeypatch, capsys):
    text = README.read_text(encoding="utf-8")
    script = re.search(r"<!-- python-api-example -->\n```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "README.md (Python API)", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    assert out.startswith("| Method | T2V R@1 |") and "| CLIP4Clip-MeanP (tiny) |" in out
    assert (tmp_path / "api-demo" / "runs" / "results.md").exists()
