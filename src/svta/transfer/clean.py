"""Clean transfer: metrics on the full evaluation set and on the subset without the items an overlap report
flags, side by side, in the seed's table layout plus SumR; and the training items to drop before training
(``svta build --exclude-from``).

The clean subset is a dataset that never had the flagged items: their captions leave the queries and their
videos leave the gallery (a video stays while another caption of it is clean), and ranks are recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError
from svta.progress import warn
from svta.transfer.overlap import KINDS, OverlapOptions, OverlapReport
from svta.transfer.sets import ItemSet

# (text indices, video indices, [n_text_subset] video of each text within the subset) -> a RetrievalResult
SubsetEvaluator = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]
RECALLS = ("R1", "R5", "R10")


def excluded_items(
    report: OverlapReport,
    evaluation: ItemSet,
    kinds: list[str] | tuple[str, ...] | None = None,
    where: str = "overlap report",
) -> set[str]:
    """Ids of ``evaluation`` that ``report`` flags (by ``kinds``, default all).

    Raises:
        InputError: the report was made for another evaluation set (none of its flagged ids is in this one).
    """
    flagged = report.excluded(kinds)
    ids = {item.id for item in evaluation.items}
    if report.eval.get("fingerprint") != evaluation.fingerprint():
        if flagged and not flagged & ids:
            raise InputError(
                f"{where}: made for {report.eval.get('name')!r}, not {evaluation.name!r} "
                "(no flagged item is in this set); run `svta eval overlap` on this set"
            )
        warn(
            f"{where}: made for a different version of {evaluation.name} ({report.eval.get('n_items')} items, "
            f"this one has {len(evaluation)}); excluding the {len(flagged & ids)} flagged ids present"
        )
    return flagged & ids


def subset_indices(text_to_video: np.ndarray, keep_text: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The clean subset as (kept texts, kept videos, each kept text's video within the kept videos).

    Args:
        text_to_video: ``[n_text]`` video of each text.
        keep_text: ``[n_text]`` bool, False for flagged texts.
    """
    texts = np.flatnonzero(keep_text)
    videos = np.unique(text_to_video[texts])
    return texts, videos, np.searchsorted(videos, text_to_video[texts])


def full_and_clean(
    evaluate: SubsetEvaluator, text_to_video: np.ndarray, keep_text: np.ndarray | None
) -> tuple[Any, Any | None]:
    """Evaluate the full set and, when some texts are flagged, the clean subset.

    Args:
        evaluate: scores a subset given as (text indices, video indices, local text->video).
        text_to_video: ``[n_text]`` video of each text (videos ``0..n_video-1``; every video has a text).
        keep_text: ``[n_text]`` bool, or ``None`` for no clean view.

    Returns:
        ``(full result, clean result)``; clean is ``None`` when ``keep_text`` is.

    Raises:
        InputError: every text is flagged, so nothing is left to evaluate.
    """
    n_video = int(text_to_video.max()) + 1 if len(text_to_video) else 0
    full = evaluate(np.arange(len(text_to_video)), np.arange(n_video), text_to_video)
    if keep_text is None:
        return full, None
    if keep_text.all():  # nothing overlaps: the clean view is the full one
        return full, full
    if not keep_text.any():
        raise InputError("every evaluation item overlaps the training data: no clean subset is left to evaluate")
    return full, evaluate(*subset_indices(text_to_video, keep_text))


def sum_r(metrics: Mapping[str, Any]) -> float:
    """SumR (ALAN): R@1 + R@5 + R@10 of T2V plus those of V2T."""
    return float(sum(metrics[d][r] for d in ("t2v", "v2t") for r in RECALLS))


def chance(gallery: int, k: int) -> float:
    """R@k (percent) of a random ranking over ``gallery`` candidates: ``100 * k / gallery`` (at most 100)."""
    return min(100.0, 100.0 * k / gallery) if gallery > 0 else float("nan")


def chance_sum_r(gallery: int) -> float:
    """SumR of a random ranking in both directions over a gallery of ``gallery`` videos (V2T ranks
    caption groups, one per video, so its chance level is T2V's)."""
    return 2 * sum(chance(gallery, int(r[1:])) for r in RECALLS)


def transfer_table(
    rows: Mapping[str, Mapping[str, Any]], decimals: int = 1, galleries: Mapping[str, int] | None = None
) -> str:
    """The seed's Markdown table (T2V | V2T R@1 R@5 R@10 MdR MnR) with a SumR column.

    Args:
        rows: ``{label: {"t2v": {...}, "v2t": {...}}}`` in row order.
        galleries: ``{label: videos in that row's gallery}``: adds the chance R@1 and SumR of that gallery
            size next to each row, since a smaller gallery (a clean subset) lifts recall by itself.
    """
    from svta.eval.report import results_table

    lines = results_table(rows, "markdown", decimals).rstrip("\n").split("\n")
    lines[0] += " SumR |" + (" chance R@1 | chance SumR |" if galleries else "")
    lines[1] += "---:|" + ("---:|---:|" if galleries else "")
    for i, (label, metrics) in enumerate(rows.items(), start=2):
        lines[i] += f" {sum_r(metrics):.{decimals}f} |"
        if galleries:
            size = galleries[label]
            lines[i] += f" {chance(size, 1):.{decimals}f} | {chance_sum_r(size):.{decimals}f} |"
    return "\n".join(lines) + "\n"


def is_overlap_report(path: Path | str) -> bool:
    """Whether ``path`` is an overlap report (``overlap.json``, or a folder holding one)."""
    from svta.transfer.overlap_report import JSON_FILE

    path = Path(path)
    path = path / JSON_FILE if path.is_dir() else path
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "train_flagged" in data and "flagged" in data


def training_exclusions(
    root: Path | str,
    source: str | Path,
    *,
    options: OverlapOptions | None = None,
    kinds: list[str] | tuple[str, ...] | None = None,
    set_options: Mapping[str, Any] | None = None,
) -> tuple[dict[str, str], OverlapReport]:
    """The training captions of ``root`` that overlap an evaluation set, with the reason for each.

    Args:
        root: the dataset root about to be built (its ``captions.parquet`` is the training side).
        source: an evaluation set spec (``ucfcrime-ar:FILE``, ...) checked now, or an existing overlap report.
        options: overlap settings for a fresh check.
        kinds: which evidence excludes an item (default every kind).
        set_options: :class:`~svta.transfer.sets.SetSpec` fields for loading ``source`` (videos, language, ...).

    Returns:
        ``({caption id: reason}, the report used)``.
    """
    from svta.transfer.overlap import check_overlap
    from svta.transfer.overlap_report import read_overlap_report
    from svta.transfer.sets import load_set, load_training_set

    if is_overlap_report(source):
        report = read_overlap_report(source)
        _check_report_is_of(report, Path(root), str(source))
    else:
        evaluation = load_set(source, **dict(set_options or {}))
        report = check_overlap(load_training_set(root, table="captions"), evaluation, options)
    wanted = set(KINDS if kinds is None else kinds)
    name = report.eval.get("name", str(source))
    reasons = {
        item: f"overlaps {name} ({', '.join(found)})"
        for item, found in report.train_flagged.items()
        if wanted & set(found)
    }
    return reasons, report


def _check_report_is_of(report: OverlapReport, root: Path, where: str) -> None:
    """Refuse a report whose training side is not ``root``'s captions as they are now: its ids could name other
    captions (a report of another root, or of captions regenerated since), so excluding them drops the wrong items.

    Raises:
        InputError: the training side the report describes differs from ``root``'s (name, items or captions).
    """
    from svta.datasets.svta_root import reread_training_side

    made = report.train
    kind = made.get("kind")
    now = reread_training_side(root, kind, str(made.get("name", "")))
    if now is not None and now.name == made.get("name") and now.fingerprint() == made.get("fingerprint"):
        return
    found = f"{root} now holds {len(now)} ({now.name})" if now is not None else f"{root} has no {kind} table"
    raise InputError(
        f"{where}: made against {made.get('name')!r} ({made.get('n_items')} captions); {found}, so the ids it "
        f"flags may name other captions: run `svta eval overlap --train {root}` again, or give --exclude-from the "
        "evaluation set itself"
    )


def build_exclusions(root: Path | str, sources: list[str] | None, **options: Any) -> dict[str, str] | None:
    """``svta build --exclude-from``: the union of :func:`training_exclusions` over ``sources`` (``None`` if none)."""
    if not sources:
        return None
    exclude: dict[str, str] = {}
    for source in sources:
        exclude.update(training_exclusions(root, source, **options)[0])
    return exclude
