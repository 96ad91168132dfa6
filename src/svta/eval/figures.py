"""Figures: a per-category bar chart (matplotlib, Agg) and the seed's qualitative retrieval figure
(for chosen text queries, the top-3 videos as frame strips: green border = correct, orange = wrong).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from svta.errors import InputError
from svta.eval.metrics import RetrievalResult

if TYPE_CHECKING:
    import pandas as pd

CORRECT = (34, 177, 76)  # green
WRONG = (255, 140, 0)  # orange


def plot_per_category(table: pd.DataFrame, path: Path | str, metric: str = "R1", direction: str = "t2v",
                      title: str | None = None) -> Path:
    """Bar chart of ``metric`` per category, sorted, saved as PNG.

    Args:
        table: :func:`svta.eval.breakdown.per_category` output (columns direction, category, metric).
        path: output ``.png``.
        metric: column to plot ("R1", "R5", "MnR", ...).
        direction: "t2v" or "v2t".
        title: figure title (default: metric and direction).
    """
    from svta.registry import require

    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    label = "category" if "category" in table.columns else "group"
    rows = table[table["direction"] == direction]
    if rows.empty or metric not in rows.columns:
        raise InputError(f"no {direction} rows with a {metric!r} column to plot")
    rows = rows.sort_values(metric, ascending=metric in ("MdR", "MnR"))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * len(rows) + 2), 4.0))
    try:
        ax.bar(range(len(rows)), rows[metric].to_numpy(), color="#4472c4")
        ax.set_xticks(range(len(rows)), [str(c) for c in rows[label]], rotation=90, fontsize=7)
        pretty = metric.replace("R", "R@", 1) if metric[1:].isdigit() else metric
        ax.set_ylabel(pretty)
        ax.set_title(title or f"{direction.upper()} {pretty} per {label}")
        fig.tight_layout()
        return _save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    finally:
        plt.close(fig)


def qualitative_figure(result: RetrievalResult, queries: Sequence[int], texts: Sequence[str],
                       frames: Callable[[int], np.ndarray], path: Path | str,
                       categories: Sequence[str] | None = None, top: int = 3, n_frames: int = 4,
                       frame_height: int = 64, border: int = 4) -> Path:
    """The seed's qualitative figure: per text query, its top-``top`` videos as frame strips.

    Args:
        result: an evaluation run with ``keep_topk >= top``.
        queries: text indices to show, one row each.
        texts: the query text of every text index (or a mapping index -> text).
        frames: ``video_index -> [F, H, W, 3]`` uint8 frames (e.g. a decoder; nothing here decodes).
        path: output image (PNG/JPEG by suffix).
        categories: category of every text index, printed beside the query.
        top: videos per query.
        n_frames: frames per strip (sampled evenly).
        frame_height: height of each frame in the figure, pixels.
        border: border width, pixels (green = ground truth, orange = wrong).
    """
    from PIL import Image, ImageFont

    rank = result.t2v_ranks
    if rank.topk is None or rank.topk.shape[1] < top:
        raise InputError(f"the qualitative figure needs the evaluation to keep_topk >= {top}")
    font = ImageFont.load_default()
    rows = [_query_row(result, int(q), texts, frames, categories, top, n_frames, frame_height, border, font)
            for q in queries]
    if not rows:
        raise InputError("no queries to show")
    width = max(r.width for r in rows)
    canvas = Image.new("RGB", (width, sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        canvas.paste(row, (0, y))
        y += row.height
    return _save(path, lambda tmp: canvas.save(tmp, format=_image_format(path)))


def _query_row(result: RetrievalResult, query: int, texts: Any, frames: Callable[[int], np.ndarray],
               categories: Any, top: int, n_frames: int, frame_height: int, border: int, font: Any) -> Any:
    from PIL import Image, ImageDraw

    topk = result.t2v_ranks.topk
    if topk is None:
        raise InputError("the qualitative figure needs the evaluation's top candidates: evaluate with keep_topk > 0")
    videos = [int(v) for v in topk[query, :top] if v >= 0]
    truth = int(result.text_to_video[query])
    strips = [_strip(frames(v), n_frames, frame_height, border, CORRECT if v == truth else WRONG) for v in videos]
    gap = 8
    strip_width = sum(s.width for s in strips) + gap * (len(strips) + 1)
    label = f"Query: {texts[query]}"
    if categories is not None:
        label += f"  [{categories[query]}]"
    lines = textwrap.wrap(label, width=max(20, strip_width // 6)) or [""]
    text_height = 14 * len(lines) + 6
    row = Image.new("RGB", (strip_width, text_height + frame_height + 2 * border + 2 * gap), "white")
    draw = ImageDraw.Draw(row)
    for i, line in enumerate(lines):
        draw.text((gap, 4 + 14 * i), line, fill=(0, 0, 0), font=font)
    x = gap
    for place, strip in enumerate(strips, start=1):
        row.paste(strip, (x, text_height + gap))
        draw.text((x + 2 * border, text_height + gap + border), f"#{place}", fill=(255, 255, 255), font=font)
        x += strip.width + gap
    return row


def _strip(video: np.ndarray, n_frames: int, frame_height: int, border: int, color: tuple[int, int, int]) -> Any:
    """Frames ``[F, H, W, 3]`` uint8 -> one bordered horizontal strip image."""
    from PIL import Image

    arr = np.asarray(video)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8 or len(arr) == 0:
        raise InputError(f"frames must be a non-empty [F, H, W, 3] uint8 array, got {arr.dtype} {arr.shape}")
    picks = np.linspace(0, len(arr) - 1, min(n_frames, len(arr))).round().astype(int)
    width = max(1, round(arr.shape[2] * frame_height / arr.shape[1]))
    tiles = [Image.fromarray(arr[i]).resize((width, frame_height)) for i in picks]
    strip = Image.new("RGB", (width * len(tiles) + 2 * border, frame_height + 2 * border), color)
    for i, tile in enumerate(tiles):
        strip.paste(tile, (border + i * width, border))
    return strip


def _image_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
    if suffix not in formats:
        raise InputError(f"{path}: figure suffix must be .png, .jpg or .jpeg")
    return formats[suffix]


def _save(path: Path | str, write: Callable[[str], Any]) -> Path:
    """Write through ``write(tmp_path)`` into a temp file beside ``path``, then rename (atomic)."""
    from svta.tables import atomic_path  # lazy: pyarrow only when writing

    path = Path(path)
    _image_format(path)
    with atomic_path(path, suffix=path.suffix) as tmp:
        write(str(tmp))
    return path
