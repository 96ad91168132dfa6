"""``svta demo``: the whole SVTA chain on embedded defaults, on a laptop CPU, in minutes.

Template captions over all 98 categories → procedural videos → classification (heads on MiniLM embeddings) and a K-Means
report → a 7:1:2 dataset with statistics → tiny CLIP4Clip models (MeanP and seqTransf) trained from
scratch → the seed-style T2V/V2T table on the test split, next to the chance level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svta.config import SvtaConfig, apply_overrides
from svta.pipeline import STAGE_ORDER, PipelineResult, read_run_metrics, run_dir, run_pipeline, trained_models

DEMO_MODELS = ["clip4clip-meanp", "clip4clip-seqtransf"]
DEFAULT_SIZE = 4  # captions (and clips) per category: 98 x 4 = 392 clips


def demo_config(out: Path | str, size: int = DEFAULT_SIZE, overrides: list[str] | None = None) -> SvtaConfig:
    """The demo's config: every stage on its embedded default, sized for 2 CPU cores.

    ``configs/demo.yaml`` holds the same values for ``svta pipeline run``.
    """
    from svta.retrieval.config import TrainConfig

    train = TrainConfig.preset("cpu-demo").model_dump(mode="json")
    data = {
        "root": str(out),
        "seed": 0,
        "models": list(DEMO_MODELS),
        "captions": {"backend": "template", "per_category": size},
        # small clips keep rendering, decoding and the tiny model fast; the content stays learnable
        "videos": {"backend": "procedural", "frames": 16, "fps": 8.0, "width": 96, "height": 96},
        "annotate": {"classifier": "minilm-head"},
        "train": train,
    }
    return SvtaConfig.model_validate(apply_overrides(data, overrides or []))


@dataclass
class DemoResult:
    root: Path
    pipeline: PipelineResult
    runs: dict[str, dict[str, Any]]
    n_test: int
    chance_r5: float
    run_dirs: dict[str, Path] = field(default_factory=dict)  # model -> its run folder

    @property
    def best_t2v_r5(self) -> float:
        return max(float(m["t2v"]["R5"]) for m in self.runs.values())

    def stage_seconds(self) -> list[tuple[str, float | None]]:
        """``(stage, seconds)`` in pipeline order, as measured in this run; ``None``: already done, not run."""
        return [(stage, self.pipeline.seconds.get(stage)) for stage in STAGE_ORDER]

    def next_steps(self) -> list[tuple[str, str]]:
        """``(what, command)`` to run next on this demo's root and runs, with the real paths (shell-quoted)."""
        from shlex import quote

        root = quote(str(self.root))
        best = max(self.runs, key=lambda model: float(self.runs[model]["t2v"]["R5"]))
        run = quote(str(self.run_dirs.get(best, self.root / "runs" / best)))
        index = quote(str(self.root / "index"))
        return [
            ("search the clips by text", f"svta search index --root {root} --run {run} --out {index}"),
            ("", f"svta search serve --index {index}"),
            ("evaluate on another split", f"svta eval --run {run} --split val"),
            ("one table of every run", f"svta report {quote(str(self.root / 'runs' / '*'))} --out {root}/report"),
        ]


def run_demo(
    out: Path | str = "svta-demo",
    size: int = DEFAULT_SIZE,
    overrides: list[str] | None = None,
    config: SvtaConfig | None = None,
) -> DemoResult:
    """Run (or resume) the demo under ``out`` and return its test-split results."""
    config = config or demo_config(out, size, overrides)
    result = run_pipeline(config)
    runs = {model: read_run_metrics(config, model) for model in trained_models(config)}
    n_test = _n_test(Path(config.root))
    chance = 100.0 * min(5, n_test) / max(n_test, 1)
    dirs = {model: run_dir(config, model) for model in runs}
    return DemoResult(
        root=Path(config.root), pipeline=result, runs=runs, n_test=n_test, chance_r5=chance, run_dirs=dirs
    )


def _n_test(root: Path) -> int:
    from svta.tables import read_table, table_path

    manifest = read_table(table_path(root, "manifest"), "manifest")
    return sum(1 for split in manifest.column("split").to_pylist() if split == "test")


__all__ = ["DEMO_MODELS", "DemoResult", "demo_config", "run_demo"]
