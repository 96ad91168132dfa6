"""The typed configuration of a whole svta run: one section per stage, loaded from YAML,
overridable with ``section.key=value`` strings, and saved resolved as ``<root>/svta.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from svta._configbase import StrictModel
from svta.annotate.config import AnnotateConfig
from svta.build.config import BuildConfig
from svta.captions.config import CaptionsConfig
from svta.errors import ConfigError
from svta.eval.config import EvalConfig
from svta.retrieval.config import TrainConfig
from svta.search.config import SearchConfig
from svta.videos.config import VideosConfig

RESOLVED_CONFIG_NAME = "svta.yaml"


class EngineConfig(StrictModel):
    """Where item-parallel work runs: in-process (``local``) or on a Ray cluster (``ray``)."""

    name: Literal["local", "ray"] = "local"
    workers: int = 1
    ray_address: str | None = None  # None: start a local Ray; "auto": join a running cluster
    num_gpus_per_worker: float = 0.0


class SvtaConfig(StrictModel):
    """Everything a pipeline run needs; each stage reads its own section."""

    root: Path = Path("svta-data")
    seed: int = 0
    taxonomy: Path | None = None  # None: the shipped 68 + 30 category taxonomy
    stages: list[str] = Field(default_factory=lambda: ["captions", "videos", "annotate", "build", "train", "eval"])
    models: list[str] = Field(default_factory=list)  # models the train stage trains; empty: [train.model]
    engine: EngineConfig = Field(default_factory=EngineConfig)
    captions: CaptionsConfig = Field(default_factory=CaptionsConfig)
    videos: VideosConfig = Field(default_factory=VideosConfig)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
    build: BuildConfig = Field(default_factory=BuildConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value")
    key, raw = item.split("=", 1)
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return keys, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set ``a.b.c=value`` overrides (values parsed as YAML scalars/lists) into ``data``."""
    for item in overrides:
        keys, value = _parse_override(item)
        node = data
        for k in keys[:-1]:
            child = node.get(k)
            if child is None:
                child = node[k] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {k!r} is not a section")
            node = child
        node[keys[-1]] = value
    return data


def load_config(path: Path | str | None = None, overrides: list[str] | None = None, **fields: Any) -> SvtaConfig:
    """Load a YAML config (or the defaults), apply overrides, validate.

    Raises:
        ConfigError: naming the file and the offending key when anything is invalid.
    """
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.exists():
            raise ConfigError(f"{path}: config file not found")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = loaded or {}
    data.update({k: v for k, v in fields.items() if v is not None})
    apply_overrides(data, overrides or [])
    try:
        return SvtaConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: {where}: {first['msg']} ({exc.error_count()} error(s))") from None


def config_to_yaml(config: SvtaConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def save_resolved(config: SvtaConfig, root: Path | str | None = None) -> Path:
    """Write the resolved config to ``<root>/svta.yaml`` atomically (provenance of a run)."""
    from svta.tables import atomic_write_text

    path = Path(root if root is not None else config.root) / RESOLVED_CONFIG_NAME
    atomic_write_text(path, config_to_yaml(config))
    return path
