"""``svta doctor``: print the environment check list (extras, torch and CUDA, codecs, weights, hub, Chromium)."""

from __future__ import annotations

from typing import Annotated

import typer


def doctor_command(
    json_: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the network connects (hub, LLM, Ray).")] = False,
) -> None:
    """Check what the stages need: extras, torch + CUDA, ffmpeg/PyAV codecs, weights, hub, servers, Chromium.

    Exit 1 when a check fails (a warning does not fail)."""
    from svta.cli._common import STATE, emit_json, wants_json
    from svta.config import load_config
    from svta.doctor import run_checks

    config = load_config(STATE.config, STATE.overrides)
    checks = run_checks(
        llm_url=config.captions.openai.base_url if config.captions.backend == "openai" else None,
        ray_address=config.engine.ray_address if config.engine.name == "ray" else None,
        wan_model=config.videos.wan.model,
        network=not offline,
        classifier_url=config.annotate.llm.base_url if config.annotate.classifier == "openai" else None,
    )
    if wants_json(json_):
        emit_json([c.to_dict() for c in checks])
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table("check", "status", "found", "fix")
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            table.add_row(escape(c.name), f"[{colour[c.status]}]{c.status}[/]", escape(c.detail), escape(c.fix))
        Console().print(table)
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        from svta.cli._common import fail_check

        fail_check(f"{len(failed)} check(s) failed: {', '.join(failed)} (see the fix column)")
