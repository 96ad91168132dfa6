"""Caption filtering (stage 1b): normalisation, validity rules, exact and MiniLM near-duplicates,
with every removed caption kept in ``captions.removed.parquet`` and explained in a JSON report.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from svta.captions.config import FilterConfig
from svta.captions.text import blocked_pattern, check_caption, dedupe_key
from svta.progress import info
from svta.tables import SCHEMAS, PartWriter, atomic_write_json, read_table, table_path, write_table

REPORT_FILE = "captions.filter_report.json"
REMOVED_FILE = "captions.removed.parquet"
# The record a release's provenance reads: written in the root whenever a filter run changed the captions
# (the detailed report may be written elsewhere with ``report=``; a dry run writes no record).
RECORD_FILE = "captions.filter.json"


@dataclass
class FilterResult:
    """What :func:`filter_captions` did.

    Attributes:
        table: The filtered captions table.
        kept: Rows kept.
        removed: Rows removed.
        by_reason: Removed rows per reason (``empty``, ``too_long``, ``near_duplicate``, ...).
        report: The JSON report (every removal with its reason and, for duplicates, the kept row).
        timings: Seconds per step (``rules``, ``embed``, ``near_dup``).
    """

    table: Path
    kept: int
    removed: int
    by_reason: dict[str, int]
    report: Path | None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "kept": self.kept,
            "removed": self.removed,
            "by_reason": self.by_reason,
            "report": str(self.report) if self.report else None,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class _Removal:
    index: int
    reason: str
    detail: str = ""
    duplicate_of: int | None = None
    similarity: float | None = None


def apply_rules(captions: list[Any], config: FilterConfig) -> tuple[list[str], list[_Removal]]:
    """Normalise every caption and check the validity rules and exact duplicates (first one kept)."""
    blocked = blocked_pattern(config)
    texts: list[str] = []
    removals: list[_Removal] = []
    first: dict[str, int] = {}  # dedupe key -> index of the caption kept
    for index, caption in enumerate(captions):
        check = check_caption(caption, config, blocked)
        texts.append(check.text)
        if not check.ok:
            removals.append(_Removal(index, check.reason or "", check.detail))
            continue
        if config.exact_duplicates:
            key = dedupe_key(check.text)
            if key in first:
                removals.append(_Removal(index, "exact_duplicate", "", first[key], 1.0))
                continue
            first[key] = index
    return texts, removals


def find_near_duplicates(
    texts: list[str], candidates: list[int], config: FilterConfig
) -> tuple[list[_Removal], float, float]:
    """Near-duplicates among ``texts[candidates]`` by embedding cosine → (removals, embed seconds, search seconds)."""
    from svta.captions.neardup import near_duplicates
    from svta.embed import embed_texts

    if len(candidates) < 2:
        return [], 0.0, 0.0
    started = time.perf_counter()
    embeddings = embed_texts([texts[i] for i in candidates], config.embedder, config.embedder_model)
    embedded = time.perf_counter()
    dup_of, similarity = near_duplicates(embeddings, config.near_threshold, config.block_size)
    searched = time.perf_counter()
    removals = [
        _Removal(
            candidates[row],
            "near_duplicate",
            f"cosine {similarity[row]:.3f}",
            candidates[dup_of[row]],
            float(similarity[row]),
        )
        for row in range(len(candidates))
        if dup_of[row] >= 0
    ]
    return removals, embedded - started, searched - embedded


def filter_captions(
    root: Path | str, config: FilterConfig | None = None, report: Path | str | None = None, dry_run: bool = False
) -> FilterResult:
    """Filter ``<root>/captions.parquet`` in place.

    Rules run in order: validity (empty, control characters, length, charset, blocked terms), exact
    duplicates, then near-duplicates by embedding cosine; the earlier row of a duplicate pair is kept.
    Kept captions are stored normalised; removed rows are appended to ``captions.removed.parquet``.

    Args:
        root: The dataset root.
        config: The filter rules (defaults when ``None``).
        report: Where to write the JSON report (default ``<root>/captions.filter_report.json``).
        dry_run: Report only; leave the tables untouched.

    Returns:
        Counts per reason, the report path and timings.
    """
    config = config or FilterConfig()
    root = Path(root)
    path = table_path(root, "captions")
    writer = PartWriter(path, "captions")
    table = writer.compact() if writer.part_files() else read_table(path, "captions")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    texts, removals = apply_rules(table.column("caption").to_pylist(), config)
    timings["rules"] = time.perf_counter() - started
    if config.near_duplicates:
        gone = {r.index for r in removals}
        candidates = [i for i in range(len(texts)) if i not in gone]
        near, timings["embed"], timings["near_dup"] = find_near_duplicates(texts, candidates, config)
        removals.extend(near)
    by_reason = dict(Counter(r.reason for r in removals))
    report_path = Path(report) if report else root / REPORT_FILE
    _write_report(report_path, table, texts, removals, config, timings)
    if not dry_run:
        _write_tables(root, path, table, texts, {r.index for r in removals})
        _write_record(root, table.num_rows, by_reason, config, report_path)
    info(f"filter: kept {table.num_rows - len(removals)} of {table.num_rows} captions ({by_reason})")
    return FilterResult(path, table.num_rows - len(removals), len(removals), by_reason, report_path, timings)


def _write_tables(root: Path, path: Path, table: pa.Table, texts: list[str], removed: set[int]) -> None:
    keep = [i for i in range(table.num_rows) if i not in removed]
    gone = sorted(removed)
    captions_index = table.schema.get_field_index("caption")
    normalised = table.set_column(captions_index, SCHEMAS["captions"].field("caption"), pa.array(texts, pa.string()))
    removed_path = root / REMOVED_FILE
    if gone:
        previous = [read_table(removed_path, "captions")] if removed_path.exists() else []
        merged = pa.concat_tables([*previous, table.take(pa.array(gone, pa.int64()))])
        ids = merged.column("id").to_pylist()
        last = {value: i for i, value in enumerate(ids)}  # a row removed again keeps one record
        write_table(merged.take(pa.array(sorted(last.values()), pa.int64())), removed_path, "captions")
    write_table(normalised.take(pa.array(keep, pa.int64())), path, "captions")


def _write_record(root: Path, input_rows: int, by_reason: dict[str, int], config: FilterConfig, report: Path) -> None:
    removed = sum(by_reason.values())
    record = {
        "input_rows": input_rows,
        "kept": input_rows - removed,
        "removed": removed,
        "by_reason": by_reason,
        "config": config.model_dump(mode="json"),
        "report": str(report),
        "dry_run": False,
    }
    atomic_write_json(root / RECORD_FILE, record)


def _write_report(
    path: Path,
    table: pa.Table,
    texts: list[str],
    removals: list[_Removal],
    config: FilterConfig,
    timings: dict[str, float],
) -> None:
    ids = table.column("id").to_pylist()
    items = []
    for r in sorted(removals, key=lambda r: r.index):
        item: dict[str, Any] = {
            "id": ids[r.index],
            "row": r.index,
            "reason": r.reason,
            "detail": r.detail,
            "caption": texts[r.index][:200],
        }
        if r.duplicate_of is not None:
            item.update(
                duplicate_of=ids[r.duplicate_of],
                similarity=round(r.similarity or 0.0, 4),
                kept_caption=texts[r.duplicate_of][:200],
            )
        items.append(item)
    atomic_write_json(
        path,
        {
            "input_rows": table.num_rows,
            "kept": table.num_rows - len(removals),
            "removed": len(removals),
            "by_reason": dict(Counter(r.reason for r in removals)),
            "config": config.model_dump(mode="json"),
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "items": items,
        },
    )
