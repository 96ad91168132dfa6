"""A person confirms overlap pairs: ``svta eval overlap`` writes every flagged pair to ``overlap_review.csv``
(fill its ``verdict`` column) and to Label Studio tasks (``overlap_tasks.json`` + ``overlap_label_config.xml``,
the same task layout as ``svta annotate review``: ``data`` with ``svta_id``, the guess as a ``choices``
prediction). Reading the reviewed CSV or a Label Studio export back keeps only confirmed near pairs, so the
clean numbers of ``svta eval --exclude-overlap`` rest on them; the report lists which pairs were used.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from svta.errors import InputError
from svta.tables import atomic_write_json, atomic_write_text
from svta.transfer.overlap import KINDS, OverlapReport

REVIEW_CSV, TASKS_FILE, CONFIG_FILE = "overlap_review.csv", "overlap_tasks.json", "overlap_label_config.xml"
SAME, DIFFERENT = "same event", "different event"
FROM_NAME, TO_NAME = "verdict", "caption"
COLUMNS = (
    "pair_id",
    "verdict",
    "kind",
    "score",
    "why",
    "eval_id",
    "eval_ref",
    "eval_caption",
    "train_id",
    "train_ref",
    "train_caption",
)
_YES = {"same", "same event", "same_event", "yes", "y", "1", "true", "confirmed", "confirm"}
_NO = {"different", "different event", "different_event", "no", "n", "0", "false", "rejected", "reject"}


@dataclass
class ReviewFiles:
    csv: Path
    tasks: Path
    config: Path
    n_pairs: int


def write_review_files(report: OverlapReport, out_dir: Path | str) -> ReviewFiles:
    """Write the review CSV (empty ``verdict`` column) and the Label Studio tasks and labelling config."""
    out_dir = Path(out_dir)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for pair in report.pairs:
        writer.writerow({**pair, "verdict": "", "why": pair.get("why", "")})
    atomic_write_text(out_dir / REVIEW_CSV, buffer.getvalue())
    atomic_write_json(out_dir / TASKS_FILE, [review_task(pair) for pair in report.pairs])
    atomic_write_text(out_dir / CONFIG_FILE, labeling_config())
    return ReviewFiles(out_dir / REVIEW_CSV, out_dir / TASKS_FILE, out_dir / CONFIG_FILE, len(report.pairs))


def review_task(pair: dict[str, Any]) -> dict[str, Any]:
    """One Label Studio task: both captions, the evidence, and the checker's guess as a prediction."""
    data = {
        "svta_id": pair["pair_id"],
        "caption": pair["eval_caption"],
        "train_caption": pair["train_caption"],
        "kind": pair["kind"],
        "why": pair.get("why", ""),
        "eval_id": pair["eval_id"],
        "train_id": pair["train_id"],
    }
    score = float(pair.get("signals", {}).get("probability", pair["score"]))
    result = {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": [SAME]}}
    return {"data": data, "predictions": [{"model_version": f"svta-overlap-{pair['kind']}", "score": score,
                                           "result": [result]}]}  # fmt: skip


def labeling_config() -> str:
    """Label Studio's interface: the two captions, why they were paired, one choice: same or different event."""
    return (
        "<View>\n"
        '  <Header value="Evaluation caption"/>\n'
        f'  <Text name="{TO_NAME}" value="$caption"/>\n'
        '  <Header value="Training caption"/>\n'
        '  <Text name="train_caption" value="$train_caption"/>\n'
        '  <Text name="why" value="$why"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInLine="true">\n'
        f"    <Choice value={quoteattr(SAME)} hint={quoteattr('both describe the same recorded event')}/>\n"
        f"    <Choice value={quoteattr(DIFFERENT)} hint={quoteattr('different events, or too generic to tell')}/>\n"
        "  </Choices>\n"
        "</View>\n"
    )


def read_review(path: Path | str) -> dict[str, bool]:
    """``{pair id: confirmed}`` from a reviewed ``overlap_review.csv`` or a Label Studio JSON export.

    Rows with an empty verdict are left out (unreviewed).

    Raises:
        InputError: unreadable file, no ``pair_id``/``verdict`` columns, or a verdict that is neither.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the review file ({exc})") from None
    if path.suffix.lower() == ".json":
        return _read_label_studio(path, text)
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or not {"pair_id", "verdict"} <= set(rows.fieldnames):
        raise InputError(f"{path}: a review CSV needs 'pair_id' and 'verdict' columns, found {rows.fieldnames}")
    verdicts: dict[str, bool] = {}
    for line, row in enumerate(rows, start=2):
        verdict = _verdict(row.get("verdict"), f"{path}: line {line}")
        if verdict is not None:
            verdicts[str(row["pair_id"]).strip()] = verdict
    return verdicts


def _read_label_studio(path: Path, text: str) -> dict[str, bool]:
    from svta.annotate.labelstudio import task_choice

    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not a readable Label Studio JSON export ({exc})") from None
    if not isinstance(entries, list):
        raise InputError(f"{path}: expected a JSON list of tasks, found {type(entries).__name__}")
    verdicts: dict[str, bool] = {}
    for index, entry in enumerate(entries):
        data = entry.get("data", entry) if isinstance(entry, dict) else None
        if not isinstance(data, dict) or not data.get("svta_id"):
            raise InputError(f"{path}: task {index}: no svta_id in the task data (was it exported by svta?)")
        verdict = _verdict(task_choice(entry, FROM_NAME), f"{path}: task {data['svta_id']}")
        if verdict is not None:
            verdicts[str(data["svta_id"])] = verdict
    return verdicts


def _verdict(value: Any, where: str) -> bool | None:
    text = str(value or "").strip().lower()
    if not text:
        return None
    if text in _YES or text in _NO:
        return text in _YES
    raise InputError(f"{where}: verdict {value!r} is neither '{SAME}' nor '{DIFFERENT}' (or yes / no)")


def apply_review(report: OverlapReport, verdicts: dict[str, bool], source: str) -> OverlapReport:
    """The report with a person's verdicts applied.

    Near pairs count only when confirmed (unreviewed near pairs are dropped); exact, source, identical-file
    and video pairs stand unless rejected. Flagged ids and counts are recomputed from the kept pairs.

    Raises:
        InputError: no verdict names a pair of this report (a review of another check).
    """
    ids = {pair["pair_id"] for pair in report.pairs}
    if verdicts and not ids & set(verdicts):
        raise InputError(f"{source}: no reviewed pair belongs to this overlap report ({len(verdicts)} verdicts)")
    trimmed = [k for k in KINDS if report.n_pairs.get(k, 0) > sum(p["kind"] == k for p in report.pairs)]
    kept: list[dict[str, Any]] = []
    confirmed: list[str] = []
    rejected: list[str] = []
    unreviewed: list[str] = []
    for pair in report.pairs:
        verdict = verdicts.get(pair["pair_id"])
        (confirmed if verdict else rejected if verdict is False else unreviewed).append(pair["pair_id"])
        if verdict or (verdict is None and pair["kind"] != "near"):
            kept.append(pair)
    flagged = _flags(kept, "eval_id", report.flagged, trimmed)
    train_flagged = _flags(kept, "train_id", report.train_flagged, trimmed)
    counts = {k: sum(k in found for found in flagged.values()) for k in KINDS}
    counts["any"], counts["clean"] = len(flagged), report.eval["n_items"] - len(flagged)
    review = {
        "file": source,
        "confirmed": confirmed,
        "rejected": rejected,
        "unreviewed": [p for p in unreviewed if p.startswith("near:")],
        "counts_before": dict(report.counts),
    }
    return replace(report, flagged=flagged, train_flagged=train_flagged, counts=counts, review=review)


def _flags(
    pairs: list[dict[str, Any]], side: str, before: dict[str, list[str]], trimmed: list[str]
) -> dict[str, list[str]]:
    """``{id: [kinds]}`` from kept pairs; a kind whose listing was trimmed keeps its earlier flags."""
    found: dict[str, set[str]] = {}
    for pair in pairs:
        found.setdefault(pair[side], set()).add(pair["kind"])
    for item, kinds in before.items():
        for kind in set(kinds) & set(trimmed) - {"near"}:
            found.setdefault(item, set()).add(kind)
    return {item: [k for k in KINDS if k in kinds] for item, kinds in found.items()}
