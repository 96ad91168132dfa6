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
LEGEND_HEIGHT = 24  # pixels, the key above the query rows


def plot_per_category(
    table: pd.DataFrame, path: Path | str, metric: str = "R1", direction: str = "t2v", title: str | None = None
) -> Path:
    """Horizontal bars of ``metric`` per category, best first, each labelled with its value and query count n.

    Args:
        table: :func:`svta.eval.breakdown.per_category` output (columns direction, category, n, metric).
        path: output ``.png``.
        metric: column to plot ("R1", "R5", "MnR", ...).
        direction: "t2v" or "v2t".
        title: figure title (default: metric and direction).
    """
    from svta.registry import require

    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = per_category_figure(table, metric, direction, title)
    try:
        return _save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    finally:
        plt.close(fig)


def per_category_figure(
    table: pd.DataFrame, metric: str = "R1", direction: str = "t2v", title: str | None = None
) -> Any:
    """The figure of :func:`plot_per_category` (matplotlib; the caller saves and closes it)."""
    import matplotlib.pyplot as plt

    label = "category" if "category" in table.columns else "group"
    rows = table[table["direction"] == direction]
    if rows.empty or metric not in rows.columns:
        raise InputError(f"no {direction} rows with a {metric!r} column to plot")
    lower_is_better = metric in ("MdR", "MnR")
    rows = rows.sort_values(metric, ascending=lower_is_better)  # best at the top
    pretty = metric.replace("R", "R@", 1) if metric[1:].isdigit() else metric
    # horizontal bars: one row per category (~0.2 in), so even 98 names read at 8 pt
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.2 * len(rows) + 1.2)))
    values = rows[metric].to_numpy(dtype=float)
    ax.barh(range(len(rows)), values, color="#4472c4", height=0.75)
    ax.set_yticks(range(len(rows)), [str(c) for c in rows[label]], fontsize=8)
    ax.invert_yaxis()
    _label_bars(ax, values, rows["n"].to_numpy() if "n" in rows.columns else None)
    ax.set_xlabel(pretty + (" (lower is better)" if lower_is_better else ""))
    ax.set_title(title or f"{direction.upper()} {pretty} per {label} (n = queries)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _label_bars(ax: Any, values: np.ndarray, counts: np.ndarray | None) -> None:
    """Write each bar's value and its query count ``n`` at its end, so a 0 or a 100 on n = 1 reads as such."""
    top = float(np.nanmax(values)) if len(values) and np.isfinite(values).any() else 1.0
    ax.set_xlim(0, max(top, 1e-9) * 1.22)
    for y, value in enumerate(values):
        text = f"{value:.1f}" + (f"  n={int(counts[y])}" if counts is not None else "")
        ax.text((0 if np.isnan(value) else value) + 0.01 * top, y, text, fontsize=7, va="center")


def qualitative_figure(
    result: RetrievalResult,
    queries: Sequence[int],
    texts: Sequence[str],
    frames: Callable[[int], np.ndarray],
    path: Path | str,
    categories: Sequence[str] | None = None,
    top: int = 3,
    n_frames: int = 4,
    frame_height: int = 64,
    border: int = 4,
) -> Path:
    """The seed's qualitative figure: per text query, its top-``top`` videos as frame strips.

    A legend heads the figure; when a query's ground truth is not among its top ``top``, its strip
    follows them with the rank it got (``#rank of n``).

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
    rows = [
        _query_row(result, int(q), texts, frames, categories, top, n_frames, frame_height, border, font)
        for q in queries
    ]
    if not rows:
        raise InputError("no queries to show")
    rows.insert(0, _legend(border, font))
    width = max(r.width for r in rows)
    canvas = Image.new("RGB", (width, sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        canvas.paste(row, (0, y))
        y += row.height
    return _save(path, lambda tmp: canvas.save(tmp, format=_image_format(path)))


def _query_row(
    result: RetrievalResult,
    query: int,
    texts: Any,
    frames: Callable[[int], np.ndarray],
    categories: Any,
    top: int,
    n_frames: int,
    frame_height: int,
    border: int,
    font: Any,
) -> Any:
    from PIL import Image, ImageDraw

    topk = result.t2v_ranks.topk
    if topk is None:
        raise InputError("the qualitative figure needs the evaluation's top candidates: evaluate with keep_topk > 0")
    videos = [int(v) for v in topk[query, :top] if v >= 0]
    truth = int(result.text_to_video[query])
    shown = [(v, f"#{place}") for place, v in enumerate(videos, start=1)]
    label = f"Query: {texts[query]}"
    if categories is not None:
        label += f"  [{categories[query]}]"
    if truth not in videos:
        rank, n = _truth_rank(result, query)
        shown.append((truth, f"GT #{rank}"))
        label += f"  (ground truth ranked #{rank} of {n})"
    strips = [_strip(frames(v), n_frames, frame_height, border, CORRECT if v == truth else WRONG) for v, _ in shown]
    gap = 8
    strip_width = sum(s.width for s in strips) + gap * (len(strips) + 1) + (3 * gap if truth not in videos else 0)
    lines = textwrap.wrap(label, width=max(20, strip_width // 6)) or [""]
    text_height = 14 * len(lines) + 6
    row = Image.new("RGB", (strip_width, text_height + frame_height + 2 * border + 2 * gap), "white")
    draw = ImageDraw.Draw(row)
    for i, line in enumerate(lines):
        draw.text((gap, 4 + 14 * i), line, fill=(0, 0, 0), font=font)
    x = gap
    for index, (strip, (_, tag)) in enumerate(zip(strips, shown, strict=True)):
        if index == len(videos):  # the ground truth beyond the top: set apart by a gap and an ellipsis
            draw.text((x + gap // 2, text_height + gap + frame_height // 2), "...", fill=(0, 0, 0), font=font)
            x += 3 * gap
        row.paste(strip, (x, text_height + gap))
        _tag(draw, x + 2 * border, text_height + gap + border, tag, font)
        x += strip.width + gap
    return row


def _truth_rank(result: RetrievalResult, query: int) -> tuple[int, int]:
    """1-based rank of a text query's ground-truth video (ties counted optimistically) and the gallery size."""
    ranks = result.t2v_ranks
    position = np.flatnonzero(ranks.queries == query)
    rank = ranks.query_ranks()[position[0]] if len(position) else float(ranks.n_candidates)
    return int(rank), int(ranks.n_candidates)


def _tag(draw: Any, x: int, y: int, text: str, font: Any) -> None:
    """White text on a dark box, readable on any frame."""
    left, top, right, bottom = draw.textbbox((x, y), text, font=font)
    draw.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=(0, 0, 0))
    draw.text((x, y), text, fill=(255, 255, 255), font=font)


def _legend(border: int, font: Any) -> Any:
    """The key: border colours and what the ``#k`` tags mean."""
    from PIL import Image, ImageDraw

    entries = [(CORRECT, "ground truth"), (WRONG, "another video"), (None, "#k: rank k of the query's results")]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = 8 + sum(28 * (c is not None) + int(measure.textlength(t, font=font)) + 24 for c, t in entries)
    row = Image.new("RGB", (width, LEGEND_HEIGHT), "white")
    draw = ImageDraw.Draw(row)
    x = 8
    for colour, text in entries:
        if colour is not None:
            draw.rectangle((x, 6, x + 22, 18), outline=colour, width=max(2, border))
            x += 28
        draw.text((x, 6), text, fill=(0, 0, 0), font=font)
        x += int(draw.textlength(text, font=font)) + 24
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
