"""benchmarks/scale.py: the scaled SVTA config is right, and the measuring code (tree RSS, exponents) works."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scale():
    spec = importlib.util.spec_from_file_location("scale_benchmark", REPO / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["scale_benchmark"] = module
    spec.loader.exec_module(module)
    return module


def _groups(counts: dict[str, int]) -> tuple[int, int]:
    from svta.taxonomy import default_taxonomy

    taxonomy = default_taxonomy()
    anomaly = {c.id for c in taxonomy.anomaly()}
    return sum(v for k, v in counts.items() if k in anomaly), sum(v for k, v in counts.items() if k not in anomaly)


def test_the_scale_config_has_svta_size_and_shape():
    from svta.captions.base import allocate_counts
    from svta.config import load_config
    from svta.taxonomy import default_taxonomy

    config = load_config(REPO / "configs" / "svta-scale.yaml")
    counts = allocate_counts(list(default_taxonomy()), config.captions, config.seed)
    assert len(counts) == 98 and min(counts.values()) > 0
    assert sum(counts.values()) == 41_315 and _groups(counts) == (25_170, 16_145)
    ordered = sorted(counts.values(), reverse=True)
    assert ordered[0] > 10 * ordered[-1]  # a long tail, not a flat allocation
    videos = config.videos
    assert (videos.backend, videos.width, videos.height, videos.frames, videos.fps) == ("procedural", 96, 96, 16, 8.0)
    assert config.annotate.classifier == "minilm-head" and config.build.split == (0.7, 0.1, 0.2)
    assert config.models == ["clip4clip-meanp", "clip4clip-seqtransf"] and config.train.backbone == "tiny"
    assert config.train.frame_cache and 1 <= config.train.epochs <= 5
    assert "eval" in config.stages and config.annotate.cluster.k_min is None  # k around the taxonomy size
    assert (config.engine.name, config.engine.workers) == ("local", 2)  # rendering on both cores


def test_the_index_stage_runs_on_one_worker(scale, tmp_path):
    command = scale.stage_command("index", tmp_path / "c.yaml", tmp_path, "clip4clip-seqtransf", "tiny")
    assert command[-2:] == ["--workers", "1"]  # the config's two engine workers are the renderer's


@pytest.mark.parametrize("n", [200, 400, 1000])
def test_scaled_configs_keep_the_totals_and_ratio(scale, n, tmp_path):
    from svta.config import SvtaConfig

    base = yaml.safe_load((REPO / "configs" / "svta-scale.yaml").read_text())
    config = scale.scaled_config(base, n, tmp_path / "root", epochs=1)
    counts = config["captions"]["counts"]
    anomaly, normal = _groups(counts)
    assert sum(counts.values()) == n and min(counts.values()) >= 1 and len(counts) == 98
    assert abs(anomaly / n - 25_170 / 41_315) < 0.05
    validated = SvtaConfig.model_validate(config)
    assert validated.root == tmp_path / "root" and validated.train.epochs == 1
    assert scale.scaled_counts(base["captions"]["counts"], 41_315) == base["captions"]["counts"]


def test_growth_exponent(scale):
    sizes = [200, 400, 1600]
    assert scale.growth_exponent(sizes, [3 * n**1.5 for n in sizes]) == pytest.approx(1.5)
    assert scale.growth_exponent(sizes, [7.0] * 3) == pytest.approx(0.0)
    assert scale.growth_exponent([200], [1.0]) is None
    assert scale.growth_exponent([200, 400], [0.0, 1.0]) is None  # a zero has no logarithm


def test_peak_rss_counts_the_whole_process_tree(scale):
    # the parent stays small; a grandchild holds ~160 MiB until the test has seen a sample taken after it said
    # "ready" (then the test closes its stdin), so only a sampler that adds up descendants can report it
    child = (
        "import sys; block = bytearray(160 * 2**20); block[::4096] = b'x' * len(block[::4096]); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    process = subprocess.Popen([sys.executable, "-c", parent], text=True, **pipes)
    with scale.PeakSampler(process.pid, interval=0.05) as sampler:
        assert process.stdout.readline() == "ready\n"  # returns once the grandchild holds its memory
        assert sampler.wait_for_sample(timeout=120), "the sampler thread stopped sampling"
        process.stdin.close()
        assert process.wait() == 0
    assert sampler.peak >= 150 * 2**20
    assert scale.tree_rss(2**22 + 12345) == 0  # no such process


def test_run_measured_reports_the_exit_code_and_the_last_error_line(scale):
    command = [sys.executable, "-c", "import sys; print('first', file=sys.stderr); sys.exit('last words')"]
    seconds, peak, returncode, error = scale.run_measured(command, interval=0.05)
    assert returncode == 1 and error == "last words" and seconds > 0 and peak >= 0


def test_a_ci_sized_run_measures_every_size(scale, tmp_path, capsys):
    code = scale.main(
        [
            "--sizes",
            "200,400",
            "--stages",
            "captions",
            "--workdir",
            str(tmp_path / "w"),
            "--out",
            str(tmp_path / "out" / "scale"),
        ]
    )
    assert code == 0
    payload = json.loads((tmp_path / "out" / "scale.json").read_text())
    assert [(r["stage"], r["n"], r["returncode"]) for r in payload["stages"]] == [
        ("captions", 200, 0),
        ("captions", 400, 0),
    ]
    assert all(r["seconds"] > 0 and r["peak_rss"] > 20 * 2**20 and r["disk"] > 0 for r in payload["stages"])
    assert payload["exponents"]["captions"]["time"] is not None
    from svta.tables import read_records, table_path

    for n in (200, 400):
        rows = read_records(table_path(tmp_path / "w" / f"n{n}", "captions"), "captions")
        assert len(rows) == n
    table = (tmp_path / "out" / "scale.md").read_text()
    assert "| captions |" in table and "N=400" in table


def test_an_earlier_run_merges_into_the_table_and_exponents(scale, tmp_path):
    earlier = tmp_path / "earlier.json"
    rows = [
        {"stage": "captions", "n": 200, "seconds": 99.0, "peak_rss": 1, "disk": 1, "returncode": 0, "error": ""},
        {"stage": "captions", "n": 4000, "seconds": 20.0, "peak_rss": 2**28, "disk": 1, "returncode": 0, "error": ""},
        {"stage": "videos", "n": 4000, "seconds": 20.0, "peak_rss": 2**28, "disk": 1, "returncode": 0, "error": ""},
    ]
    earlier.write_text(json.dumps({"stages": rows}))
    out = tmp_path / "out" / "scale"
    argv = ["--sizes", "200", "--stages", "captions", "--workdir", str(tmp_path / "w"), "--out", str(out)]
    assert scale.main([*argv, "--merge", str(earlier)]) == 0
    payload = json.loads(out.with_suffix(".json").read_text())
    # N=200 ran now (the earlier 200 is dropped), N=4,000 came from the file, videos was not asked for
    assert [(r["stage"], r["n"]) for r in payload["stages"]] == [("captions", 200), ("captions", 4000)]
    assert payload["stages"][0]["seconds"] != 99.0
    assert payload["exponents"]["captions"]["time"] is not None
    assert "N=4,000" in out.with_suffix(".md").read_text()


def test_a_failing_stage_stops_that_size_and_exits_3(scale, tmp_path):
    # build before anything exists: the stage fails, the script reports it and exits 3
    code = scale.main(["--sizes", "200", "--stages", "build,train", "--workdir", str(tmp_path)])
    assert code == 3


def test_the_script_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--stages", "nosuch"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "stages must be among" in result.stderr
