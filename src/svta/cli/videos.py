"""``svta videos``: render a clip per caption (procedural renderer or Wan2.1), locally or on Ray,
and check the clips. Argument parsing only; the work is in :mod:`svta.videos`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from svta.cli._common import (
    ExitZeroOption,
    check_registered,
    emit_json,
    existing_root,
    fail_check,
    fail_incomplete,
    hidden_alias,
    stage_app,
    stage_setup,
    wants_json,
)

app = stage_app("Stage 2: render a video per caption (procedural or Wan2.1), resumable, locally or on Ray.")

ROOT = typer.Option(None, "--root", help="Dataset root (default: global --root or the config's).")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")
IDS = typer.Option([], "--id", help="Only these caption ids (repeatable).")


@app.command("generate")
def generate(
    root: Path | None = ROOT,
    backend: str | None = typer.Option(None, "--backend", help="procedural | wan (or a plug-in's name)."),
    engine: str | None = typer.Option(None, "--engine", help="local | ray."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes (local) or actors (ray)."),
    gpus_per_worker: float | None = typer.Option(None, "--gpus-per-worker", help="GPUs each Ray actor reserves."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join ('auto': the running one)."
    ),
    frames: int | None = typer.Option(None, "--frames", help="Procedural: frames per clip."),
    fps: float | None = typer.Option(None, "--fps", help="Procedural: frame rate."),
    size: int | None = typer.Option(None, "--size", help="Procedural: square frame size in pixels."),
    model: str | None = typer.Option(None, "--wan-model", help="Wan: hub id or directory (or random:tiny|1.3b|14b)."),
    steps: int | None = typer.Option(None, "--steps", help="Wan: denoising steps."),
    cache: str | None = typer.Option(None, "--cache", help="Wan: none | teacache | first_block | mag."),
    cache_threshold: float | None = typer.Option(None, "--cache-threshold", help="Wan: step-cache threshold."),
    fp8: bool | None = typer.Option(None, "--fp8/--no-fp8", help="Wan: store DiT weights in FP8."),
    offload: str | None = typer.Option(None, "--offload", help="Wan: none | model | sequential CPU offload."),
    device: str | None = typer.Option(None, "--device", help="Wan: auto | cuda | cuda:N | cpu (CPU only if asked)."),
    limit: int | None = typer.Option(None, "--limit", help="Only the first N captions."),
    ids: list[str] = IDS,
    overwrite: bool = typer.Option(False, "--overwrite", help="Make clips again even when valid ones exist."),
    json_: bool = JSON,
) -> None:
    """Make videos/<id>.mp4 for every caption in captions.parquet; a rerun resumes and redoes broken clips."""
    from dataclasses import asdict

    from svta.config import save_resolved
    from svta.videos import generate_videos

    root, config = stage_setup(
        existing_root(root),
        {
            "videos.backend": backend,
            "engine.name": engine,
            "engine.workers": workers,
            "engine.num_gpus_per_worker": gpus_per_worker,
            "engine.ray_address": ray_address,
            "videos.frames": frames,
            "videos.fps": fps,
            "videos.width": size,
            "videos.height": size,
            "videos.wan.model": model,
            "videos.wan.steps": steps,
            "videos.wan.cache": cache,
            "videos.wan.cache_threshold": cache_threshold,
            "videos.wan.fp8": fp8,
            "videos.wan.offload": offload,
            "videos.wan.device": device,
        },
    )
    check_registered("video_backend", config.videos.backend, "--backend")
    _require_captions(root)
    _check_selection(root, ids, limit)
    _preflight(config)
    save_resolved(config, root)
    result = generate_videos(root, config, ids=ids or None, limit=limit, overwrite=overwrite)
    if wants_json(json_):
        emit_json({**asdict(result), "root": str(result.root), "table": str(result.table)})
    else:
        _print_generated(result, config.videos.backend)
    if result.failed:
        fail_incomplete(f"{len(result.failed)} of {result.requested} clip(s) failed; rerun to retry them")


def _require_captions(root: Path) -> None:
    from svta.errors import InputError
    from svta.tables import table_path

    captions = table_path(root, "captions")
    if not captions.exists() and not captions.with_name(captions.stem + ".parts").exists():
        raise InputError(f"{captions}: no captions to render; run `svta captions generate` first")


def _check_selection(root: Path, ids: list[str], limit: int | None) -> None:
    """``--id`` must name captions that exist and ``--limit`` must be positive, checked before any clip is made."""
    from svta.errors import InputError
    from svta.tables import read_records, table_path

    if limit is not None and limit < 1:
        raise InputError(f"--limit {limit}: must be >= 1")
    if not ids:
        return
    known = {row["id"] for row in read_records(table_path(root, "captions"), "captions")}
    unknown = [i for i in dict.fromkeys(ids) if i not in known]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise InputError(f"--id {shown}: no such caption id in {table_path(root, 'captions')}")


def _print_generated(result: Any, backend: str) -> None:
    q = result.quality
    typer.echo(
        f"{backend}: made {result.generated}, kept {result.skipped}, redid {result.redone}, "
        f"failed {len(result.failed)} of {result.requested} in {result.seconds:.1f}s -> {result.table}"
    )
    flagged = any(q.get(kind) for kind in ("black", "frozen", "near_duplicates"))
    typer.echo(
        f"checks: {len(q.get('black', []))} black, {len(q.get('frozen', []))} frozen, "
        f"{len(q.get('near_duplicates', []))} near-duplicate pair(s)"
        # generating is not the check: the clips are kept, and the check says which ones (and exits 1)
        + ("; flagged clips are kept, `svta videos check` lists them" if flagged else "")
    )
    for clip_id, error in list(result.failed.items())[:10]:
        typer.echo(f"  failed {clip_id}: {error}", err=True)


def _preflight(config: Any) -> None:
    # Seconds of checks before workers start: missing weights or an absent GPU / Ray head fail here in one line.
    if config.engine.name == "ray":
        from svta.preflight import require_ray_head

        require_ray_head(config.engine.ray_address)  # asks the head itself: any TCP listener accepts a connect
    # On Ray the GPUs and the weights are the workers', not this machine's: each worker checks when it starts.
    if config.videos.backend == "wan" and config.engine.name != "ray":
        from svta.videos.wan import preflight

        preflight(config.videos.wan)


@app.command("check")
def check(
    root: Path | None = ROOT,
    decode: bool = typer.Option(
        True, "--decode/--no-decode", help="Decode every clip (default), or check existence and sha256 only."
    ),
    verify: Annotated[str | None, hidden_alias("--verify", "Old spelling: exists | probe | decode | sha256.")] = None,
    exit_zero: ExitZeroOption = False,
    json_: bool = JSON,
) -> None:
    """Verify every recorded clip and rebuild the quality report (black, frozen, near-duplicates).

    Exit 1 when a clip is missing or broken, black, frozen, a near-duplicate of another, or below
    videos.quality.min_agreement (each listed on stderr, the count per kind in the last line); thresholds are
    videos.quality.* (--set). Broken clips: rerun `svta videos generate` to make them again.
    """
    from svta.errors import InputError
    from svta.videos import check_videos
    from svta.videos.quality import REPORT_FILE, problem_counts

    level = verify or ("decode" if decode else "sha256")
    if level not in VERIFY_LEVELS:
        raise InputError(f"--verify {level!r}: must be one of {', '.join(VERIFY_LEVELS)}")
    root, config = stage_setup(existing_root(root), {})
    report = check_videos(root, config.videos, verify=level)
    counts = problem_counts(report)
    if wants_json(json_):
        emit_json(report)
    else:
        typer.echo(f"{report['clips']} clip(s): " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        _list_flagged(report)
    if any(counts.values()):
        parts = [f"{n} {kind}" for kind, n in counts.items()]
        parts[0] = f"{counts['broken']} of {report['clips']} clip(s) broken"
        redo = "; `svta videos generate` redoes the broken ones" if counts["broken"] else ""
        fail_check(f"{', '.join(parts)} (listed in {root / REPORT_FILE}){redo}", exit_zero)


def _list_flagged(report: dict[str, Any], limit: int = 20) -> None:
    """Each flagged clip on stderr, ``limit`` per kind."""
    low = (report.get("agreement") or {}).get("low") or []
    lines = {
        "broken": [f"broken {i}" for i in report["broken"]],
        "black": [f"black {i}" for i in report["black"]],
        "frozen": [f"frozen {i}" for i in report["frozen"]],
        "near": [f"near-duplicate {d['a']} ~ {d['b']} (cosine {d['cosine']})" for d in report["near_duplicates"]],
        "low": [f"below the agreement floor {i}" for i in low],
    }
    for flagged in lines.values():
        for line in flagged[:limit]:
            typer.echo(f"  {line}", err=True)
        if len(flagged) > limit:
            typer.echo(f"  ... and {len(flagged) - limit} more", err=True)


VERIFY_LEVELS = ("exists", "probe", "decode", "sha256")
