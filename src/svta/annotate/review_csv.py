"""CSV round trip for spreadsheet reviewers: one row per caption with its predicted category; the
reviewer fills (or corrects) the ``category`` column and the file comes back as reviewed labels.
"""

from __future__ import annotations

import csv
from pathlib import Path

from svta.annotate.review import ReviewImportResult, apply_reviews, resolve_choice, review_items
from svta.errors import InputError
from svta.tables import atomic_path
from svta.taxonomy import Taxonomy, resolve_taxonomy

COLUMNS = ("id", "caption", "video", "predicted", "confidence", "method", "category")


def export_review_csv(
    root: Path | str,
    out_path: Path | str | None = None,
    *,
    taxonomy: Taxonomy | Path | str | None = None,
    prefill: bool = False,
    include_reviewed: bool = False,
    max_confidence: float | None = None,
) -> tuple[int, Path]:
    """Write the review sheet; returns (rows, path).

    Args:
        root: the dataset root.
        out_path: the CSV file (default ``<root>/review/review.csv``).
        taxonomy: the categories (names are written, ids or names are read back).
        prefill: copy the prediction into ``category`` (the reviewer only corrects mistakes; every
            row that comes back then counts as reviewed). Off: ``category`` starts blank and only
            the rows a reviewer filled are imported.
        include_reviewed: also list captions already reviewed.
        max_confidence: only captions whose current label is less confident than this.
    """
    root, taxonomy = Path(root), resolve_taxonomy(taxonomy)
    path = Path(out_path) if out_path else root / "review" / "review.csv"
    items = review_items(root, taxonomy, include_reviewed=include_reviewed, max_confidence=max_confidence)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for item in items:
            predicted = taxonomy.get(item.predicted).name if item.predicted else ""
            confidence = "" if item.confidence is None else f"{item.confidence:.4f}"
            row = [item.id, item.caption, item.video or "", predicted, confidence, item.method]
            writer.writerow([*row, predicted if prefill else ""])
    return len(items), path


def import_review_csv(
    root: Path | str, csv_path: Path | str, *, taxonomy: Taxonomy | Path | str | None = None
) -> ReviewImportResult:
    """Read a reviewed sheet (columns ``id`` and ``category``; others ignored) into ``labels.parquet``.

    Rows with a blank ``category`` are skipped.

    Raises:
        InputError: a missing column, or a category that is not in the taxonomy (names the line).
    """
    taxonomy, csv_path = resolve_taxonomy(taxonomy), Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"{csv_path}: review CSV not found")
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:  # spreadsheets often add a BOM
        reader = csv.DictReader(handle)
        missing = [c for c in ("id", "category") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{csv_path}: missing column(s) {missing}; found {reader.fieldnames}")
        reviews, n_rows = [], 0
        for row in reader:
            n_rows += 1
            where = f"{csv_path}: line {reader.line_num} (id {row.get('id')!r})"
            value = (row.get("category") or "").strip()
            if not value:
                continue
            if not (row.get("id") or "").strip():
                raise InputError(f"{where}: empty id")
            reviews.append((row["id"].strip(), resolve_choice(value, taxonomy, where), where))
    return apply_reviews(root, reviews, taxonomy, n_rows=n_rows)
