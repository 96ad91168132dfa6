"""The spine imports no stage: the shared modules every stage builds on (tables, taxonomy, registry, engine,
config, errors, progress, provenance, video I/O) reach no stage's code, and hold no model's numbers (OpenAI
CLIP's mean/std live with the models that were trained with them)."""

from __future__ import annotations

import re

from importkit import SRC, graph, under

from svta.stages import STAGES

SPINE = (
    "svta.stages",
    "svta.tables",
    "svta.taxonomy",
    "svta.registry",
    "svta.engine",
    "svta.config",
    "svta.errors",
    "svta.progress",
    "svta.provenance",
    "svta.video_io",
)
# every stage's folder, and the stage-side packages outside the declared chain
STAGE_PACKAGES = tuple(s.folder.strip("/").replace("/", ".") for s in STAGES) + ("svta.transfer", "svta.release")


def test_the_spine_imports_no_stage():
    """At run time: the root config names each stage's section class for type checkers only (the classes are
    loaded from :data:`svta.stages.STAGES` strings)."""
    bad = [
        f"{module} imports {target}"
        for module, found in graph(typing=False).items()
        if under(module, *SPINE)
        for target, _ in found
        if under(target, *STAGE_PACKAGES, "svta.cli", "svta.pipeline")
    ]
    assert not bad, bad


def test_the_stage_packages_are_the_declared_folders():
    assert {"svta.captions", "svta.retrieval", "svta.eval", "svta.search"} <= set(STAGE_PACKAGES)
    assert all((SRC.parent / p.replace(".", "/")).is_dir() for p in STAGE_PACKAGES)


def test_no_global_clip_normalisation_outside_the_models():
    """One home for OpenAI CLIP's mean/std: :mod:`svta.retrieval.preprocess`, read through a model's transform."""
    home = SRC / "retrieval" / "preprocess.py"
    pattern = re.compile(r"CLIP_MEAN|CLIP_STD|0\.48145466|0\.26862954")
    bad = [str(p.relative_to(SRC)) for p in sorted(SRC.rglob("*.py")) if p != home and pattern.search(p.read_text())]
    assert not bad, bad
