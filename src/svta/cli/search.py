"""``svta index`` and ``svta serve``: build a search index of a video collection with a trained model,
and serve it over HTTP with a web page. Argument parsing only; the work is in :mod:`svta.search`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import STATE, emit_json, load_cli_config, wants_json


def _search_config(root: Path | None, **updates: Any) -> Any:
    from svta.errors import ConfigError
    from svta.search.config import SearchConfig

    base = load_cli_config(root).search
    try:
        return SearchConfig.model_validate({**base.model_dump(), **{k: v for k, v in updates.items() if v is not None}})
    except ValueError as exc:
        raise ConfigError(f"search options: {exc}") from None


def _engine_config(root: Path | None, **updates: Any) -> Any:
    """The top-level ``engine:`` section (shared with the video stage) with the command's options applied."""
    from svta.errors import ConfigError

    base = load_cli_config(root).engine
    try:
        return base.model_validate({**base.model_dump(), **{k: v for k, v in updates.items() if v is not None}})
    except ValueError as exc:
        raise ConfigError(f"engine options: {exc}") from None


def index_command(
    out: Annotated[Path, typer.Option("--out", help="Index directory (created, or grown incrementally).")],
    run: Annotated[
        str | None, typer.Option("--run", help="Training run: a directory, or a name under <root>/runs/.")
    ] = None,
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

    from svta.cli._common import resolve_root
    from svta.errors import ConfigError
    from svta.search import build_index, encoder_spec_for_run

    data_root = resolve_root(root)
    config = _search_config(root, batch_size=batch_size, device=device)
    engine_config = _engine_config(root, name=engine, workers=workers, ray_address=ray_address)
    if (run is None) == (encoder is None):
        raise ConfigError("give exactly one of --run (a trained model) or --encoder (e.g. hashing)")
    if run is not None:
        spec = encoder_spec_for_run(run, data_root, checkpoint=checkpoint, device=config.device)
    else:
        spec = {"name": encoder, **config.encoder_options}
    report = build_index(data_root, out, spec, config, engine_config)
    if wants_json(json_):
        emit_json(asdict(report))
        return
    typer.echo(
        f"indexed {report.added} new video(s) into {out} ({report.count} in all, "
        f"{report.already_indexed} already there, {len(report.failed)} failed) in {report.seconds:.1f} s"
    )
    for failure in report.failed[:20]:
        typer.echo(f"  failed {failure['id']} ({failure['path']}): {failure['error']}", err=True)


def serve_command(
    index: Annotated[Path, typer.Option("--index", help="Index directory built by `svta index`.")],
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

    config = _search_config(STATE.root, host=host, port=port, allowed_hosts=allowed_host or None, device=device)
    if config.host not in LOOPBACK_HOSTS:
        warn(f"binding {config.host}: anyone who can reach this machine can search and download the indexed videos")
    info(f"serving {index} on http://{config.host}:{config.port}/ (API docs at /docs)")
    serve(index, config, log_level="warning" if STATE.quiet else "info")


def register(app: typer.Typer) -> None:
    """Add ``index`` and ``serve`` as top-level commands of the svta app."""
    app.command("index")(index_command)
    app.command("serve")(serve_command)
