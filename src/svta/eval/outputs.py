"""Evaluate a model and write what ``svta eval`` leaves on disk: a split's ``metrics.json``, results tables and
``analysis/``, or a transfer report. ``svta eval`` only parses its options and calls :func:`evaluate_and_write`,
so the Python API writes the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svta.eval.config import SPLIT

if TYPE_CHECKING:
    from svta.retrieval.evaluate import EvalReport
    from svta.transfer.evaluate import TransferReport


@dataclass
class EvalOutputs:
    """An evaluation and the files it wrote.

    Attributes:
        report: the :class:`~svta.retrieval.evaluate.EvalReport` (a split) or
            :class:`~svta.transfer.evaluate.TransferReport` (another dataset).
        paths: what was written, by role: a split's ``metrics`` (``json_out`` too when given), ``markdown``,
            ``latex``, ``csv`` and ``analysis``; a transfer's ``json`` and ``markdown`` (empty when it had nowhere
            to go: a weight file or model object without ``json_out``).
    """

    report: EvalReport | TransferReport
    paths: dict[str, Path] = field(default_factory=dict)


def evaluate_and_write(
    model: Any,
    data: Any = None,
    *,
    out: Path | None = None,
    json_out: Path | None = None,
    analysis: bool = True,
    label: str | None = None,
    split: str = SPLIT,
    model_name: str | None = None,
    **options: Any,
) -> EvalOutputs:
    """:func:`svta.eval.evaluate` ``model`` on ``data`` and write its outputs (each file written atomically).

    Args:
        model: a run folder, a weight file or a model object (as :func:`svta.eval.evaluate` takes).
        data: a dataset root (its ``split`` is scored), an evaluation-set spec or an ``ItemSet`` (see
            :func:`svta.eval.evaluate`); ``None``: the root the run was trained on.
        out: a split's folder for ``metrics.json``, ``results.md/.tex/.csv`` and ``analysis/`` (default:
            ``RUN/eval/SPLIT``, or ``eval-<FILE>/SPLIT`` beside a weight file). Not used for a set.
        json_out: also write the metrics JSON here (a set: the transfer report, Markdown beside it; default
            ``RUN/transfer/<dataset>.json``).
        analysis: a split's breakdowns and figures (``analysis/``).
        label: the method's table label (default: the run's model and backbone, else ``model_name`` or the weight
            file's name).
        split, model_name, options: as :func:`svta.eval.evaluate` takes them.
    """
    from svta.eval.api import evaluate
    from svta.retrieval.evaluate import EvalReport

    report = evaluate(
        model,
        data,
        split=split,
        model_name=model_name,
        keep_topk=_keep_topk(data, options.get("exclude"), analysis),
        **options,
    )
    if not isinstance(report, EvalReport):
        return EvalOutputs(report, _write_transfer(report, model, json_out))
    return EvalOutputs(report, _write_split(report, model, data, out, json_out, analysis, label, model_name))


def _keep_topk(data: Any, exclude: Any, analysis: bool) -> int:
    """Top-k lists for a split's analysis; a set (another dataset, or a clean view) keeps none."""
    from svta.eval.api import split_root
    from svta.retrieval.analysis import KEEP_TOPK

    a_split = exclude is None and (data is None or split_root(data, None) is not None)
    return KEEP_TOPK if analysis and a_split else 0


def _write_split(
    report: EvalReport,
    model: Any,
    data: Any,
    out: Path | None,
    json_out: Path | None,
    analysis: bool,
    label: str | None,
    model_name: str | None,
) -> dict[str, Path]:
    from svta.errors import InputError
    from svta.retrieval.results import write_eval_outputs
    from svta.tables import atomic_write_json

    run_dir, weights = _model_paths(model)
    folder = out or _default_folder(run_dir, weights, report.split)
    if folder is None:
        raise InputError("a model object has no folder of its own: give out=FOLDER for its tables")
    paths: dict[str, Path] = {}
    if json_out is not None:
        atomic_write_json(json_out, report.to_json_dict())
        paths["json_out"] = json_out
    table_root = Path(data) if data is not None else _recorded_root(run_dir)
    label = label or _label(run_dir, weights, model_name)
    written = write_eval_outputs(report, folder, label, root=table_root, analysis=analysis)
    return {**paths, "metrics": Path(folder) / "metrics.json", **written}


def _write_transfer(report: TransferReport, model: Any, json_out: Path | None) -> dict[str, Path]:
    from svta.transfer.evaluate import report_slug, write_transfer_report

    run_dir, _ = _model_paths(model)
    target = json_out or (run_dir / "transfer" / f"{report_slug(report.dataset['name'])}.json" if run_dir else None)
    if target is None:
        return {}
    json_path, markdown = write_transfer_report(report, target)
    return {"json": json_path, "markdown": markdown}


def _model_paths(model: Any) -> tuple[Path | None, Path | None]:
    """``(run folder, weight file)`` of a model source (both ``None`` for a model object)."""
    if not isinstance(model, (str, Path)):
        return None, None
    path = Path(model)
    return (path, None) if path.is_dir() else (None, path)


def _default_folder(run_dir: Path | None, weights: Path | None, split: str) -> Path | None:
    if run_dir is not None:
        return run_dir / "eval" / split
    return weights.parent / f"eval-{weights.name}" / split if weights is not None else None


def _recorded_root(run_dir: Path | None) -> Path | None:
    from svta.retrieval.model_source import recorded_root

    return recorded_root(run_dir) if run_dir is not None else None


def _label(run_dir: Path | None, weights: Path | None, model_name: str | None) -> str:
    """The method's table label: the run's model and backbone, else the model name or the weight file's name."""
    from svta.retrieval.results import method_label, read_config

    if run_dir is not None:
        train = read_config(run_dir).get("train") or {}
        return method_label({"model": train.get("model") or run_dir.name, "backbone": train.get("backbone")})
    return method_label({"model": model_name or (weights.name if weights else "model")})
