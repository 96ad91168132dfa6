"""A clip to model input with the model's :class:`~svta.video_io.preprocess.FramePreprocess` (resize, centre
crop, normalisation, on whole clips with torch); plus the one-call loader that pads and masks to a fixed frame
count.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from svta.video_io._av import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    import torch

    from svta.video_io.preprocess import FramePreprocess


def preprocess_frames(
    frames: np.ndarray | torch.Tensor, preprocess: FramePreprocess, *, chunk: int = 32
) -> torch.Tensor:
    """A model's frame transform applied to a clip at once, in chunks.

    With a bicubic :class:`FramePreprocess` and OpenAI's mean/std this is CLIP's published
    ``Resize(size, BICUBIC) -> CenterCrop(size) -> ToTensor -> Normalize(mean, std)`` on PIL images: torch's
    uint8 kernel resamples as PIL does (within one level), and the frames equal what training, evaluation and
    search feed the model.

    Args:
        frames: ``[T, H, W, 3]`` uint8 RGB (numpy or torch). A CUDA tensor is processed on its
            device with torch's float kernel, which is not PIL's: on noise-like content isolated
            pixels differ by up to ~25 levels (mean ~0.3 levels); CPU input matches PIL.
        preprocess: the model's transform (e.g. :attr:`svta.retrieval.base.RetrievalModel.preprocess`).
        chunk: frames resized at once (bounds peak memory on large frames).

    Returns:
        ``[T, 3, size, size]`` float32.

    Raises:
        InputError: ``frames`` is not uint8 ``[T, H, W, 3]``.
    """
    import torch

    from svta.video_io.preprocess import check_frames

    pixels = torch.as_tensor(frames)
    check_frames(pixels)
    size = preprocess.size
    out = torch.empty((pixels.shape[0], 3, size, size), dtype=torch.float32, device=pixels.device)
    for start in range(0, pixels.shape[0], chunk):
        block = preprocess.resize_crop_tensor(pixels[start : start + chunk])
        out[start : start + chunk] = preprocess.normalize_pixels(block)
    return out


def load_clip_frames(
    path: Path | str,
    num_frames: int,
    preprocess: FramePreprocess,
    *,
    sample_fps: float | None = None,
    strict: bool = False,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read and preprocess a clip for a CLIP video encoder, padded to ``num_frames``.

    Without ``sample_fps``, ``num_frames`` frames are spread uniformly over the clip; with it, frames
    are taken at that rate and capped at ``num_frames`` (CLIP4Clip: 1 fps, max 12). A clip with
    fewer frames is padded with zeros (the normalised mean colour) and masked, as CLIP4Clip does.

    Args:
        path: the video file.
        num_frames: frames per clip after padding.
        preprocess: the model's frame transform (side, resampling, normalisation).
        sample_fps: optional sampling rate.
        strict: also fail when FFmpeg logs a decoding error.
        timeout_s: wall-clock limit (``None``: none).

    Returns:
        ``(video [num_frames, 3, size, size] float32, mask [num_frames] int64)``, mask 1 for real frames.
    """
    import torch

    from svta.video_io.decode import read_frames

    frames = read_frames(
        path,
        num_frames=None if sample_fps is not None else num_frames,
        sample_fps=sample_fps,
        max_frames=num_frames,
        strict=strict,
        timeout_s=timeout_s,
    )
    pixels = preprocess_frames(frames, preprocess)
    size = preprocess.size
    video = torch.zeros((num_frames, 3, size, size), dtype=torch.float32)
    mask = torch.zeros(num_frames, dtype=torch.int64)
    video[: pixels.shape[0]] = pixels
    mask[: pixels.shape[0]] = 1
    return video, mask
