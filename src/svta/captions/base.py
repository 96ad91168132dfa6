"""What a caption backend is and what it writes into: the per-category jobs, the ``CaptionSink`` that
validates, deduplicates and commits captions atomically, and the ``caption_backend`` registry.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from svta.captions.config import CaptionsConfig, FilterConfig
from svta.captions.text import blocked_pattern, check_caption, dedupe_key
from svta.registry import registry
from svta.tables import PartWriter, stable_id
from svta.taxonomy import Category

CAPTION_BACKENDS = registry("caption_backend")


@dataclass(frozen=True)
class CategoryJob:
    """Write captions of ``category`` until ``target`` of this backend's exist (``done`` already do)."""

    category: Category
    target: int
    done: int

    @property
    def need(self) -> int:
        return max(0, self.target - self.done)


@dataclass(frozen=True)
class CaptionDraft:
    """A caption a backend proposes; the sink decides whether it is stored."""

    text: str
    tags: tuple[str, ...] = ()
    source_ref: str | None = None


@dataclass
class CommitStats:
    """What happened to the drafts of one :meth:`CaptionSink.commit`."""

    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    surplus: int = 0  # valid and new, but the category had already reached its target
    reasons: dict[str, int] = field(default_factory=dict)


class CaptionBackend(Protocol):
    """A caption writer: built once with ``factory(config, seed)``, then ``generate(jobs, sink)``."""

    source: str  # the value of the ``source`` column of the rows it writes

    def generate(self, jobs: Sequence[CategoryJob], sink: CaptionSink) -> dict[str, Any]:
        """Propose captions for every job through ``sink.commit`` until ``sink.remaining`` is 0; return stats."""
        ...


class CaptionSink:
    """Validates, deduplicates and commits captions of one backend into the captions table.

    Every :meth:`flush` is one atomic part of a :class:`~svta.tables.PartWriter`: a crash loses at
    most the rows accepted since the last flush, and a restart counts what is already stored.

    Args:
        root: The dataset root (backends may keep side files there, such as token usage).
        writer: The part writer of ``<root>/captions.parquet``.
        jobs: The jobs, whose ``done`` counts seed the per-category counters.
        existing_texts: Captions already in the table (any source): their duplicates are refused.
        source: The ``source`` value of the rows written.
        seed: The run's seed, part of every id.
        filter_config: Validity bounds a caption must pass to be stored.
    """

    def __init__(
        self,
        root: Path,
        writer: PartWriter,
        jobs: Sequence[CategoryJob],
        existing_texts: Sequence[str],
        source: str,
        seed: int,
        filter_config: FilterConfig,
    ):
        self.root, self.writer, self.source, self.seed = root, writer, source, seed
        self.filter_config = filter_config
        self.blocked = blocked_pattern(filter_config)
        self.targets = {job.category.id: job.target for job in jobs}
        self.counts = {job.category.id: job.done for job in jobs}
        self.keys = {dedupe_key(text) for text in existing_texts}
        self.recent: dict[str, list[str]] = defaultdict(list)
        self.pending: list[dict[str, Any]] = []
        self.added = 0  # rows written

    def remaining(self, category_id: str) -> int:
        """How many more captions ``category_id`` needs."""
        return max(0, self.targets[category_id] - self.counts[category_id])

    def commit(self, category_id: str, drafts: Sequence[CaptionDraft], flush: bool = True) -> CommitStats:
        """Accept the valid, new drafts (up to the category's remaining need) and, with ``flush``,
        write everything accepted so far as one atomic part.

        Accepted captions count toward the targets at once; unflushed ones are lost by a crash and
        written again by the next run, so batching commits trades a little redone work for fewer fsyncs.
        """
        stats = CommitStats()
        rows: list[dict[str, Any]] = []
        for draft in drafts:
            check = check_caption(draft.text, self.filter_config, self.blocked)
            if not check.ok:
                stats.invalid += 1
                stats.reasons[check.reason or ""] = stats.reasons.get(check.reason or "", 0) + 1
                continue
            key = dedupe_key(check.text)
            if key in self.keys:
                stats.duplicates += 1
                continue
            if len(rows) >= self.remaining(category_id):
                stats.surplus += 1
                continue
            self.keys.add(key)
            rows.append(self._row(category_id, check.text, key, draft))
        self.pending.extend(rows)
        self.counts[category_id] += len(rows)
        self.recent[category_id].extend(row["caption"] for row in rows)
        stats.accepted = len(rows)
        if flush:
            self.flush()
        return stats

    def flush(self) -> int:
        """Write the accepted, unwritten rows as one atomic part; returns how many."""
        rows, self.pending = self.pending, []
        if rows:
            self.writer.append(rows)
            self.added += len(rows)
        return len(rows)

    def _row(self, category_id: str, text: str, key: str, draft: CaptionDraft) -> dict[str, Any]:
        return {
            "id": stable_id(self.source, category_id, key, self.seed),
            "caption": text,
            "category": category_id,
            "tags": list(draft.tags),
            "source": self.source,
            "source_ref": draft.source_ref,
            "seed": self.seed,
        }


def allocate_counts(categories: Sequence[Category], config: CaptionsConfig, seed: int) -> dict[str, int]:
    """Captions wanted per category: ``per_category`` each, or a seeded Zipf-like long tail.

    With ``long_tail`` the total ``per_category * len(categories)`` is shared by weights
    ``1 / rank**zipf_exponent`` over a seeded random order of the categories (largest-remainder
    rounding, so the total is exact), each getting at least ``min_per_category``. Entries of
    ``config.counts`` override the result for their categories.
    """
    ids = [c.id for c in categories]
    if not config.long_tail or not ids:
        counts = {i: config.per_category for i in ids}
    else:
        counts = _zipf_counts(ids, config.per_category * len(ids), config.zipf_exponent, config.min_per_category, seed)
    for key, value in config.counts.items():
        if key in counts:
            counts[key] = int(value)
    return counts


def _zipf_counts(ids: list[str], total: int, exponent: float, floor: int, seed: int) -> dict[str, int]:
    order = list(ids)
    random.Random(f"svta-long-tail:{seed}").shuffle(order)
    spare = max(0, total - floor * len(order))
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(order))]
    scale = spare / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    # Largest remainder: hand the leftover units to the biggest fractional parts (ties by rank).
    by_remainder = sorted(range(len(order)), key=lambda r: (counts[r] - shares[r], r))
    for r in by_remainder[: spare - sum(counts)]:
        counts[r] += 1
    return {cid: floor + counts[rank] for rank, cid in enumerate(order)}
