"""``svta search``: stage 7 — ``index`` (encode a video collection into a search index with a trained model)
and ``serve`` (answer text queries over HTTP with a web page). Argument parsing only; the work is in
:mod:`svta.search`. Encoding runs where the ``engine:`` section says, like the video stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import STATE, RunOption, emit_json, fail_incomplete, stage_app, stage_setup, wants_json

app = stage_app("Stage 7: index videos with a trained model and serve text search over HTTP.")


def _search_config(root: Path | None, **updates: Any) -> Any:
    """The resolved config with the command's options applied (each named in errors)."""
    return stage_setup(root, updates)[1]


@app.command("index")
def index_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory (created, or grown incrementally).")],
    run: RunOption = None,
    root: Annotated[
        Path | None, typer.Option("--root", help="Dataset root or folder of videos (default: --root).")
    ] = None,
    encoder: Annotated[
        str | None, typer.Option("--encoder", help="A search_encoder instead of --run (hashing).")
    ] = None,
    checkpoint: Annotated[
        str, typer.Option("--checkpoint", help="Checkpoint of the run: best, last, or a file.")
    ] = "best",
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Videos per encoder call.")] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="local | ray (fan encoding out to Ray actors).")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Ray encoder actors (engine.workers).")] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster to join ('auto': the running one).")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="Torch device of the model (cpu, cuda).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Encode every video of a dataset root (or folder of clips) into a FAISS search index."""
    from dataclasses import asdict

    from svta.cli._common import existing_root
    from svta.errors import ConfigError
    from svta.search import build_index, encoder_spec_for_run

    data_root = existing_root(root)
    if (run is None) == (encoder is None):
        raise ConfigError("give exactly one of --run (a trained model) or --encoder (e.g. hashing)")
    settings = _search_config(
        root,
        **{
            "search.batch_size": batch_size,
            "search.device": device,
            "engine.name": engine,
            "engine.workers": workers,
            "engine.ray_address": ray_address,
        },
    )
    config = settings.search
    if run is not None:
        spec = encoder_spec_for_run(run, data_root, checkpoint=checkpoint, device=config.device)
    else:
        spec = {"name": encoder, **config.encoder_options}
    report = build_index(data_root, out, spec, config, settings.engine)
    if wants_json(json_):
        emit_json(asdict(report))
    else:
        _print_indexed(report, out)
    if report.failed:
        fail_incomplete(f"{len(report.failed)} video(s) could not be indexed; fix or remove them and rerun")


def _print_indexed(report: Any, out: Path) -> None:
    typer.echo(
        f"indexed {report.added} new video(s) into {out} ({report.count} in all, "
        f"{report.already_indexed} already there, {len(report.failed)} failed) in {report.seconds:.1f} s"
    )
    for failure in report.failed[:20]:
        typer.echo(f"  failed {failure['id']} ({failure['path']}): {failure['error']}", err=True)


@app.command("serve")
def serve_command(
    index: Annotated[Path, typer.Option("--index", help="Index directory built by `svta search index`.")],
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to bind (default 127.0.0.1: this machine only).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8000).")] = None,
    allowed_host: Annotated[
        list[str] | None, typer.Option("--allowed-host", help="Host header to accept (repeatable; '*' for any).")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="Torch device of the query encoder.")] = None,
) -> None:
    """Serve an index: JSON search API, videos, thumbnails and a web page at /."""
    from svta.progress import info, warn
    from svta.search.config import LOOPBACK_HOSTS
    from svta.search.server import serve
    from svta.search.store import IndexStore

    IndexStore(index)  # fails in one line (with the next step) before anything says "serving"
    config = _search_config(
        STATE.root,
        **{
            "search.host": host,
            "search.port": port,
            "search.allowed_hosts": allowed_host or None,
            "search.device": device,
        },
    ).search
    if config.host not in LOOPBACK_HOSTS:
        warn(f"binding {config.host}: anyone who can reach this machine can search and download the indexed videos")
    info(f"serving {index} on http://{config.host}:{config.port}/ (API docs at /docs)")
    serve(index, config, log_level="warning" if STATE.quiet else "info")
