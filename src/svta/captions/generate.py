"""Stage 1 runner: write captions for every category with the configured backend into
``<root>/captions.parquet``, resuming from what is already stored.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svta.captions import llm as _llm  # noqa: F401 - registers the "openai" backend
from svta.captions import template as _template  # noqa: F401 - registers the "template" backend
from svta.captions.base import CAPTION_BACKENDS, CaptionSink, CategoryJob, allocate_counts
from svta.captions.config import CaptionsConfig
from svta.errors import ConfigError, InputError
from svta.tables import PartWriter, table_path
from svta.taxonomy import Category, Taxonomy, resolve_taxonomy


@dataclass
class GenerateResult:
    """What :func:`generate_captions` did.

    Attributes:
        table: The captions table written.
        backend: The backend's registry name.
        source: The ``source`` value of its rows.
        targets: Captions wanted per category.
        counts: Captions of this backend per category after the run.
        added: Rows written by this run.
        seconds: Wall time.
        stats: The backend's counters (requests, retries, refusals, duplicates, tokens, ...).
    """

    table: Path
    backend: str
    source: str
    targets: dict[str, int]
    counts: dict[str, int]
    added: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(self.counts.get(cid, 0) >= n for cid, n in self.targets.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "backend": self.backend,
            "source": self.source,
            "added": self.added,
            "total": sum(self.counts.values()),
            "target": sum(self.targets.values()),
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
            "stats": self.stats,
        }


def select_categories(taxonomy: Taxonomy, names: list[str] | None) -> list[Category]:
    """The categories named in the config (ids, names or synonyms), or all of them.

    Raises:
        ConfigError: A name is not in the taxonomy (the message lists close matches).
    """
    if not names:
        return list(taxonomy)
    return list({c.id: c for c in (taxonomy.get(name) for name in names)}.values())


def build_backend(config: CaptionsConfig, seed: int) -> Any:
    """The configured backend, built once (registry kind ``caption_backend``)."""
    factory = CAPTION_BACKENDS.get(config.backend)
    backend = factory(config, seed)
    if not getattr(backend, "source", None):
        raise ConfigError(f"caption backend {config.backend!r} has no 'source' name")
    return backend


def generate_captions(
    root: Path | str,
    config: CaptionsConfig | None = None,
    seed: int = 0,
    taxonomy: Taxonomy | Path | str | None = None,
) -> GenerateResult:
    """Write captions per category into ``<root>/captions.parquet`` until each reaches its target.

    Resumable: the rows this backend already stored count toward the targets, every commit is an
    atomic part, and the parts are compacted into the table at the end. Captions whose text is
    already in the table (from any source) are not written again.

    Args:
        root: The dataset root.
        config: The ``captions`` section (defaults when ``None``).
        seed: Seed of every random choice and part of every row id.
        taxonomy: A taxonomy, a path to one, or ``None`` for the shipped 68 + 30 categories.

    Returns:
        Per-category targets and counts, rows added and the backend's counters. A category whose
        requests failed for good is left short (``complete`` is False; ``stats["failed"]`` says why).

    Raises:
        BackendError: The backend cannot work at all (an LLM server that is down or rejects the key).
    """
    started = time.perf_counter()
    config = config or CaptionsConfig()
    root = Path(root)
    taxonomy = resolve_taxonomy(taxonomy)
    categories = select_categories(taxonomy, config.categories)
    targets = allocate_counts(categories, config, seed)
    if not any(targets.values()):
        raise InputError("captions.per_category (-n) is 0 and no category has a count: nothing to generate")
    backend = build_backend(config, seed)
    writer = PartWriter(table_path(root, "captions"), "captions")
    existing = writer.read_all()
    done = _counts_of(existing, backend.source)
    jobs = [CategoryJob(c, targets[c.id], done.get(c.id, 0)) for c in categories]
    check = getattr(backend, "check", None)
    if check is not None and any(job.need for job in jobs):
        check()  # e.g. a dead LLM server: fail before anything is written
    root.mkdir(parents=True, exist_ok=True)
    sink = CaptionSink(root, writer, jobs, existing.column("caption").to_pylist(), backend.source, seed, config.filter)
    try:
        stats = backend.generate(jobs, sink)
    finally:
        sink.flush()  # a failing backend keeps what it had accepted
        writer.compact()
    return GenerateResult(
        table=writer.table_path,
        backend=config.backend,
        source=backend.source,
        targets=targets,
        counts={c.id: sink.counts[c.id] for c in categories},
        added=sink.added,
        seconds=time.perf_counter() - started,
        stats=stats or {},
    )


def _counts_of(table: Any, source: str) -> dict[str, int]:
    rows = zip(table.column("source").to_pylist(), table.column("category").to_pylist())
    return dict(Counter(category for src, category in rows if src == source and category is not None))
