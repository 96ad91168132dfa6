from __future__ import annotations

import pytest
import yaml

from svta.config import load_config, save_resolved
from svta.errors import ConfigError


def test_defaults_and_round_trip(tmp_path):
    cfg = load_config(root=tmp_path / "data")
    path = save_resolved(cfg)
    assert path == tmp_path / "data" / "svta.yaml"
    again = load_config(path)
    assert again == cfg


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"seed": 3, "captions": {"per_category": 4}}))
    cfg = load_config(path, ["captions.per_category=7", "engine.name=ray", "videos.fps=4.5"])
    assert cfg.seed == 3 and cfg.captions.per_category == 7 and cfg.engine.name == "ray" and cfg.videos.fps == 4.5


def test_unknown_key_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("captions:\n  per_categroy: 4\n")
    with pytest.raises(ConfigError, match=r"c.yaml: captions.per_categroy"):
        load_config(path)


def test_bad_values_and_files(tmp_path):
    with pytest.raises(ConfigError, match="engine.name"):
        load_config(overrides=["engine.name=slurm"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(overrides=["novalue"])


def test_importing_the_config_imports_no_stage():
    import subprocess
    import sys

    code = (
        "import sys, svta.config, svta.engine, svta.tables, svta.stages; "
        "print(sorted(m for m in sys.modules if m.split('.')[:2][-1] in "
        "('captions', 'videos', 'annotate', 'build', 'retrieval', 'eval', 'search', 'transfer')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sections_come_from_the_stage_folders():
    from svta.captions.config import CaptionsConfig
    from svta.config import SECTIONS, SvtaConfig, section_class
    from svta.engine import EngineConfig

    assert list(SECTIONS)[:3] == ["captions", "videos", "annotate"]
    assert section_class("captions") is CaptionsConfig
    config = SvtaConfig()
    assert isinstance(config.captions, CaptionsConfig) and isinstance(config.engine, EngineConfig)
    assert set(SECTIONS) <= set(SvtaConfig.model_fields)


def test_unknown_key_reads_unknown_key_and_blames_the_set(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, ["captions.per_categry=3"])
    message = str(caught.value)
    assert message.startswith("--set captions.per_categry=3: captions.per_categry: unknown key")
    assert "did you mean 'per_category'" in message and "Extra inputs" not in message
    with pytest.raises(ConfigError, match=r"^<defaults>: bogus: unknown key"):
        load_config(bogus=1)


def test_eval_section_is_typed():
    assert load_config(overrides=["eval.ties=pessimistic", "eval.compat=clip4clip"]).eval.ties == "pessimistic"
    with pytest.raises(ConfigError, match=r"--set eval.ties=sometimes: eval.ties: Input should be"):
        load_config(overrides=["eval.ties=sometimes"])


def test_search_engine_keys_are_deprecated_aliases_of_the_engine_section(capsys):
    config = load_config(overrides=["search.engine=ray", "search.workers=3", "search.ray_address=auto"])
    assert (config.engine.name, config.engine.workers, config.engine.ray_address) == ("ray", 3, "auto")
    assert "search.workers is deprecated; use engine.workers" in capsys.readouterr().err
    assert "workers" not in type(config.search).model_fields


def test_type_checkers_see_every_section_with_its_class():
    """config.py declares SvtaConfig to type checkers (``if TYPE_CHECKING:``) with one field per section in
    SECTIONS, typed with that section's class imported from its module, and no catch-all ``__getattr__``."""
    import ast
    from pathlib import Path

    import svta.config
    from svta.config import SECTIONS

    tree = ast.parse(Path(svta.config.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    )
    imported = {a.name: f"{n.module}:{a.name}" for n in block.body if isinstance(n, ast.ImportFrom) for a in n.names}
    declared = next(n for n in block.body if isinstance(n, ast.ClassDef) and n.name == "SvtaConfig")
    fields = {
        n.target.id: imported.get(ast.unparse(n.annotation))
        for n in declared.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert fields == SECTIONS
    root_base = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_RootBase")
    assert "__getattr__" not in {n.name for n in ast.walk(root_base) if isinstance(n, ast.FunctionDef)}


def test_every_compat_mode_of_the_engine_is_a_config_value():
    from typing import get_args

    from svta.config import load_config
    from svta.eval.config import Compat
    from svta.eval.metrics import COMPAT

    assert set(get_args(Compat)) == {mode for mode in COMPAT if mode}
    assert load_config(overrides=["eval.compat=gram"]).eval.compat == "gram"
