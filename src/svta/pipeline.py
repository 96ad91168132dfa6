"""Run the SVTA construction and evaluation stages in order from one config.

Each stage is resumable on its own (items already done are skipped); on top of that the pipeline
records finished stages in ``<root>/pipeline_state.json`` so a rerun goes straight to the first
unfinished one. A stage whose config section changed since it finished runs again; a stage whose items
partly failed is kept but not recorded as finished (:attr:`PipelineResult.incomplete`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svta.config import SvtaConfig, save_resolved
from svta.errors import ConfigError
from svta.progress import info
from svta.tables import atomic_write_json

STATE_FILE = "pipeline_state.json"
STAGE_ORDER = ("captions", "videos", "annotate", "build", "train", "eval")


@dataclass
class PipelineResult:
    """What a pipeline run did: per stage, whether it ran or was already done, and its summary."""

    root: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    incomplete: dict[str, str] = field(default_factory=dict)  # stage -> what fell short (not recorded as done)


def _section_hash(config: SvtaConfig, stage: str) -> str:
    sections = {
        "captions": ["captions", "seed", "taxonomy"],
        "videos": ["videos", "engine"],
        "annotate": ["annotate", "taxonomy"],
        "build": ["build", "seed", "taxonomy"],
        "train": ["train", "models"],
        "eval": ["eval", "models"],
    }[stage]
    data = config.model_dump(mode="json")
    blob = json.dumps({k: data.get(k) for k in sections}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def load_state(root: Path) -> dict[str, Any]:
    path = root / STATE_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # an unreadable state only costs a re-check of each stage (they resume per item)


def _run_captions(config: SvtaConfig) -> dict[str, Any]:
    from svta.captions.generate import generate_captions

    result = generate_captions(config.root, config.captions, config.seed, taxonomy=config.taxonomy)
    return _summary(result)


def _run_videos(config: SvtaConfig) -> dict[str, Any]:
    from svta.videos.generate import generate_videos

    result = generate_videos(config.root, config.videos, config.engine, taxonomy=config.taxonomy)
    return _summary(result)


def _run_annotate(config: SvtaConfig) -> dict[str, Any]:
    from svta.annotate.classify import classify_captions
    from svta.annotate.cluster import cluster_tags

    labelled = classify_captions(config.root, config.annotate, taxonomy=config.taxonomy, all_captions=True)
    clusters = cluster_tags(config.root, config.annotate, taxonomy=config.taxonomy)
    return {"classify": _summary(labelled), "cluster": _summary(clusters)}


def _run_build(config: SvtaConfig) -> dict[str, Any]:
    from svta.build.manifest import build_dataset
    from svta.build.stats import dataset_stats

    built = build_dataset(config.root, config.build, config.seed, taxonomy=config.taxonomy)
    stats = dataset_stats(config.root, config.build)
    return {"build": _summary(built), "stats": _summary(stats)}


def trained_models(config: SvtaConfig) -> list[str]:
    return list(config.models) or [config.train.model]


def run_name(config: SvtaConfig, model: str) -> str:
    from svta.retrieval.config import default_run_name

    return default_run_name(model, config.train.backbone)


def run_dir(config: SvtaConfig, model: str) -> Path:
    """``<root>/runs/<model>-<backbone>``: where the train stage puts ``model``'s run."""
    return Path(config.root) / "runs" / run_name(config, model)


def read_run_metrics(config: SvtaConfig, model: str) -> dict[str, Any]:
    """The ``metrics.json`` of ``model``'s finished run (ConfigError when it has not finished)."""
    from svta.eval.stage import read_run_metrics as read_metrics

    return read_metrics(run_dir(config, model))


def _run_train(config: SvtaConfig) -> dict[str, Any]:
    from svta.retrieval.results import METRICS_FILE
    from svta.retrieval.trainer import CHECKPOINT_DIR, LATEST_POINTER, train

    out = {}
    for model in trained_models(config):
        directory = run_dir(config, model)
        if (directory / METRICS_FILE).exists():
            out[directory.name] = read_run_metrics(config, model)
            continue
        train_config = config.train.model_copy(update={"model": model})
        resume = (directory / CHECKPOINT_DIR / LATEST_POINTER).exists()  # a killed run continues exactly
        # analysis=False: the eval stage writes each run's analysis/ (seeded by the pipeline's config)
        out[directory.name] = train(config.root, train_config, run_dir=directory, resume=resume, analysis=False).metrics
    return out


def _run_eval(config: SvtaConfig) -> dict[str, Any]:
    from svta.eval.stage import evaluate_runs

    runs = {model: run_dir(config, model) for model in trained_models(config)}
    return evaluate_runs(config.root, runs, config.eval, seed=config.seed)


STAGES: dict[str, Callable[[SvtaConfig], dict[str, Any]]] = {
    "captions": _run_captions,
    "videos": _run_videos,
    "annotate": _run_annotate,
    "build": _run_build,
    "train": _run_train,
    "eval": _run_eval,
}


# Stage registry names checked before anything is written: (section, key, registry kind).
REGISTERED_NAMES = {
    "captions": (("captions", "backend", "caption_backend"),),
    "videos": (("videos", "backend", "video_backend"),),
    "annotate": (("annotate", "classifier", "category_classifier"), ("annotate", "embedder", "text_embedder")),
}


def check_inputs(config: SvtaConfig, stages: list[str]) -> None:
    """Fail in one line, before the root is touched, on a stage name or backend name that does not exist."""
    from svta.registry import registry

    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; known: {list(STAGE_ORDER)}")
    for stage in stages:
        for section, key, kind in REGISTERED_NAMES.get(stage, ()):
            name = getattr(getattr(config, section), key)
            known = registry(kind).names()
            if name not in known:
                raise ConfigError(f"{section}.{key}: unknown {kind} {name!r}; known: {', '.join(known)}")
    if config.engine.name == "ray" and "videos" in stages:
        from svta.preflight import require_ray_head

        require_ray_head(config.engine.ray_address)  # seconds, before svta.yaml or any folder is written
    if "train" in stages:
        known = registry("retrieval_model").names()
        for model in trained_models(config):
            if model not in known:
                raise ConfigError(f"models: unknown retrieval_model {model!r}; known: {', '.join(known)}")


def shortfall(stage: str, summary: dict[str, Any]) -> str | None:
    """What a stage's summary says fell short (failed items, categories short), or None."""
    if stage == "captions" and summary.get("complete") is False:
        return f"{summary.get('total')}/{summary.get('target')} captions"
    if stage == "videos" and summary.get("failed"):
        return f"{len(summary['failed'])} clip(s) failed"
    if stage == "annotate" and (summary.get("classify") or {}).get("failed"):
        return f"{len(summary['classify']['failed'])} caption(s) not classified"
    return None


def _summary(result: Any) -> dict[str, Any]:
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if hasattr(result, "__dataclass_fields__"):
        from dataclasses import asdict

        return json.loads(json.dumps(asdict(result), default=str))
    return {"result": str(result)}


def run_pipeline(
    config: SvtaConfig,
    *,
    stages: list[str] | None = None,
    force: bool = False,
    on_stage: Callable[[str, dict[str, Any]], None] | None = None,
) -> PipelineResult:
    """Run ``stages`` (default: ``config.stages``) in pipeline order, skipping finished ones.

    Args:
        config: the resolved config; ``config.root`` is the dataset root.
        stages: a subset of :data:`STAGE_ORDER`.
        force: run every selected stage even when it is recorded as finished.
        on_stage: called after each stage with its name and summary (the demo prints from it).
    """
    wanted = stages or config.stages
    check_inputs(config, list(wanted))
    root = Path(config.root)
    root.mkdir(parents=True, exist_ok=True)
    save_resolved(config, root)
    state = load_state(root)
    result = PipelineResult(root=root)
    upstream_ran = False  # once a stage runs again, every later stage must see its new output
    for stage in [s for s in STAGE_ORDER if s in wanted]:
        digest = _section_hash(config, stage)
        record = state.get(stage, {})
        if not force and not upstream_ran and record.get("done") and record.get("config") == digest:
            result.skipped.append(stage)
            result.summaries[stage] = record.get("summary", {})
            info(f"[{stage}] already done; skipping")
            continue
        info(f"[{stage}] running")
        started = time.perf_counter()
        summary = STAGES[stage](config)
        seconds = time.perf_counter() - started
        short = shortfall(stage, summary)
        if short is not None:  # kept, but not recorded as done, so a rerun retries what is missing
            result.incomplete[stage] = short
        state[stage] = {
            "done": short is None,
            "config": digest,
            "seconds": round(seconds, 2),
            "summary": summary,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_json(root / STATE_FILE, state)
        result.ran.append(stage)
        upstream_ran = True
        result.summaries[stage] = summary
        result.seconds[stage] = seconds
        if on_stage:
            on_stage(stage, summary)
    return result
