"""The search encoder of a trained svta retrieval run (``runs/<name>/`` from ``svta train``): texts
and videos are encoded exactly as the model was trained (tokeniser, frame sampling, crop), and
models whose score is a cross encoder get their top candidates re-ranked by it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from svta.errors import ConfigError, InputError
from svta.search.encoders import VideoEmbeddings, l2_normalize

RUN_CONFIG = "config.yaml"
BEST_WEIGHTS = "best_model.bin"


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
        pointer = run_dir / "checkpoints" / "latest.json"
        if not pointer.is_file():
            raise InputError(f"{run_dir}: no checkpoints/latest.json (the run saved no checkpoint)")
        path = run_dir / "checkpoints" / json.loads(pointer.read_text(encoding="utf-8"))["file"]
    else:
        path = Path(checkpoint) if Path(checkpoint).is_absolute() else run_dir / checkpoint
    if not path.is_file():
        raise InputError(f"{path}: weight file not found (train the run first, or pick --checkpoint)")
    return path


def file_fingerprint(path: Path) -> str:
    """sha256 of a file, so an index notices when a run's weights are retrained under the same name."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def encoder_spec_for_run(
    run: str | Path, root: Path | None = None, checkpoint: str = "best", device: str = "cpu"
) -> dict[str, Any]:
    """The ``svta-run`` encoder spec of a run (what ``index.json`` records)."""
    run_dir = resolve_run_dir(run, root)
    weights = weights_file(run_dir, checkpoint)
    return {
        "name": "svta-run",
        "run": str(run_dir),
        "checkpoint": checkpoint,
        "device": device,
        "fingerprint": file_fingerprint(weights),
    }


class RunEncoder:
    """Encoders of a trained CLIP4Clip-style run (registered as the ``svta-run`` search encoder).

    Loose heads (meanP, seqLSTM, seqTransf): the clip embedding is the model's pooled video feature and
    the per-frame embeddings are the temporal module's outputs, so per-frame and clip scores share a
    space. Pairwise heads (tightTransf): the first stage uses CLIP's pooled frame features; :meth:`rerank`
    re-scores the top candidates with the cross encoder (stored frames are its raw frame features).

    Args:
        run: run directory.
        checkpoint: ``best`` | ``last`` | a weight file.
        device: torch device.
        fingerprint: expected weights fingerprint (from an index); a mismatch is an error.
        batch_size: texts per forward pass.
        decode_workers: threads decoding a batch's clips.
    """

    def __init__(
        self,
        run: str,
        checkpoint: str = "best",
        device: str = "cpu",
        fingerprint: str | None = None,
        batch_size: int = 64,
        decode_workers: int = 8,
    ):
        import torch

        self.run_dir, self.checkpoint, self.device = Path(run), checkpoint, torch.device(device)
        weights = weights_file(self.run_dir, checkpoint)
        self.fingerprint = file_fingerprint(weights)
        if fingerprint is not None and fingerprint != self.fingerprint:
            raise ConfigError(f"{weights}: the run's weights changed since the index was built; rebuild the index")
        self.train = _train_config(self.run_dir)
        self.model = _load_model(self.train, weights).to(self.device).eval()
        self.dim = int(self.model.spec.embed_dim) if hasattr(self.model, "spec") else self._probe_dim()
        self.num_frames = int(self.model.max_frames)
        self.pairwise = bool(getattr(self.model, "pairwise", False))
        self.batch_size, self.decode_workers = batch_size, decode_workers
        if self.pairwise:  # only cross-encoder models re-rank; the searcher looks for this method
            self.rerank = self._cross_encoder_scores

    def _cross_encoder_scores(self, query: str, frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Cross-encoder scores ``[K]`` of ``query`` against ``K`` stored clips.

        Args:
            query: the text query.
            frames: ``[K, T, D]`` stored raw frame features.
            mask: ``[K, T]`` bool, True on real frames.
        """
        import torch

        from svta.retrieval.base import TextFeatures, VideoFeatures

        text = TextFeatures(embeds=self._text_features([query]))
        with torch.inference_mode():
            video = VideoFeatures(
                frames=torch.from_numpy(frames).to(self.device),
                mask=torch.from_numpy(mask.astype(np.int64)).to(self.device),
            )
            return self.model.similarity(text, video)[0].float().cpu().numpy()

    def spec(self) -> dict[str, Any]:
        return {
            "name": "svta-run",
            "run": str(self.run_dir),
            "checkpoint": self.checkpoint,
            "device": str(self.device),
            "fingerprint": self.fingerprint,
        }

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
            per_frame = self._frame_features(frames_t, mask_t)  # [B, T, D]
            video = self._video_features(frames_t, mask_t, per_frame)
        per_frame_np = per_frame.float().cpu().numpy()
        mask_np = mask.numpy().astype(bool)
        if not self.pairwise:
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

        from svta.retrieval.data import normalize_frames

        t, size = self.num_frames, int(self.model.image_size)
        pixels = np.zeros((len(paths), t, size, size, 3), dtype=np.uint8)
        mask = torch.zeros(len(paths), t, dtype=torch.long)
        times = np.full((len(paths), t), np.nan, dtype=np.float32)
        workers = max(1, min(self.decode_workers, len(paths)))
        with ThreadPoolExecutor(workers) as pool:
            for i, (frames, seconds) in enumerate(pool.map(self._decode, paths)):  # raises the first failure
                n = len(frames)
                pixels[i, :n], times[i, :n] = frames, seconds
                mask[i, :n] = 1
        return normalize_frames(torch.from_numpy(pixels), mask), mask, times

    def _decode(self, path: Path) -> tuple[np.ndarray, list[float]]:
        """One clip's sampled frames, resized and centre-cropped: ``[n, S, S, 3]`` uint8 and their seconds."""
        from svta.retrieval.data import resize_center_crop
        from svta.video_io import read_clip

        t, sample_fps = self.num_frames, getattr(self.train, "sample_fps", None)
        clip = read_clip(Path(path), num_frames=None if sample_fps else t, sample_fps=sample_fps, max_frames=t)
        n = min(t, len(clip.frames))
        return resize_center_crop(clip.frames[:n], int(self.model.image_size)), list(clip.times[:n])


def _train_config(run_dir: Path) -> Any:
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.results import read_config

    data = read_config(run_dir)
    if "train" not in data:
        raise InputError(f"{run_dir / RUN_CONFIG}: no 'train' section (not written by `svta train`?)")
    try:
        return TrainConfig.model_validate(data["train"])
    except ValueError as exc:
        raise InputError(f"{run_dir / RUN_CONFIG}: invalid training config: {exc}") from None


def _load_model(train: Any, weights: Path) -> Any:
    from svta.retrieval.checkpoint import load_model_weights
    from svta.retrieval.factory import create_model

    # pretrained=None: the run's own weights replace CLIP's, so nothing is downloaded
    model = create_model(train.model, train.backbone, None, **train.model_overrides())
    load_model_weights(model, weights)
    return model
