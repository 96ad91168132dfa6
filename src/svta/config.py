"""The typed configuration of a whole svta run, loaded from YAML, overridable with ``section.key=value``
strings (``--set``), and saved resolved as ``<root>/svta.yaml``.

Each stage declares its own section next to its code (``svta/<stage>/config.py``); this module only
knows where they live (:data:`SECTIONS`) and imports them when the root model is first built, so the
spine never imports a stage at import time.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml
from pydantic import Field, ValidationError, create_model, model_validator

from svta._configbase import StrictModel
from svta.engine import EngineConfig
from svta.errors import ConfigError
from svta.stages import STAGES, load, pipeline_stages

__all__ = ["SECTIONS", "EngineConfig", "SvtaConfig", "apply_overrides", "load_config", "save_resolved"]

RESOLVED_CONFIG_NAME = "svta.yaml"

# Section name -> "module:Class", in pipeline order, from the stage declarations (svta/stages.py).
SECTIONS: dict[str, str] = {declared.name: declared.config for declared in STAGES}

# Keys that moved; the old spelling is still read, with a deprecation line. old path -> new path.
MOVED_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("search", "engine"): ("engine", "name"),
    ("search", "workers"): ("engine", "workers"),
    ("search", "ray_address"): ("engine", "ray_address"),
}


class _RootBase(StrictModel):
    """The sections every run has besides the stages' own."""

    root: Path = Path("svta-data")
    seed: int = 0
    taxonomy: Path | None = None  # None: the shipped 68 + 30 category taxonomy
    stages: list[str] = Field(default_factory=lambda: list(pipeline_stages()))
    models: list[str] = Field(default_factory=list)  # models the train stage trains; empty: [train.model]
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            _move_deprecated(data)
        return data


def _move_deprecated(data: dict[str, Any]) -> None:
    from svta.progress import warn

    for (section, key), (new_section, new_key) in MOVED_KEYS.items():
        old = data.get(section)
        if isinstance(old, dict) and key in old:
            old = dict(old)
            value = old.pop(key)
            data[section] = old
            target = data.get(new_section)
            target = dict(target) if isinstance(target, dict) else {}
            target.setdefault(new_key, value)
            data[new_section] = target
            warn(f"config key {section}.{key} is deprecated; use {new_section}.{new_key}")


def section_class(name: str) -> type[StrictModel]:
    """The config class of section ``name`` (imports the stage's ``config`` module)."""
    cls = load(SECTIONS[name])
    if not (isinstance(cls, type) and issubclass(cls, StrictModel)):
        raise TypeError(f"section {name!r}: {SECTIONS[name]} is not a StrictModel")
    return cls


@lru_cache(maxsize=1)
def _root_model() -> type[SvtaConfig]:
    fields: dict[str, Any] = {}
    for name in SECTIONS:
        cls = section_class(name)
        fields[name] = (cls, Field(default_factory=cls))
    model: type[_RootBase] = create_model("SvtaConfig", __base__=_RootBase, __module__=__name__, **fields)
    model.__doc__ = "Everything a pipeline run needs; each stage reads its own section."
    return cast("type[SvtaConfig]", model)  # the stage sections are the ones SvtaConfig declares below


if TYPE_CHECKING:
    # What type checkers see: the root sections plus each stage's (SECTIONS, built by _root_model at run time,
    # where importing svta.config imports no stage). tests/test_config.py pins these to SECTIONS.
    from svta.annotate.config import AnnotateConfig
    from svta.build.config import BuildConfig
    from svta.captions.config import CaptionsConfig
    from svta.eval.config import EvalConfig
    from svta.retrieval.config import TrainConfig
    from svta.search.config import SearchConfig
    from svta.videos.config import VideosConfig

    class SvtaConfig(_RootBase):
        """Everything a pipeline run needs; each stage reads its own section."""

        captions: CaptionsConfig = Field(default_factory=CaptionsConfig)
        videos: VideosConfig = Field(default_factory=VideosConfig)
        annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
        build: BuildConfig = Field(default_factory=BuildConfig)
        train: TrainConfig = Field(default_factory=TrainConfig)
        eval: EvalConfig = Field(default_factory=EvalConfig)
        search: SearchConfig = Field(default_factory=SearchConfig)

else:

    def __getattr__(name: str) -> Any:
        if name == "SvtaConfig":  # built on first use, so importing svta.config imports no stage
            return _root_model()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "SvtaConfig"})


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r} must look like section.key=value")
    key, raw = item.split("=", 1)
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"--set {item!r} has an empty key")
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
                raise ConfigError(f"--set {item!r}: {k!r} is not a section")
            node = child
        node[keys[-1]] = value
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return loaded or {}


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at the parent of ``loc`` (for a did-you-mean hint)."""
    model: Any = _root_model()
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    return list(getattr(model, "model_fields", {}))


def describe_error(
    exc: ValidationError, source: str, overrides: list[str], labels: Mapping[str, str] | None = None
) -> str:
    """One line for the first validation error, blamed on the ``--set`` that caused it when one did.

    Pydantic's "Extra inputs are not permitted" reads "unknown key" (with the closest known key).
    """
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc)
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc), n=1)
        message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    for item in overrides:
        keys = [k for k in item.split("=", 1)[0].strip().split(".") if k]
        if tuple(str(p) for p in loc[: len(keys)]) == tuple(keys):
            source = (labels or {}).get(item, f"--set {item}")
    more = f" ({exc.error_count()} errors)" if exc.error_count() > 1 else ""
    return f"{source}: {where}: {message}{more}"


def load_config(
    path: Path | str | None = None,
    overrides: list[str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    **fields: Any,
) -> SvtaConfig:
    """Load a YAML config (or the defaults), apply ``--set`` overrides and keyword fields, validate.

    ``labels`` names where an override came from in error messages (default ``--set ITEM``), e.g. a
    command's option.

    Raises:
        ConfigError: naming the file (or the ``--set`` item) and the offending key when anything is invalid.
    """
    data = _read_yaml(Path(path)) if path is not None else {}
    source = str(path) if path is not None else "<defaults>"
    data.update({k: v for k, v in fields.items() if v is not None})
    apply_overrides(data, list(overrides or []))
    try:
        return _root_model().model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, source, list(overrides or []), labels)) from None


def config_to_yaml(config: StrictModel) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def save_resolved(config: _RootBase, root: Path | str | None = None) -> Path:
    """Write the resolved config to ``<root>/svta.yaml`` atomically (provenance of a run)."""
    from svta.tables import atomic_write_text

    path = Path(root if root is not None else config.root) / RESOLVED_CONFIG_NAME
    atomic_write_text(path, config_to_yaml(config))
    return path
