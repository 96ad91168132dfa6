"""The stage declarations are the one source the config, CLI, pipeline, plug-in loader and README read."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from svta.stages import STAGES, load, pipeline_stages, stage, stage_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_declared_name_loads():
    from svta._configbase import StrictModel

    for declared in STAGES:
        assert issubclass(load(declared.config), StrictModel), declared.name
        assert isinstance(load(declared.cli), typer.Typer), declared.name
        if declared.step is not None:
            step = load(declared.step)
            assert callable(step.run) and callable(step.shortfall), declared.name
        for module in declared.plugins:
            load(module)
        assert Path(__file__).resolve().parents[1].joinpath("src", declared.folder).is_dir(), declared.folder


def test_config_cli_pipeline_and_registry_read_the_declarations():
    from svta.cli.main import STAGES as CLI_STAGES
    from svta.config import SECTIONS, SvtaConfig
    from svta.pipeline import STAGE_ORDER
    from svta.registry import builtin_plugin_modules

    names = [declared.name for declared in STAGES]
    assert list(SECTIONS) == names
    assert [name for name, _ in CLI_STAGES] == [*names, "pipeline"]
    assert list(STAGE_ORDER) == list(pipeline_stages()) == [n for n in names if n != "search"]
    assert SvtaConfig().stages == list(STAGE_ORDER)
    assert set(builtin_plugin_modules()) == {m for declared in STAGES for m in declared.plugins}


def test_unknown_stage_is_named():
    with pytest.raises(KeyError, match="unknown stage 'nope'; known: captions"):
        stage("nope")


def test_checked_names_are_real_config_keys():
    from svta.config import SvtaConfig
    from svta.registry import registry

    config = SvtaConfig()
    for declared in STAGES:
        for dotted, kind in declared.checked_names:
            section, key = dotted.split(".")
            assert getattr(getattr(config, section), key) in registry(kind).names(), dotted


def test_extras_are_pyproject_extras():
    import tomllib

    extras = tomllib.loads((README.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for declared in STAGES:
        assert set(declared.extras) <= set(extras), declared.name


def test_readme_stage_table_is_generated_from_the_declarations():
    assert stage_table() in README.read_text(encoding="utf-8")


def test_doctor_names_the_stages_that_use_each_extra():
    from svta.doctor import EXTRAS, check_extras

    checks = {check.name: check.detail for check in check_extras()}
    for declared in STAGES:
        for extra in declared.extras:
            assert extra in EXTRAS, extra
            assert declared.name in checks[f"extra [{extra}]"], (extra, declared.name)
