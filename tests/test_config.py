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
