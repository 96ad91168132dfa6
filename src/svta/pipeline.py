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
from svta.retrieval.step import read_run_metrics, run_dir, run_name, trained_models
from svta.stages import load, pipeline_stages, stage
from svta.tables import atomic_write_json

STATE_FILE = "pipeline_state.json"
STAGE_ORDER = pipeline_stages()

__all__ = [
    "STAGE_ORDER",
    "PipelineResult",
    "read_run_metrics",
    "run_dir",
    "run_name",
    "run_pipeline",
    "shortfall",
    "trained_models",
]


@dataclass
class PipelineResult:
    """What a pipeline run did: per stage, whether it ran or was already done, and its summary."""

    root: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    incomplete: dict[str, str] = field(default_factory=dict)  # stage -> what fell short (not recorded as done)


def _section_hash(config: SvtaConfig, name: str) -> str:
    """A digest of what stage ``name``'s result depends on: its section, the root keys it declares, its version."""
    declared = stage(name)
    data = config.model_dump(mode="json")
    blob = json.dumps({k: data.get(k) for k in (name, *declared.keys)}, sort_keys=True)
    if declared.version != 1:  # version 1 keeps the digests recorded before stages carried a version
        blob += f"|v{declared.version}"
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def load_state(root: Path) -> dict[str, Any]:
    path = root / STATE_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # an unreadable state only costs a re-check of each stage (they resume per item)


def _step(name: str) -> Any:
    return load(stage(name).step or "")


def check_inputs(config: SvtaConfig, stages: list[str]) -> None:
    """Fail in one line, before the root is touched, on a stage name or backend name that does not exist."""
    from svta.registry import registry

    unknown = [s for s in stages if s not in STAGE_ORDER]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; known: {list(STAGE_ORDER)}")
    for name in stages:
        for dotted, kind in stage(name).checked_names:
            section, key = dotted.split(".")
            value = getattr(getattr(config, section), key)
            known = registry(kind).names()
            if value not in known:
                raise ConfigError(f"{dotted}: unknown {kind} {value!r}; known: {', '.join(known)}")
    if config.engine.name == "ray" and "videos" in stages:
        from svta.preflight import require_ray_head

        require_ray_head(config.engine.ray_address)  # seconds, before svta.yaml or any folder is written
    if "train" in stages:
        known = registry("retrieval_model").names()
        for model in trained_models(config):
            if model not in known:
                raise ConfigError(f"models: unknown retrieval_model {model!r}; known: {', '.join(known)}")


def shortfall(name: str, summary: dict[str, Any]) -> str | None:
    """What stage ``name``'s summary says fell short (failed items, categories short), or None."""
    result: str | None = _step(name).shortfall(summary)
    return result


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
    for name in [s for s in STAGE_ORDER if s in wanted]:
        digest = _section_hash(config, name)
        record = state.get(name, {})
        if not force and not upstream_ran and record.get("done") and record.get("config") == digest:
            result.skipped.append(name)
            result.summaries[name] = record.get("summary", {})
            info(f"[{name}] already done; skipping")
            continue
        info(f"[{name}] running")
        started = time.perf_counter()
        summary = _step(name).run(config)
        seconds = time.perf_counter() - started
        short = shortfall(name, summary)
        if short is not None:  # kept, but not recorded as done, so a rerun retries what is missing
            result.incomplete[name] = short
        state[name] = {
            "done": short is None,
            "config": digest,
            "seconds": round(seconds, 2),
            "summary": summary,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_json(root / STATE_FILE, state)
        result.ran.append(name)
        upstream_ran = True
        result.summaries[name] = summary
        result.seconds[name] = seconds
        if on_stage:
            on_stage(name, summary)
    return result
