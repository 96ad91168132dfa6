"""Frames to CLIP input: short-side bicubic resize, centre crop, CLIP mean/std normalisation, done
on whole clips with torch; plus the one-call loader that pads and masks to a fixed frame count.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from svta.errors import InputError
from svta.video_io._av import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    import torch

# OpenAI CLIP's image normalisation (RGB), used by CLIP4Clip, X-CLIP and open_clip's OpenAI weights.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resized_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``(height, width)`` after scaling the short side to ``size`` (long side truncated, as
    torchvision's ``Resize(int)`` does)."""
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def _resize(block: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of ``[B, 3, H, W]`` uint8 to ``size``, still uint8."""
    import torch
    import torch.nn.functional as F

    if block.device.type == "cpu":
        # torch's uint8 path is PIL's algorithm (same kernel, same fixed-point rounding): the
        # results equal PIL's; the float kernel differs by up to ~25 levels on noise-like content.
        block = block.contiguous(memory_format=torch.channels_last)
        return F.interpolate(block, size=size, mode="bicubic", align_corners=False, antialias=True)
    resized = F.interpolate(block.float(), size=size, mode="bicubic", align_corners=False, antialias=True)
    return resized.clamp_(0.0, 255.0).round_().to(torch.uint8)


def preprocess_frames(
    frames: np.ndarray | torch.Tensor,
    size: int = 224,
    mean: Sequence[float] = CLIP_MEAN,
    std: Sequence[float] = CLIP_STD,
    *,
    chunk: int = 32,
) -> torch.Tensor:
    """CLIP's image transform applied to a clip at once.

    Matches ``Resize(size, BICUBIC) -> CenterCrop(size) -> ToTensor -> Normalize(mean, std)`` on PIL
    images: antialiased bicubic resampling of the short side to ``size`` with 8-bit results as PIL
    stores them (torch's uint8 path reproduces PIL's output), then the centre ``size x size`` crop.

    Args:
        frames: ``[T, H, W, 3]`` uint8 RGB (numpy or torch). A CUDA tensor is processed on its
            device with torch's float kernel, which is not PIL's: on noise-like content isolated
            pixels differ by up to ~25 levels (mean ~0.3 levels); CPU input matches PIL.
        size: output side.
        mean: per-channel mean of the normalisation.
        std: per-channel standard deviation.
        chunk: frames resized at once (bounds peak memory on large frames).

    Returns:
        ``[T, 3, size, size]`` float32.
    """
    import torch

    pixels = torch.as_tensor(frames)
    if pixels.dtype != torch.uint8 or pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise InputError(f"frames must be uint8 [T, H, W, 3], got {pixels.dtype} {tuple(pixels.shape)}")
    count, height, width, _ = pixels.shape
    new_h, new_w = resized_size(height, width, size)
    top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
    mean_t = torch.tensor(mean, dtype=torch.float32, device=pixels.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=pixels.device).view(1, 3, 1, 1)
    scale, offset = 1.0 / (255.0 * std_t), -mean_t / std_t  # (x / 255 - mean) / std = x * scale + offset
    out = torch.empty((count, 3, size, size), dtype=torch.float32, device=pixels.device)
    for start in range(0, count, chunk):
        block = pixels[start : start + chunk].permute(0, 3, 1, 2)
        if (new_h, new_w) != (height, width):
            block = _resize(block, (new_h, new_w))
        target = out[start : start + chunk]
        # Copy (uint8 -> float, NHWC -> NCHW) first: arithmetic on contiguous memory is several
        # times faster than broadcasting over channels-last strides.
        target.copy_(block[:, :, top : top + size, left : left + size])
        target.mul_(scale).add_(offset)
    return out


def load_clip_frames(
    path: Path | str,
    num_frames: int,
    size: int = 224,
    *,
    sample_fps: float | None = None,
    mean: Sequence[float] = CLIP_MEAN,
    std: Sequence[float] = CLIP_STD,
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
        size: frame side in pixels.
        sample_fps: optional sampling rate.
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
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
    pixels = preprocess_frames(frames, size, mean, std)
    video = torch.zeros((num_frames, 3, size, size), dtype=torch.float32)
    mask = torch.zeros(num_frames, dtype=torch.int64)
    video[: pixels.shape[0]] = pixels
    mask[: pixels.shape[0]] = 1
    return video, mask
