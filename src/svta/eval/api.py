"""One evaluation entry point: :func:`evaluate` joins a model (a run folder, a weight file or a model object) and
data (a dataset root and split, an evaluation-set spec or an :class:`~svta.datasets.items.ItemSet`).

``svta eval``, the pipeline's eval stage and the Python API all call it. Layering: the ranking engine
(``metrics``, ``streaming``, ``counting``, ...) knows nothing of models; :mod:`svta.retrieval` loads models and
encodes features on top of it (:mod:`svta.retrieval.model_source`, :mod:`svta.retrieval.evaluate`); this module
is the one place that puts a model and a dataset together (``tests/eval/test_layering.py`` pins it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svta.errors import InputError
from svta.eval.config import BATCH_SIZE, SPLIT, TIES, WORKERS

if TYPE_CHECKING:
    from svta.datasets.items import ItemSet
    from svta.retrieval.evaluate import EvalReport
    from svta.transfer.evaluate import TransferReport
    from svta.transfer.overlap import OverlapReport

    Exclusions = set[str] | frozenset[str] | Path | str | OverlapReport | None

ModelLike = Any  # a run folder or weight file (Path | str), or a RetrievalModel


def evaluate(
    model: ModelLike,
    data: ItemSet | Path | str | None = None,
    *,
    split: str = SPLIT,
    exclude: Exclusions = None,
    exclude_kinds: Sequence[str] | None = None,
    ties: str = TIES,
    compat: str | None = None,
    rerank_tail: str | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int = WORKERS,
    frames: int | None = None,
    sample_fps: float | None = None,
    device: str | None = None,
    keep_topk: int = 0,
    model_name: str | None = None,
    model_args: dict[str, Any] | None = None,
    set_options: Mapping[str, Any] | None = None,
) -> EvalReport | TransferReport:
    """Text-to-video and video-to-text retrieval metrics of ``model`` on ``data``.

    Args:
        model: a run folder (``svta train``'s output; its recipe gives the model, frames, words and frame rate),
            a weight file (CLIP4Clip's ``pytorch_model.bin.N``, svta's ``best_model.bin``; settings of a run
            folder holding it apply), or a :class:`~svta.retrieval.base.RetrievalModel`.
        data: a dataset root (scored on ``split``), an evaluation-set spec as ``svta eval --dataset`` takes
            (``ucfcrime-ar:FILE``, ``uca:FILE``, ``manifest:ROOT``, ``hf:PATH``, ...), or an ``ItemSet``.
            ``None``: the dataset root the run was trained on.
        split: the manifest split (a root, or a spec that has splits).
        exclude: item ids to leave out of a *clean* view, or an ``svta eval overlap`` report (path or
            :class:`~svta.transfer.overlap.OverlapReport`) whose flagged items (``exclude_kinds``, default all)
            are left out. The full view is always scored; with ``exclude`` a dataset root is read as a set.
        ties: ``optimistic`` | ``pessimistic`` | ``mean``.
        compat: ``clip4clip`` | ``gram``: that reference's evaluation exactly.
        rerank_tail: a second-stage model's policy beyond its top-k (``keep`` | ``zero``).
        batch_size: videos encoded per batch (captions: 4x as many).
        workers: decoding processes.
        frames: frames per video (default: the model's); uniform over each clip unless ``sample_fps``.
        sample_fps: sample at this rate (capped at ``frames``; default: the run's).
        device: ``cpu`` / ``cuda`` (default: CUDA when available; a model object stays where it is).
        keep_topk: keep each text query's top videos in the report (for breakdowns and figures; split only).
        model_name, model_args: registry name and head arguments the weights do not determine.
        set_options: reader options of a spec (``videos``, ``language``, ``bad_rows``, ``clips_dir``, ...).

    Returns:
        For a dataset root: an :class:`~svta.retrieval.evaluate.EvalReport` (``metrics`` as
        ``svta eval metrics --json`` prints them). For a set: a :class:`~svta.transfer.evaluate.TransferReport`
        with the ``full`` and ``clean`` views and their SumR.
    """
    from svta.retrieval.distributed import DistContext
    from svta.retrieval.evaluate import evaluate_model

    net, info, run_dir = _model(model, model_name, frames, model_args, device)
    sample_fps = sample_fps if sample_fps is not None else info.get("sample_fps")
    if data is None:
        data = _recorded_root(run_dir, model)
    engine: dict[str, Any] = {
        "batch_size": batch_size,
        "workers": workers,
        "ties": ties,
        "compat": compat,
        "rerank_tail": rerank_tail,
    }
    root = split_root(data, exclude)
    if root is not None:
        ctx = DistContext(device=next(net.parameters()).device)
        return evaluate_model(
            net,
            root,
            split,
            ctx=ctx,
            num_frames=frames,
            sample_fps=sample_fps,
            keep_topk=keep_topk,
            cache_dir=_run_frame_cache(run_dir, root),
            **engine,
        )
    if keep_topk:
        raise InputError("keep_topk: only a dataset root's split keeps top-k lists (for its analysis)")
    return _evaluate_set(net, info, data, split, exclude, exclude_kinds, frames, sample_fps, set_options, engine)


def load_set(data: ItemSet | Path | str, split: str = SPLIT, **options: Any) -> ItemSet:
    """The evaluation set ``data`` names (an ``ItemSet`` passes through). Scoring needs no checksums, so long
    videos are not hashed."""
    from svta.datasets.items import ItemSet
    from svta.transfer.sets import load_set as read_set

    if isinstance(data, ItemSet):
        return data
    return read_set(str(data), split=split, **{"checksum": False, **options})


def _evaluate_set(
    net: Any,
    info: dict[str, Any],
    data: ItemSet | Path | str,
    split: str,
    exclude: Exclusions,
    exclude_kinds: Sequence[str] | None,
    frames: int | None,
    sample_fps: float | None,
    set_options: Mapping[str, Any] | None,
    engine: dict[str, Any],
) -> TransferReport:
    from svta.transfer.evaluate import evaluate_transfer

    evaluation = load_set(data, split, **(set_options or {}))
    ids, where = _exclusions(exclude, exclude_kinds, evaluation)
    report = evaluate_transfer(
        net, evaluation, exclude=ids, model_info=info, num_frames=frames, sample_fps=sample_fps, **engine
    )
    report.overlap_report = where
    return report


def _exclusions(
    exclude: Exclusions, kinds: Sequence[str] | None, evaluation: ItemSet
) -> tuple[set[str] | None, str | None]:
    """``(ids to leave out of the clean view, the overlap report they come from)``."""
    from svta.transfer.clean import excluded_items
    from svta.transfer.overlap import OverlapReport
    from svta.transfer.overlap_report import read_overlap_report

    if exclude is None:
        return None, None
    if isinstance(exclude, (set, frozenset)):
        return set(exclude), None
    if isinstance(exclude, OverlapReport):
        return excluded_items(exclude, evaluation, list(kinds) if kinds else None), None
    report = read_overlap_report(exclude)
    return excluded_items(report, evaluation, list(kinds) if kinds else None, str(exclude)), str(exclude)


def _model(
    model: ModelLike, model_name: str | None, frames: int | None, model_args: dict[str, Any] | None, device: str | None
) -> tuple[Any, dict[str, Any], Path | None]:
    """``(model in eval mode, its description, its run folder)`` of a model source or object."""
    from svta.retrieval.model_source import load_model

    if isinstance(model, (str, Path)):
        loaded = load_model(model, model_name=model_name, max_frames=frames, model_args=model_args, device=device)
        return loaded.model, loaded.info, loaded.run_dir
    if device is not None:
        model = model.to(device)
    return model, {"name": type(model).__name__}, None


def _run_frame_cache(run_dir: Path | None, root: Path) -> Path | None:
    """The frame cache a run trained from (``train.frame_cache``), for evaluating on ``root``: its ``cache_dir``,
    else ``<root>/cache/frames``; ``None`` for a run without one, or a model that is not a run."""
    from svta.errors import SvtaError
    from svta.retrieval.results import read_train_config

    if run_dir is None:
        return None
    try:
        train = read_train_config(run_dir)
    except SvtaError:  # weights beside no readable recipe: evaluate by decoding
        return None
    if not train.frame_cache:
        return None
    return Path(train.cache_dir) if train.cache_dir else Path(root) / "cache" / "frames"


def _recorded_root(run_dir: Path | None, model: ModelLike) -> Path:
    from svta.retrieval.model_source import recorded_root

    root = recorded_root(run_dir) if run_dir is not None else None
    if root is None:
        raise InputError(f"{model}: no dataset root recorded with the model; give the data to evaluate on")
    return root


def split_root(data: ItemSet | Path | str, exclude: Exclusions) -> Path | None:
    """The dataset root when ``data`` is one scored as a split (``None``: read ``data`` as a set)."""
    from svta.datasets.items import ItemSet
    from svta.transfer.sets import set_kind

    if isinstance(data, ItemSet) or exclude is not None:
        return None
    text = str(data)
    prefix, sep, _ = text.partition(":")
    if sep and len(prefix) > 1 and set_kind(prefix):  # KIND:PATH (one letter before ':' is a Windows drive)
        return None
    path = Path(data)
    return path if path.is_dir() and (path / "manifest.parquet").exists() else None
