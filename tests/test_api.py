"""The Python API: stage packages export their functions and config classes, stage functions take config
fields as keyword arguments, and the README's Python API script runs as printed."""

from __future__ import annotations

import ast
import importlib
import inspect
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


# Packages whose lazy exports are declared to type checkers under ``if TYPE_CHECKING:``.
TYPED_PACKAGES = (
    "svta.captions",
    "svta.videos",
    "svta.annotate",
    "svta.build",
    "svta.eval",
    "svta.retrieval",
    "svta.search",
    "svta.release",
)


def _lazy_exports(module: object) -> dict[str, str]:
    """A package's lazy-export table (name -> defining module), whatever the package calls it."""
    return next(getattr(module, name) for name in ("_API", "_LAZY", "_EXPORTS") if hasattr(module, name))


def _type_checking_block(package: str) -> tuple[dict[str, str], dict[str, ast.FunctionDef]]:
    """Names the package's ``if TYPE_CHECKING:`` block re-exports (name -> module) and the stubs it declares."""
    source = Path(importlib.import_module(package).__file__).read_text(encoding="utf-8")
    block = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    )
    imports = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name  # ``import X as X``: an explicit re-export
    }
    stubs = {node.name: node for node in block.body if isinstance(node, ast.FunctionDef)}
    return imports, stubs


def _stub_parameters(stub: ast.FunctionDef) -> list[tuple[str, inspect._ParameterKind, str, str | None]]:
    args, kinds = stub.args, inspect.Parameter
    positional = [(a, kinds.POSITIONAL_OR_KEYWORD) for a in args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [(a.arg, kind, ast.unparse(a.annotation), d and ast.unparse(d)) for (a, kind), d in zip(positional, defaults)]
    out += [
        (a.arg, kinds.KEYWORD_ONLY, ast.unparse(a.annotation), d and ast.unparse(d))
        for a, d in zip(args.kwonlyargs, args.kw_defaults)
    ]
    if args.kwarg is not None:
        out.append((args.kwarg.arg, kinds.VAR_KEYWORD, ast.unparse(args.kwarg.annotation), None))
    return out


@pytest.mark.parametrize("package", TYPED_PACKAGES)
def test_type_checkers_see_every_lazy_export_from_its_module(package):
    module = importlib.import_module(package)
    exports = _lazy_exports(module)
    configs = getattr(module, "_CONFIGS", {})
    imports, stubs = _type_checking_block(package)
    for name, source in exports.items():
        if name in configs:
            assert name in stubs and name not in imports, name
        else:
            assert imports.get(name) == source, name
    assert set(stubs) == set(configs)


@pytest.mark.parametrize("package", TYPED_PACKAGES)
def test_stage_function_stubs_match_the_real_signature_plus_config_fields(package):
    module = importlib.import_module(package)
    exports = _lazy_exports(module)
    _, stubs = _type_checking_block(package)
    for name, stub in stubs.items():
        real = inspect.signature(getattr(importlib.import_module(exports[name]), name))
        expected = [
            (p.name, p.kind, p.annotation, None if p.default is inspect.Parameter.empty else repr(p.default))
            for p in real.parameters.values()
        ]
        expected.append(("fields", inspect.Parameter.VAR_KEYWORD, "Any", None))
        assert _stub_parameters(stub) == expected, name
        assert ast.unparse(stub.returns) == real.return_annotation, name
