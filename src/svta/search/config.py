"""Configuration of the search service (stage 7): how videos are indexed and how the HTTP
service answers, including the limits that keep it safe to expose.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from svta._configbase import StrictModel

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class SearchConfig(StrictModel):
    """``svta search index`` and ``svta search serve`` settings."""

    # serving
    host: str = "127.0.0.1"  # loopback unless told otherwise
    port: int = 8000
    allowed_hosts: list[str] | None = None  # Host headers accepted; None: loopback names when bound to loopback
    default_k: int = 12
    max_k: int = 100
    max_query_chars: int = 1000
    max_url_bytes: int = 4096  # longer request targets are refused with 414
    max_body_bytes: int = 1024  # the API takes no bodies; anything larger is refused with 413
    limit_concurrency: int = 64  # uvicorn answers 503 beyond this many connections/requests in flight
    text_cache_size: int = 1024  # query embeddings kept (an LRU), so repeated queries skip the encoder
    # Batches of >= this many queries use FAISS's BLAS path. FAISS's default (20) leaves small batches on a
    # per-query scan; measured on 41,315x512 with 1 thread: 8 queries 54 ms scanned, 15 ms through BLAS.
    faiss_blas_threshold: int = 4
    # OpenMP threads per FAISS call. OpenMP teams started from several request threads oversubscribe the cores,
    # so 1 is the default. 0: all cores.
    faiss_threads: int = 1
    coalesce_queries: bool = True  # answer concurrent queries in one FAISS call (one pass over the vectors)
    rerank_top: int = 50  # candidates re-scored by models whose similarity is not a dot product
    # Two-stage search: an IVF index of 8-bit clip vectors proposes `candidates` per query (scanning ivf_probe of
    # ivf_lists lists), whose exact float32 scores then rank them; false: the exact scan of every vector.
    two_stage: bool = True
    # Indexes smaller than this are scanned exactly even with two_stage: a first stage over few lists misses true
    # top-10s (98 demo clips: the exact top 10 for 6 of 10 queries), and the exact scan of 41,315x512 takes
    # ~2 ms per query (RESULTS.md), next to ~50 ms of encoding the query with a model.
    two_stage_min_items: int = 50_000
    candidates: int = 100  # first-stage candidates re-scored exactly (at least k)
    ivf_lists: int = 0  # inverted lists of the first stage; 0: about sqrt(N)
    ivf_probe: int = 0  # lists scanned per query; 0: a third of them (more: higher recall, slower)
    # indexing
    batch_size: int = 16  # videos per encoder call
    commit_every: int = 256  # videos per committed part (a crash re-encodes at most these)
    thumbnail_size: int = 256  # longest side of the JPEG thumbnails, pixels
    # where encoding runs is the top-level ``engine:`` section (search.engine/workers/ray_address are read as
    # deprecated aliases of engine.name/workers/ray_address)
    device: str = "cpu"  # torch device of a trained model's encoders
    encoder_options: dict[str, int | float | str | bool] = Field(default_factory=dict)

    @field_validator("faiss_threads", "ivf_lists", "ivf_probe", "two_stage_min_items")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must be >= 0, got {value}")
        return value

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError(f"port must be 0-65535, got {value}")
        return value

    @field_validator(
        "default_k",
        "max_k",
        "max_query_chars",
        "max_url_bytes",
        "limit_concurrency",
        "batch_size",
        "commit_every",
        "thumbnail_size",
        "rerank_top",
        "candidates",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be >= 1, got {value}")
        return value

    @model_validator(mode="after")
    def _default_k_within_max(self) -> SearchConfig:
        if self.default_k > self.max_k:
            raise ValueError(f"default_k {self.default_k} exceeds max_k {self.max_k}")
        return self
