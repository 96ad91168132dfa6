"""The evaluation layering, pinned: the ranking engine knows no models; models and data know no evaluation API;
:mod:`svta.eval.api` is the one place that joins a model and a dataset. Every import counts, the ones
inside functions too (svta imports heavy modules lazily, so that is where a cycle would hide)."""

from __future__ import annotations

import ast

from importkit import SRC, graph, imports, under

ENGINE = {
    f"svta.eval.{name}"
    for name in ("metrics", "streaming", "counting", "arrays", "layout", "rerank", "gram_compat", "report", "breakdown")
    + ("figures", "config", "features")
}
API = ("svta.eval.api", "svta.eval.stage", "svta.eval.step")
# The model-level evaluation core and the model loader: below the API, called by it (and by the trainer).
CORE_NAMES = {
    "evaluate_dataset",
    "evaluate_model",
    "evaluate_run",
    "evaluate_checkpoint",
    "evaluate_transfer",
    "load_eval_model",
    "load_model",
    "encode_set",
    "rank_features",
}
CORE_MODULES = ("svta.retrieval.evaluate", "svta.transfer.evaluate", "svta.retrieval.model_source")


def test_the_ranking_engine_imports_no_models_data_or_api():
    bad = [
        f"{module} imports {target}"
        for module, found in graph().items()
        if module in ENGINE
        for target, _ in found
        if under(target, "svta.retrieval", "svta.transfer", "svta.cli", *API)
    ]
    assert not bad, bad


def test_models_and_data_import_no_evaluation_api():
    bad = [
        f"{module} imports {target}"
        for module, found in graph().items()
        if under(module, "svta.retrieval", "svta.transfer", "svta.datasets")
        for target, _ in found
        if under(target, "svta.cli", "svta.pipeline", *API)
    ]
    assert not bad, bad


def test_only_the_api_joins_models_and_data():
    """Outside the model and data packages, the model-level core is reached through :func:`svta.eval.evaluate`
    alone: the stage, the pipeline and the CLI call the API."""
    bad = [
        f"{module} imports {target} {sorted(names & CORE_NAMES) or ''}"
        for module, found in graph().items()
        if not under(module, "svta.retrieval", "svta.transfer", "svta.eval.api")
        for target, names in found
        if target in CORE_MODULES and (not names or names & CORE_NAMES)
    ]
    assert not bad, bad


def test_feature_containers_sit_below_the_ranking_engine():
    """The engine (:mod:`svta.eval.streaming`) slices features through :mod:`svta.eval.features`; the containers
    know nothing of how blocks are scored or counted, and the engine defines no container helpers of its own."""
    engine = {"svta.eval.streaming", "svta.eval.counting", "svta.eval.gram_compat"}
    found = dict(graph())["svta.eval.features"]
    assert not [target for target, _ in found if target in engine]
    tree = ast.parse((SRC / "eval" / "streaming.py").read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert not defined & {"take", "feature_count", "embedding_pair", "is_unit_length", "in_caller_order"}


def test_the_rules_see_lazy_imports():
    """A function-level import counts as much as a module-level one (the old cycle hid in one)."""
    path = SRC / "eval" / "stage.py"
    found = dict((target, names) for target, names in imports(path))
    assert "svta.eval.api" in found  # imported inside analyse_run
