"""The stages of svta, declared once: name (= folder = config section = CLI group), config class, command
group, pipeline step, the tables each reads and writes, and a version.

The config, the CLI, the pipeline, the plug-in loader, ``svta doctor`` and the README's stage table all
read :data:`STAGES`. Everything is named by ``"module:attr"`` strings and imported on first use, so this
spine module imports no stage. Adding a stage is its folder plus one entry here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["STAGES", "Stage", "load", "pipeline_stages", "stage", "summary_of"]


@dataclass(frozen=True)
class Stage:
    """One stage of the construction/evaluation chain.

    Attributes:
        name: the command group, the config section and (but for ``train``) the folder.
        folder: the package that holds the stage's code.
        config: ``"module:Class"`` of its config section.
        cli: ``"module:app"`` of its typer command group.
        step: ``"module"`` with ``run(config) -> summary`` and ``shortfall(summary) -> str | None`` for the
            pipeline; ``None`` for a stage the pipeline does not run.
        keys: root config keys besides its own section that its result depends on (a change reruns it).
        checked_names: ``(dotted config key, registry kind)`` pairs checked before the pipeline writes.
        plugins: modules whose import registers the stage's built-in plug-ins.
        extras: pip extras the stage's embedded or real backends use.
        reads / writes: root-relative tables and folders it reads and writes.
        version: bumped when a stage's outputs change meaning; a pipeline record of another version
            is redone.
    """

    name: str
    folder: str
    config: str
    cli: str
    step: str | None
    keys: tuple[str, ...] = ()
    checked_names: tuple[tuple[str, str], ...] = ()
    plugins: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    version: int = 1


STAGES: tuple[Stage, ...] = (
    Stage(
        "captions",
        "svta/captions/",
        "svta.captions.config:CaptionsConfig",
        "svta.cli.captions:app",
        "svta.captions.step",
        keys=("seed", "taxonomy"),
        checked_names=(("captions.backend", "caption_backend"),),
        plugins=("svta.captions.generate",),
        extras=("llm", "embed"),
        writes=("captions.parquet",),
    ),
    Stage(
        "videos",
        "svta/videos/",
        "svta.videos.config:VideosConfig",
        "svta.cli.videos:app",
        "svta.videos.step",
        keys=("engine",),
        checked_names=(("videos.backend", "video_backend"),),
        plugins=("svta.videos.builtin_backends",),
        extras=("gen", "ray"),
        reads=("captions.parquet",),
        writes=("videos/", "videos.parquet"),
    ),
    Stage(
        "annotate",
        "svta/annotate/",
        "svta.annotate.config:AnnotateConfig",
        "svta.cli.annotate:app",
        "svta.annotate.step",
        keys=("taxonomy",),
        checked_names=(("annotate.classifier", "category_classifier"), ("annotate.embedder", "text_embedder")),
        plugins=("svta.embed", "svta.annotate.classifiers"),
        extras=("embed", "llm"),
        reads=("captions.parquet",),
        writes=("labels.parquet", "clusters/"),
    ),
    Stage(
        "build",
        "svta/build/",
        "svta.build.config:BuildConfig",
        "svta.cli.build:app",
        "svta.build.step",
        keys=("seed", "taxonomy"),
        plugins=("svta.build.formats", "svta.release.hf"),
        extras=("plot", "io", "release"),
        reads=("captions.parquet", "videos.parquet", "labels.parquet"),
        writes=("manifest.parquet", "stats/"),
    ),
    Stage(
        "train",
        "svta/retrieval/",
        "svta.retrieval.config:TrainConfig",
        "svta.cli.train:app",
        "svta.retrieval.step",
        keys=("models",),
        plugins=("svta.retrieval.factory",),
        extras=("retrieval",),
        reads=("manifest.parquet", "videos/"),
        writes=("runs/<name>/",),
    ),
    Stage(
        "eval",
        "svta/eval/",
        "svta.eval.config:EvalConfig",
        "svta.cli.evaluate:app",
        "svta.eval.step",
        keys=("models",),
        plugins=("svta.eval.rerank",),
        extras=("retrieval", "plot"),
        reads=("manifest.parquet", "runs/<name>/"),
        writes=("runs/<name>/metrics.json", "runs/<name>/analysis/"),
    ),
    Stage(
        "search",
        "svta/search/",
        "svta.search.config:SearchConfig",
        "svta.cli.search:app",
        None,
        keys=("engine",),
        plugins=("svta.search.encoders",),
        extras=("search",),
        reads=("videos/", "runs/<name>/"),
        writes=("<index>/",),
    ),
)


def stage(name: str) -> Stage:
    """The declaration of stage ``name`` (KeyError naming the known ones otherwise)."""
    for declared in STAGES:
        if declared.name == name:
            return declared
    raise KeyError(f"unknown stage {name!r}; known: {', '.join(s.name for s in STAGES)}")


def pipeline_stages() -> tuple[str, ...]:
    """The stages ``svta pipeline run`` can run, in order."""
    return tuple(s.name for s in STAGES if s.step is not None)


def load(reference: str) -> Any:
    """Import ``"module:attr"`` (or a bare ``"module"``)."""
    module, _, attr = reference.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


def summary_of(result: Any) -> dict[str, Any]:
    """A stage function's result as the JSON-ready summary the pipeline records."""
    if hasattr(result, "to_dict"):
        return dict(result.to_dict())
    if hasattr(result, "__dataclass_fields__"):
        import json
        from dataclasses import asdict

        return dict(json.loads(json.dumps(asdict(result), default=str)))
    return {"result": str(result)}


def stage_table() -> str:
    """The README's stage table (Markdown), generated from :data:`STAGES` so the two cannot drift apart."""
    lines = [
        "| stage = command = config section | folder | pipeline step | reads | writes |",
        "|---|---|---|---|---|",
    ]
    for declared in STAGES:
        step = f"`{declared.step}`" if declared.step else "— (run on its own)"
        reads = ", ".join(f"`{item}`" for item in declared.reads) or "—"
        writes = ", ".join(f"`{item}`" for item in declared.writes)
        lines.append(f"| `svta {declared.name}` | `{declared.folder}` | {step} | {reads} | {writes} |")
    return "\n".join(lines)
