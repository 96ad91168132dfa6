"""The search encoder of a trained svta retrieval run (``runs/<name>/`` from ``svta train``): texts
and videos are encoded exactly as the model was trained (tokeniser, frame sampling, crop), and
models with a second stage (tightTransf's cross encoder, X-CLIP's fine-grained similarity, GRAM's
matching head) get their top candidates re-ranked by it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import ConfigError, InputError
from svta.retrieval.results import BEST_MODEL_FILE as BEST_WEIGHTS
from svta.retrieval.results import CHECKPOINT_DIR, LATEST_POINTER, read_train_config
from svta.retrieval.results import CONFIG_FILE as RUN_CONFIG
from svta.search.encoders import VideoEmbeddings, l2_normalize

# ``frame_features`` of an encoder spec: the index stores the model's own ``VideoFeatures.frames``. X-CLIP and
# GRAM re-rank from them; indexes built before this key existed hold other per-frame features (see RunEncoder).
MODEL_FRAMES = "model"
MODEL_FRAME_MODELS = ("xclip", "gram")


def resolve_run_dir(run: str | Path, root: Path | None = None) -> Path:
    """A run given as a directory, or as a name under ``<root>/runs/``."""
    candidates = [Path(run)] + ([Path(root) / "runs" / str(run)] if root is not None else [])
    for candidate in candidates:
        if (candidate / RUN_CONFIG).is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise InputError(f"no training run at {tried} (expected a {RUN_CONFIG} written by `svta train`)")


def weights_file(run_dir: Path, checkpoint: str = "best") -> Path:
    """The weight file of a run: ``best`` (selected on val), ``last`` (latest checkpoint) or a path."""
    if checkpoint == "best":
        path = run_dir / BEST_WEIGHTS
    elif checkpoint == "last":
        pointer = run_dir / CHECKPOINT_DIR / LATEST_POINTER
        if not pointer.is_file():
            raise InputError(f"{run_dir}: no {CHECKPOINT_DIR}/{LATEST_POINTER} (the run saved no checkpoint)")
        path = run_dir / CHECKPOINT_DIR / json.loads(pointer.read_text(encoding="utf-8"))["file"]
    else:
        path = Path(checkpoint) if Path(checkpoint).is_absolute() else run_dir / checkpoint
    if not path.is_file():
        raise InputError(f"{path}: weight file not found (train the run first, or pick --checkpoint)")
    return path


def file_fingerprint(path: Path) -> str:
    """sha256 of a file, so an index notices when a run's weights are retrained under the same name."""
    from svta.video_io import sha256_file

    return sha256_file(path)[:16]


def encoder_spec_for_run(
    run: str | Path, root: Path | None = None, checkpoint: str = "best", device: str = "cpu"
) -> dict[str, Any]:
    """The ``svta-run`` encoder spec of a run (what ``index.json`` records)."""
    from svta.retrieval.frame_cache import decoder_digest

    run_dir = resolve_run_dir(run, root)
    weights = weights_file(run_dir, checkpoint)
    spec = {
        "name": "svta-run",
        "run": str(run_dir),
        "checkpoint": checkpoint,
        "device": device,
        "fingerprint": file_fingerprint(weights),
        "decoder": decoder_digest(),
    }
    if read_train_config(run_dir).model in MODEL_FRAME_MODELS:
        spec["frame_features"] = MODEL_FRAMES
    return spec


class RunEncoder:
    """Encoders of a trained CLIP4Clip-style run (registered as the ``svta-run`` search encoder).

    Loose heads (meanP, seqLSTM, seqTransf): the clip embedding is the model's pooled video feature and
    the per-frame embeddings are the temporal module's outputs, so per-frame and clip scores share a
    space. Pairwise heads (tightTransf): the first stage uses CLIP's pooled frame features; :meth:`rerank`
    re-scores the top candidates with the cross encoder (stored frames are its raw frame features).
    X-CLIP and GRAM (``frame_features="model"``): the clip embedding is the model's video embedding, the
    stored frames are its ``encode_video(...).frames``, and :meth:`rerank` re-scores the top candidates
    with X-CLIP's full similarity or GRAM's matching head (GRAM: its own ``rerank_k`` of them).

    Args:
        run: run directory.
        checkpoint: ``best`` | ``last`` | a weight file.
        device: torch device.
        fingerprint: expected weights fingerprint (from an index); a mismatch is an error.
        decoder: digest of the frame-decoding code that made the index's video embeddings (see
            :func:`~svta.retrieval.frame_cache.decoder_digest`); an index records it, and adding to an index made by
            other decoding code is refused. ``None``: indexes built before it was recorded.
        batch_size: texts per forward pass.
        decode_workers: threads decoding a batch's clips.
        frame_features: ``"model"``: per-frame embeddings are the model's own frame features; ``None``: the
            layout of indexes built before (an X-CLIP/GRAM index of that kind is searched without re-ranking).
    """

    def __init__(
        self,
        run: str,
        checkpoint: str = "best",
        device: str = "cpu",
        fingerprint: str | None = None,
        batch_size: int = 64,
        decode_workers: int = 8,
        frame_features: str | None = None,
        decoder: str | None = None,
    ):
        import torch

        if frame_features not in (None, MODEL_FRAMES):
            raise ConfigError(f"frame_features must be {MODEL_FRAMES!r} or unset, got {frame_features!r}")
        self.frame_features = frame_features
        self.decoder = decoder
        self.run_dir, self.checkpoint, self.device = Path(run), checkpoint, torch.device(device)
        weights = weights_file(self.run_dir, checkpoint)
        self.fingerprint = file_fingerprint(weights)
        if fingerprint is not None and fingerprint != self.fingerprint:
            raise ConfigError(f"{weights}: the run's weights changed since the index was built; rebuild the index")
        self.train = read_train_config(self.run_dir)
        self.model = _load_model(self.train, weights).to(self.device).eval()
        self.dim = int(self.model.spec.embed_dim) if hasattr(self.model, "spec") else self._probe_dim()
        self.num_frames = int(self.model.max_frames)
        self.pairwise = bool(getattr(self.model, "pairwise", False))
        self.batch_size, self.decode_workers = batch_size, decode_workers
        self.stage = self._second_stage()
        self._blank_frame: Any = None
        if self.stage is not None:  # only models with a second stage re-rank; the searcher looks for this method
            self.rerank = self._second_stage_scores
        if self.stage == "match":  # GRAM re-scores as many candidates as it was evaluated with
            self.rerank_k = int(self.model.rerank_k)
        if self.stage == "xclip":  # X-CLIP's video-level scores also need the stored clip embeddings
            self.rerank_videos = True

    def _second_stage(self) -> str | None:
        """``cross`` (tightTransf), ``xclip``, ``match`` (GRAM's matching head) or ``None`` (first stage only)."""
        from svta.retrieval.base import RetrievalModel
        from svta.retrieval.xclip import XCLIP

        if self.pairwise:
            return "cross"
        model = self.model
        matching = type(model).rerank is not RetrievalModel.rerank and int(getattr(model, "rerank_k", 0)) > 0
        if not isinstance(model, XCLIP) and not matching:
            return None
        if self.frame_features != MODEL_FRAMES:
            from svta.progress import warn

            warn(
                f"this index of {self.run_dir} predates stored {type(model).__name__} frame features: searching "
                "without its second stage; rebuild it (`svta search index --run ...` into a new --out) to re-rank"
            )
            return None
        return "xclip" if isinstance(model, XCLIP) else "match"

    def _second_stage_scores(
        self, query: str, frames: np.ndarray, mask: np.ndarray, videos: np.ndarray | None = None
    ) -> np.ndarray:
        """Second-stage scores ``[K]`` of ``query`` against ``K`` stored clips (higher = better).

        Args:
            query: the text query.
            frames: ``[K, T, D]`` stored frame features (the model's ``VideoFeatures.frames``).
            mask: ``[K, T]`` bool, True on real frames (valid frames first).
            videos: ``[K, D]`` stored clip embeddings (X-CLIP only).
        """
        import torch

        from svta.retrieval.base import VideoFeatures

        text = self._query_features(query)
        with torch.inference_mode():
            frames_t = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).to(self.device)
            mask_t = torch.from_numpy(mask.astype(np.int64)).to(self.device)
            embeds = None
            if self.stage == "xclip":
                if videos is None:
                    raise InputError("X-CLIP re-ranking needs the candidates' clip embeddings (videos=)")
                embeds = torch.from_numpy(np.asarray(videos, dtype=np.float32)).to(self.device)
                frames_t = self._with_blank_padding(frames_t, mask_t)
            video = VideoFeatures(embeds=embeds, frames=frames_t, mask=mask_t)
            if self.stage == "match":
                pairs = torch.arange(len(frames), device=self.device)[None]
                return self.model.rerank(text, video, pairs)[0].float().cpu().numpy()
            return self.model.similarity(text, video)[0].float().cpu().numpy()

    def _with_blank_padding(self, frames: Any, mask: Any) -> Any:
        """X-CLIP attends over padded frames too (unless ``mask_padding``): the index stores zeros there, the
        model saw the features of a zero frame, so those are put back."""
        import torch
        import torch.nn.functional as F

        if getattr(self.model, "mask_padding", False) or bool(mask.all()):
            return frames
        if self._blank_frame is None:
            size = int(self.model.image_size)
            blank = torch.zeros(1, 1, 3, size, size, device=self.device)
            self._blank_frame = F.normalize(self.model.encode_frames(blank).float(), dim=-1)[0, 0]
        return torch.where(mask.bool()[..., None], frames, self._blank_frame.to(frames.dtype))

    def _query_features(self, query: str) -> Any:
        """The model's full text features of one query (sentence, and word/token states where it has them)."""
        import torch

        from svta.retrieval.tokenizer import tokenize

        tokens, mask = tokenize([query], self.model.max_words)
        with torch.inference_mode():
            return self.model.encode_text(tokens.to(self.device), mask.to(self.device))

    def spec(self) -> dict[str, Any]:
        spec = {
            "name": "svta-run",
            "run": str(self.run_dir),
            "checkpoint": self.checkpoint,
            "device": str(self.device),
            "fingerprint": self.fingerprint,
        }
        if self.decoder is not None:
            spec["decoder"] = self.decoder
        if self.frame_features is not None:
            spec["frame_features"] = self.frame_features
        return spec

    def _probe_dim(self) -> int:
        return int(self._text_features(["a"]).shape[1])

    def _text_features(self, texts: Sequence[str]) -> Any:
        """``[N, D]`` raw sentence features (unit-norm for loose heads, unscaled for pairwise ones)."""
        import torch

        from svta.retrieval.tokenizer import tokenize

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                tokens, mask = tokenize(list(texts[start : start + self.batch_size]), self.model.max_words)
                out.append(self.model.encode_text(tokens.to(self.device), mask.to(self.device)).embeds.float())
        return torch.cat(out) if out else torch.zeros(0, self.dim)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``N`` queries → ``[N, D]`` unit rows."""
        return l2_normalize(self._text_features(texts).cpu().numpy())

    def encode_videos(self, paths: Sequence[Path]) -> VideoEmbeddings:
        """Decode, crop and normalise frames as in training, then encode → :class:`VideoEmbeddings`."""
        import torch
        import torch.nn.functional as F

        frames, mask, times = self._load_frames(paths)
        with torch.inference_mode():
            frames_t = frames.to(self.device)
            mask_t = mask.to(self.device)
            if self.frame_features == MODEL_FRAMES:  # exactly what the model's second stage scores
                features = self.model.encode_video(frames_t, mask_t)
                per_frame, video = features.frames, features.embeds
                if per_frame is None or video is None:
                    raise ConfigError(
                        f"{type(self.model).__name__} gives no clip and frame features together; "
                        f"frame_features={MODEL_FRAMES!r} is for X-CLIP and GRAM runs"
                    )
            else:
                per_frame = self._frame_features(frames_t, mask_t)  # [B, T, D]
                video = self._video_features(frames_t, mask_t, per_frame)
        per_frame_np = per_frame.float().cpu().numpy()
        mask_np = mask.numpy().astype(bool)
        if self.frame_features == MODEL_FRAMES:
            per_frame_np = per_frame_np * mask_np[..., None]  # padding is stored as zeros
        elif not self.pairwise:
            per_frame_np = F.normalize(torch.from_numpy(per_frame_np), dim=-1).numpy() * mask_np[..., None]
        return VideoEmbeddings(
            l2_normalize(video.float().cpu().numpy()), per_frame_np.astype(np.float32), mask_np, times
        )

    def _frame_features(self, frames: Any, mask: Any) -> Any:
        model = self.model
        if hasattr(model, "encode_frames"):
            features = model.encode_frames(frames)
            return features if self.pairwise or not hasattr(model, "temporal") else model.temporal(features, mask)
        # A model without per-frame hooks: encode each frame as a one-frame clip.
        b, t = frames.shape[:2]
        single = model.encode_video(frames.flatten(0, 1)[:, None], mask.flatten(0, 1)[:, None].clamp(max=1))
        return (single.embeds if single.embeds is not None else single.frames[:, 0]).view(b, t, -1)

    def _video_features(self, frames: Any, mask: Any, per_frame: Any) -> Any:
        import torch.nn.functional as F

        if not self.pairwise and not hasattr(self.model, "encode_frames"):
            return self.model.encode_video(frames, mask).embeds
        # CLIP4Clip's pooling of unit frame features; for loose heads this equals encode_video's output
        weights = mask.to(per_frame.dtype).unsqueeze(-1)
        pooled = (F.normalize(per_frame, dim=-1) * weights).sum(1) / weights.sum(1).clamp(min=1)
        return F.normalize(pooled, dim=-1)

    def _load_frames(self, paths: Sequence[Path]) -> tuple[Any, Any, np.ndarray]:
        """``[B, T, 3, S, S]`` normalised frames, ``[B, T]`` mask and ``[B, T]`` seconds, as the trainer samples.

        Clips decode in a thread pool: PyAV and torch release the GIL, and decoding, not the model, bounds
        indexing on a GPU (ViT-B/32, 12 frames, on an H100: 23-26 clips/s with 1 decode thread, 34 with 8).
        """
        import torch

        t, size = self.num_frames, self.model.preprocess.size
        pixels = np.zeros((len(paths), t, size, size, 3), dtype=np.uint8)
        mask = torch.zeros(len(paths), t, dtype=torch.long)
        times = np.full((len(paths), t), np.nan, dtype=np.float32)
        workers = max(1, min(self.decode_workers, len(paths)))
        with ThreadPoolExecutor(workers) as pool:
            for i, (frames, seconds) in enumerate(pool.map(self._decode, paths)):  # raises the first failure
                n = len(frames)
                pixels[i, :n], times[i, :n] = frames, seconds
                mask[i, :n] = 1
        return self.model.preprocess.normalize(torch.from_numpy(pixels), mask), mask, times

    def _decode(self, path: Path) -> tuple[np.ndarray, list[float]]:
        """One clip's sampled frames, resized and centre-cropped: ``[n, S, S, 3]`` uint8 and their seconds."""
        from svta.video_io import read_clip

        t, sample_fps = self.num_frames, getattr(self.train, "sample_fps", None)
        clip = read_clip(Path(path), num_frames=None if sample_fps else t, sample_fps=sample_fps, max_frames=t)
        n = min(t, len(clip.frames))
        return self.model.preprocess.resize_crop(clip.frames[:n]), list(clip.times[:n])


def _load_model(train: Any, weights: Path) -> Any:
    from svta.retrieval.checkpoint import model_from_checkpoint

    # The run's recipe fixes the architecture; the CLIP shape comes from the weights, so nothing is downloaded.
    return model_from_checkpoint(weights, train.model, **train.model_overrides())
