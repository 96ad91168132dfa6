"""Zero-shot transfer: evaluate a trained run (or a weight file) on an item set from another dataset, encoding
each caption and video once and scoring the full set and the clean subset from the same features.

Long untrimmed videos (UCF-Crime averages 242 s) get ``frames`` samples spread uniformly over the whole clip
(CLIP4Clip's ``linspace``), unless ``sample_fps`` asks for a rate (capped at ``frames``).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError
from svta.tables import atomic_write_json, atomic_write_text
from svta.transfer.clean import full_and_clean, sum_r, transfer_table
from svta.transfer.sets import ItemSet


@dataclass
class TransferReport:
    """Metrics of one model on one evaluation set, full and clean.

    Attributes:
        dataset: the evaluation set's summary (name, kind, items, fingerprint).
        model: what was evaluated (run/checkpoint, registry name, frames).
        full: ``{"t2v": {...}, "v2t": {...}, "SumR": x}`` on every evaluated item.
        clean: the same on the items no overlap flags (``None`` without ``--exclude-overlap``).
        counts: texts/videos evaluated in each view and how many items were excluded.
        excluded: ids left out of the clean view.
        skipped_videos: ``{video: error}`` for videos that do not decode (left out of both views).
        skipped_rows: ``[{"where", "why"}]`` of the evaluation set's rows left out when it was read.
        overlap_report: the report the exclusions came from.
        settings: ties, compat, sampling.
        seconds: wall time.
    """

    dataset: dict[str, Any]
    model: dict[str, Any]
    full: dict[str, Any]
    clean: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    skipped_videos: dict[str, str] = field(default_factory=dict)
    skipped_rows: list[dict[str, str]] = field(default_factory=list)
    overlap_report: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def _labels(self) -> list[tuple[str, int]]:
        """``(row label, gallery size)`` of the full row and, when computed, the clean row."""
        model = self.model.get("label") or self.model.get("name") or "model"
        labels = [(f"{model} · {self.dataset['name']} full ({self.counts['texts']})", self.counts["videos"])]
        if self.clean is not None:
            labels.append(
                (f"{model} · {self.dataset['name']} clean ({self.counts['clean_texts']})", self.counts["clean_videos"])
            )
        return labels

    def rows(self) -> dict[str, dict[str, Any]]:
        """Table rows: ``<model> · <set> full (N)`` and, when computed, ``... clean (M)``."""
        metrics = [self.full] + ([self.clean] if self.clean is not None else [])
        return {label: m for (label, _), m in zip(self._labels(), metrics)}

    def table(self) -> str:
        """The Markdown table with each row's chance level for its gallery size."""
        return transfer_table(self.rows(), galleries=dict(self._labels()))

    def markdown(self) -> str:
        name = self.model.get("label") or self.model.get("name")
        lines = [f"# Zero-shot transfer: {name} on {self.dataset['name']}", "", self.table()]
        lines += [
            (
                f"- evaluated: {self.counts['texts']} captions x {self.counts['videos']} videos; "
                f"{len(self.skipped_videos)} video(s) did not decode"
            )
        ]
        if self.clean is not None:
            lines += [
                (
                    f"- clean subset: {self.counts['clean_texts']} captions x {self.counts['clean_videos']} videos, "
                    f"{self.counts['excluded']} item(s) excluded as overlapping the training data "
                    f"(report: {self.overlap_report})"
                )
            ]
        lines += [f"- model: {self.model}", f"- settings: {self.settings}"]
        return "\n".join(lines) + "\n"

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_eval_model(
    run: Path | str | None = None,
    checkpoint: Path | str | None = None,
    *,
    model_name: str | None = None,
    max_frames: int | None = None,
    max_words: int | None = None,
    device: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Deprecated: :func:`svta.retrieval.model_source.load_model` (which :func:`svta.eval.evaluate` uses).

    Returns:
        ``(model in eval mode on device, description)``; the description carries the run's ``sample_fps``.
    """
    import warnings

    from svta.retrieval.model_source import load_model

    warnings.warn(
        "load_eval_model is deprecated; use svta.retrieval.model_source.load_model(source) or svta.eval.evaluate",
        DeprecationWarning,
        stacklevel=2,
    )
    if (run is None) == (checkpoint is None):
        raise InputError("give exactly one of a run directory or a checkpoint file")
    source = Path(run) if run is not None else Path(checkpoint)  # type: ignore[arg-type]
    if run is not None:
        from svta.retrieval.model_source import run_weights

        run_weights(source)
    loaded = load_model(source, model_name=model_name, max_frames=max_frames, max_words=max_words, device=device)
    return loaded.model, loaded.info


def evaluate_transfer(
    model: Any,
    evaluation: ItemSet,
    *,
    exclude: set[str] | None = None,
    model_info: dict[str, Any] | None = None,
    batch_size: int = 32,
    workers: int = 0,
    num_frames: int | None = None,
    sample_fps: float | None = None,
    ties: str = "optimistic",
    compat: str | None = None,
    rerank_tail: str | None = None,
    text_batch_size: int | None = None,
) -> TransferReport:
    """Evaluate ``model`` (on its device) on ``evaluation``: full set, and clean subset without ``exclude``.

    The item-set form of :func:`svta.eval.evaluate`, on the same core as the in-domain evaluation
    (:func:`svta.retrieval.evaluate.encode_set` and :func:`~svta.retrieval.evaluate.rank_features`).

    Args:
        model: a :class:`~svta.retrieval.base.RetrievalModel`.
        evaluation: items with videos (several captions may share a video: they form its caption group).
        exclude: item ids to leave out of the clean view (from :func:`~svta.transfer.clean.excluded_items`).
        model_info: description stored in the report.
        batch_size: videos encoded per batch.
        workers: decoding processes.
        num_frames: frames per video (default: the model's ``max_frames``), uniform over the whole clip.
        sample_fps: sample at this rate instead, capped at ``num_frames``.
        ties, compat: tie rule / reference mode of the evaluation engine.
        rerank_tail: a second-stage model's policy beyond its top-k (``keep`` | ``zero``).
        text_batch_size: captions encoded per batch (default ``4 * batch_size``).
    """
    from svta.retrieval.data import ClipDataset, ClipRecord
    from svta.retrieval.distributed import DistContext
    from svta.retrieval.evaluate import encode_set
    from svta.retrieval.tokenizer import tokenize

    start = time.perf_counter()
    if not evaluation.has_videos:
        raise InputError(f"{evaluation.name}: evaluating needs a video for every item (pass the video folder)")
    device = next(model.parameters()).device
    records = [
        ClipRecord(i.id, i.caption, Path(i.video or ""), i.category or "", bool(i.is_anomaly), i.sha256)
        for i in evaluation.items  # every item has a video: checked by has_videos above
    ]
    tokens, mask = tokenize([r.caption for r in records], model.max_words)
    dataset = ClipDataset(records, tokens, mask, num_frames or model.max_frames, model.preprocess, sample_fps)
    encoded = encode_set(
        model,
        dataset,
        DistContext(device=device),
        batch_size=batch_size,
        workers=workers,
        text_batch_size=text_batch_size,
    )
    texts, broken = encoded.texts, encoded.broken
    if not len(texts):
        raise InputError(f"{evaluation.name}: no video decodes (first error: {next(iter(broken.values()), '?')})")
    dropped = {records[i].id for i in texts} & set(exclude or ())
    keep_text = np.array([records[i].id not in dropped for i in texts]) if exclude is not None else None
    scorer = _subset_scorer(model, encoded, device, ties, compat, rerank_tail)
    full, clean = full_and_clean(scorer, encoded.text_to_video, keep_text)
    counts = {
        "texts": len(texts),
        "videos": len(encoded.kept),
        "excluded": len(dropped),
        "clean_texts": clean.t2v.n_queries if clean is not None else len(texts),
        "clean_videos": clean.v2t.n_queries if clean is not None else len(encoded.kept),
    }
    return TransferReport(
        dataset=evaluation.summary(),
        model=model_info or {"name": type(model).__name__},
        full=_metrics(full),
        clean=_metrics(clean) if clean is not None else None,
        counts=counts,
        excluded=sorted(dropped),
        skipped_videos={str(encoded.videos.records[i].path): error for i, error in broken.items()},
        skipped_rows=evaluation.skipped_list(),
        settings={"frames": num_frames or model.max_frames, "sample_fps": sample_fps, "ties": ties, "compat": compat},
        seconds=time.perf_counter() - start,
    )


def _metrics(result: Any) -> dict[str, Any]:
    data = result.to_dict()
    data["SumR"] = sum_r(data)
    return data


def _subset_scorer(
    model: Any, encoded: Any, device: Any, ties: str, compat: str | None, rerank_tail: str | None
) -> Any:
    """A :data:`~svta.transfer.clean.SubsetEvaluator` ranking subsets of the encoded features."""
    import torch

    from svta.retrieval.evaluate import rank_features

    def evaluate(text_idx: np.ndarray, video_idx: np.ndarray, text_to_video: np.ndarray) -> Any:
        return rank_features(
            model,
            encoded.text_feats[torch.as_tensor(text_idx, dtype=torch.long)],
            encoded.video_feats[torch.as_tensor(video_idx, dtype=torch.long)],
            text_to_video,
            device,
            ties=ties,
            compat=compat,
            rerank_tail=rerank_tail,
            description="scoring transfer set",
        )

    return evaluate


def write_transfer_report(report: TransferReport, path: Path | str) -> tuple[Path, Path]:
    """Write ``path`` (JSON) and the Markdown beside it (same stem, ``.md``)."""
    path = Path(path)
    atomic_write_json(path, report.to_json_dict())
    markdown = path.with_suffix(".md")
    atomic_write_text(markdown, report.markdown())
    return path, markdown


def report_slug(name: str) -> str:
    """A file-name-safe form of an evaluation set name (``ucfcrime-ar:ucf_crime_test.xlsx`` -> ``ucfcrime-ar_...``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "transfer"
