"""Text queries against a loaded index: FAISS top-k over clip embeddings (optionally restricted to
anomaly or normal clips), an optional model re-ranking, and per-frame relevance of each hit.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import InputError
from svta.registry import require
from svta.search.batching import Kind, QueryCoalescer
from svta.search.config import SearchConfig
from svta.search.encoders import Encoder, create_encoder, same_encoder
from svta.search.paths import resolve_inside
from svta.search.store import SAFE_ID, THUMBNAILS_DIR, IndexStore, LoadedIndex

KINDS: tuple[str, ...] = ("all", "anomaly", "normal")


@dataclass
class SearchHit:
    """One ranked video.

    Attributes:
        id: video id.
        score: query-video similarity: the re-ranker's score for the re-scored top candidates of a model with
            a second stage, the first-stage cosine otherwise (and for candidates below the re-scored ones).
        row: the video's row (FAISS id) in the index.
        frame_scores: cosine of the query with each sampled frame, in time order.
        frame_times: seconds of each sampled frame (None where unknown).
    """

    id: str
    score: float
    row: int
    category: str | None
    is_anomaly: bool | None
    caption: str | None
    frame_scores: list[float]
    frame_times: list[float | None]
    has_thumbnail: bool

    @property
    def best_frame(self) -> int | None:
        return int(np.argmax(self.frame_scores)) if self.frame_scores else None


class _LruCache:
    """A small thread-safe LRU of query embeddings."""

    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict[str, np.ndarray](), threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


@dataclass
class SearchPage:
    """The answer to one query, and how much of what was asked it covers.

    Attributes:
        hits: the ranked videos, best first: ``min(k, total_matching)`` of them.
        k: how many were asked for.
        total_matching: indexed videos the kind filter admits (all of them for ``kind="all"``).
        exact: True when the ranking is the exact scan's; False when the index uses the approximate first stage (the
            ranking may then differ from the exact scan's).
    """

    hits: list[SearchHit]
    k: int
    total_matching: int
    exact: bool

    @property
    def complete(self) -> bool:
        """True when ``k`` hits came back; False when fewer videos match the filter than were asked for."""
        return len(self.hits) == self.k


class Searcher:
    """Answers text queries over one index: an exact FAISS scan of the clip vectors, or with
    ``config.two_stage`` on an index of at least ``config.two_stage_min_items`` videos an IVF first stage whose
    candidates are re-scored exactly (:mod:`.two_stage`). Every answer holds ``min(k, matching videos)`` hits.

    Args:
        index: a loaded index.
        encoder: the encoder the index was built with (rebuilt from the index's spec when None).
        config: cache size, FAISS BLAS threshold and re-rank depth.
    """

    def __init__(self, index: LoadedIndex, encoder: Encoder | None = None, config: SearchConfig | None = None):
        self.faiss = require("faiss", "search")
        self.config = config or SearchConfig()
        self.index = index
        self.encoder = encoder if encoder is not None else create_encoder(self._spec_on_device(index.meta.encoder))
        if not same_encoder(self.encoder.spec(), index.meta.encoder):
            raise InputError(
                f"{index.directory}: index was built with encoder {index.meta.encoder}, not {self.encoder.spec()}"
            )
        if self.encoder.dim != index.meta.dim:
            raise InputError(
                f"{index.directory}: encoder gives {self.encoder.dim}-d embeddings, the index holds {index.meta.dim}-d"
            )
        self.root = Path(index.meta.root)
        self.rows = {item["id"]: row for row, item in enumerate(index.items)}
        self._encode_lock = threading.Lock()  # model encoders are not safe to call from several threads
        self._cache = _LruCache(self.config.text_cache_size)
        # Batches of >= this many queries take FAISS's BLAS path (a process-wide FAISS setting; see SearchConfig).
        self.faiss.cvar.distance_compute_blas_threshold = self.config.faiss_blas_threshold
        self._selectors = {kind: self._selector(kind) for kind in ("anomaly", "normal")}
        self._two_stage = self._first_stage() if self.config.two_stage else None
        self._coalescer = QueryCoalescer(self.search_vectors) if self.config.coalesce_queries else None

    def _first_stage(self) -> Any:
        from svta.search.two_stage import TwoStageIndex

        c = self.config
        if len(self.index) < c.two_stage_min_items:  # the exact scan: its top-k is the true top-k
            return None
        return TwoStageIndex(self.index.vectors, lists=c.ivf_lists, probe=c.ivf_probe, candidates=c.candidates)

    @property
    def exact(self) -> bool:
        """Whether rankings are the exact scan's (no approximate first stage)."""
        return self._two_stage is None

    def _spec_on_device(self, spec: dict[str, Any]) -> dict[str, Any]:
        # the device a model encodes queries on is a serving choice, not part of the index
        return {**spec, "device": self.config.device} if "device" in spec else dict(spec)

    @classmethod
    def open(
        cls, index_dir: Path | str, encoder: Encoder | None = None, config: SearchConfig | None = None
    ) -> Searcher:
        """Load the index at ``index_dir`` and its encoder."""
        return cls(IndexStore(index_dir).load(), encoder, config)

    def __len__(self) -> int:
        return len(self.index)

    def close(self) -> None:
        """Stop the query-coalescing thread (the searcher stays usable; it restarts on demand)."""
        if self._coalescer is not None:
            self._coalescer.close()

    def _selector(self, kind: str) -> tuple[Any, np.ndarray, int]:
        wanted = kind == "anomaly"
        mask = np.array([item.get("is_anomaly") is wanted for item in self.index.items], dtype=bool)
        bits = np.packbits(mask, bitorder="little")  # kept referenced: FAISS reads it by pointer
        return self.faiss.IDSelectorBitmap(len(mask), self.faiss.swig_ptr(bits)), bits, int(mask.sum())

    def counts(self) -> dict[str, int]:
        """Videos per kind (a video with no label counts in ``all`` only)."""
        return {"all": len(self.index), **{kind: sel[2] for kind, sel in self._selectors.items()}}

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """``[Q, D]`` float32 query embeddings (cached per text)."""
        out: list[np.ndarray | None] = [self._cache.get(q) for q in queries]
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            with self._encode_lock:
                fresh = self.encoder.encode_texts([queries[i] for i in missing])
            for i, vector in zip(missing, np.asarray(fresh, dtype=np.float32)):
                self._cache.put(queries[i], vector)
                out[i] = vector
        return np.stack(out).astype(np.float32, copy=False)  # type: ignore[arg-type]

    def search_vectors(self, queries: np.ndarray, k: int, kind: Kind = "all") -> tuple[np.ndarray, np.ndarray]:
        """FAISS top-``k`` of ``[Q, D]`` query embeddings → ``(scores [Q, k], rows [Q, k])`` (row -1: no more)."""
        if kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        # OpenMP's thread count is per calling thread, so it is set here, in the thread that searches
        self.faiss.omp_set_num_threads(self.config.faiss_threads or os.cpu_count() or 1)
        selector = None if kind == "all" else self._selectors[kind][0]
        if self._two_stage is not None:
            admitted = len(self.index) if selector is None else self._selectors[kind][2]
            return self._two_stage.search(queries, k, selector, admitted)
        params = None if selector is None else self.faiss.SearchParameters(sel=selector)
        return self.index.vectors.search(queries, k, params=params)

    def search(self, query: str, k: int = 10, kind: Kind = "all") -> list[SearchHit]:
        """The ``k`` best videos for a text query, best first (fewer only when fewer match ``kind``)."""
        return self.search_many([query], k, kind)[0]

    def search_page(self, query: str, k: int = 10, kind: Kind = "all") -> SearchPage:
        """:meth:`search` with how much of the request the answer covers (matching videos, exactness)."""
        hits = self.search(query, k, kind)
        return SearchPage(hits, k, self.counts()[kind], self.exact)

    def search_many(self, queries: Sequence[str], k: int = 10, kind: Kind = "all") -> list[list[SearchHit]]:
        """Batch of queries (one FAISS call; batches use the BLAS path) → hits per query."""
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        vectors = self.embed_queries(queries)
        depth = max(k, self.rerank_depth()) if hasattr(self.encoder, "rerank") else k
        if len(queries) == 1 and self._coalescer is not None:
            one_scores, one_rows = self._coalescer.submit(vectors[0], depth, kind)
            scores, rows = one_scores[None], one_rows[None]
        else:
            scores, rows = self.search_vectors(vectors, depth, kind)
        results = []
        for query, vector, score_row, id_row in zip(queries, vectors, scores, rows):
            keep = id_row >= 0
            candidates, first_stage = id_row[keep], score_row[keep]
            candidates, final = self._rerank(query, candidates, first_stage)
            results.append([self._hit(int(r), float(s), vector) for r, s in zip(candidates[:k], final[:k])])
        return results

    def rerank_depth(self) -> int:
        """First-stage candidates the encoder's second stage re-scores: its own ``rerank_k`` (GRAM's), else
        ``config.rerank_top``."""
        return int(getattr(self.encoder, "rerank_k", None) or self.config.rerank_top)

    def _rerank(self, query: str, rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Re-score the top :meth:`rerank_depth` candidates; the rest stay below them in first-stage order
        (the evaluation engine's ``tail="keep"``)."""
        rerank = getattr(self.encoder, "rerank", None)
        if rerank is None or len(rows) == 0:
            return rows, scores
        n = min(len(rows), self.rerank_depth())
        head = rows[:n]
        frames, mask = self.frames_of(head)
        extra = {"videos": self.vectors_of(head)} if getattr(self.encoder, "rerank_videos", False) else {}
        with self._encode_lock:
            rescored = rerank(query, frames, mask, **extra)
        if rescored is None:
            return rows, scores
        rescored = np.asarray(rescored, dtype=np.float32).reshape(-1)
        if len(rescored) != n:  # a short score list would silently drop candidates
            raise ValueError(f"the re-ranker returned {len(rescored)} scores for {n} candidates")
        order = np.argsort(-np.nan_to_num(rescored, nan=-np.inf), kind="stable")
        return np.concatenate([head[order], rows[n:]]), np.concatenate([rescored[order], scores[n:]])

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """Stored clip embeddings ``[K, D]`` float32 of index rows."""
        return np.asarray(self.index.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64)), dtype=np.float32)

    def frames_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored per-frame embeddings ``[K, T, D]`` float32 and their mask ``[K, T]`` for index rows."""
        frames = np.asarray(self.index.frames[np.sort(rows)], dtype=np.float32)
        frames = frames[np.argsort(np.argsort(rows))]  # back to the callers' order (mmap wants sorted reads)
        counts = np.array([self.index.items[r]["n_frames"] for r in rows])
        mask = np.arange(frames.shape[1])[None, :] < counts[:, None]
        return frames, mask

    def _hit(self, row: int, score: float, query: np.ndarray) -> SearchHit:
        item = self.index.items[row]
        n = int(item["n_frames"])
        frames = np.asarray(self.index.frames[row, :n], dtype=np.float32)
        norms = np.maximum(np.linalg.norm(frames, axis=1), 1e-12)
        query_norm = max(float(np.linalg.norm(query)), 1e-12)
        frame_scores = (frames @ query) / norms / query_norm
        times = [None if t is None or np.isnan(t) else round(float(t), 3) for t in (item.get("frame_times") or [])]
        return SearchHit(
            id=item["id"],
            score=score,
            row=row,
            category=item.get("category"),
            is_anomaly=item.get("is_anomaly"),
            caption=item.get("caption") or None,
            frame_scores=[round(float(s), 5) for s in frame_scores],
            frame_times=times or [None] * n,
            has_thumbnail=bool(item.get("thumbnail")),
        )

    def video_file(self, video_id: str) -> Path | None:
        """The video file of an indexed id, if it is a regular file inside the indexed root."""
        row = self.rows.get(video_id)
        return None if row is None else resolve_inside(self.root, self.index.items[row]["path"])

    def thumbnail_file(self, video_id: str) -> Path | None:
        """The thumbnail JPEG of an indexed id, if it exists inside the index's thumbnail folder."""
        row = self.rows.get(video_id)
        if row is None or not SAFE_ID.match(video_id) or not self.index.items[row].get("thumbnail"):
            return None
        return resolve_inside(self.index.directory / THUMBNAILS_DIR, f"{video_id}.jpg")
