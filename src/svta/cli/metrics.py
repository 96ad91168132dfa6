"""``svta eval metrics``: retrieval metrics of a similarity matrix or of text/video embeddings, for
users of other codebases (rows = texts, columns = videos, ground truth on the diagonal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer


def metrics_command(
    sim: Annotated[
        Path | None,
        typer.Argument(help="Similarity matrix .npy: rows = texts, columns = videos, ground truth on the diagonal."),
    ] = None,
    text_emb: Annotated[
        Path | None,
        typer.Option(
            "--text-emb",
            help="Text embeddings .npy, shape (n_text, D); L2-normalised first (with --compat, rows already of "
            "unit length are used as given, so the scores are the reference's t @ v.T bit for bit).",
        ),
    ] = None,
    video_emb: Annotated[
        Path | None, typer.Option("--video-emb", help="Video embeddings .npy, shape (n_video, D).")
    ] = None,
    text_to_video: Annotated[
        Path | None,
        typer.Option(
            "--text-to-video",
            help="Integer .npy, shape (n_text,): the video of each text (several captions per video).",
        ),
    ] = None,
    compat: Annotated[
        str | None,
        typer.Option(
            "--compat",
            help="'clip4clip' | 'gram': reproduce that reference evaluation exactly (ties, median, V2T); "
            "default: eval.compat.",
        ),
    ] = None,
    ties: Annotated[
        str | None, typer.Option("--ties", help="optimistic | pessimistic | mean (default: eval.ties).")
    ] = None,
    ks: Annotated[str, typer.Option("--ks", help="Recall cut-offs, comma-separated.")] = "1,5,10",
    block: Annotated[
        int | None,
        typer.Option(
            "--block", help="Block edge for streaming (default on CPU: 4096 for embeddings, 2048 for a matrix)."
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="torch device for scoring, e.g. cuda.")] = "cpu",
    json_: Annotated[bool, typer.Option("--json", help='Print {"t2v": {...}, "v2t": {...}} as JSON.')] = False,
) -> None:
    """Text-to-video and video-to-text R@K, MdR, MnR of a score matrix or of embeddings."""
    from svta.cli._common import emit_json, stage_setup, wants_json
    from svta.errors import InputError
    from svta.eval.arrays import load_npy
    from svta.eval.config import Ties
    from svta.eval.report import results_table

    settings = stage_setup(None)[1].eval  # defaults of flags not given (the library checks given values)
    compat = compat or settings.compat
    ties_rule: Ties = settings.ties if ties is None else cast(Ties, ties)  # the library refuses an unknown rule
    cutoffs = _parse_ks(ks)
    mapping = load_npy(text_to_video, 1, "iu", "text_to_video") if text_to_video is not None else None
    if sim is not None:
        if text_emb is not None or video_emb is not None:
            raise InputError("give either SIM.npy or --text-emb/--video-emb, not both")
        from svta.eval.metrics import evaluate_similarity

        matrix = load_npy(sim, 2, "f", "the similarity matrix")
        result = evaluate_similarity(
            matrix, mapping, ties=ties_rule, compat=compat, ks=cutoffs, block=block, device=device
        )
        name = sim.name
    elif text_emb is not None and video_emb is not None:
        from svta.eval.streaming import evaluate_embeddings

        texts = load_npy(text_emb, 2, "f", "text embeddings")
        videos = load_npy(video_emb, 2, "f", "video embeddings")
        result = evaluate_embeddings(
            texts, videos, mapping, ties=ties_rule, compat=compat, ks=cutoffs, block=block, device=device
        )
        name = f"{text_emb.name} x {video_emb.name}"
    else:
        raise InputError("give SIM.npy, or both --text-emb and --video-emb")
    if wants_json(json_):
        emit_json(result.to_dict())
        return
    typer.echo(results_table({name: result}, "markdown"), nl=False)
    for direction, m in (("T2V", result.t2v), ("V2T", result.v2t)):
        notes = [f"{m.n_queries} queries"] + [
            f"{v} {k}" for k, v in (("tied", m.n_tied), ("NaN", m.n_nan), ("dropped", m.n_dropped)) if v
        ]
        typer.echo(f"{direction}: " + ", ".join(notes))


def _parse_ks(text: str) -> tuple[int, ...]:
    from svta.errors import InputError

    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"--ks must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise InputError(f"--ks must be positive integers, got {text!r}")
    return values
