"""A model's frame transform: short-side resize, centre crop, ``(x / 255 - mean) / std``, the one resampling
path of training, evaluation, search, frame caches and :func:`svta.video_io.preprocess_frames`.

The spine holds the transform, not its numbers: a model carries its own :class:`FramePreprocess`
(:attr:`svta.retrieval.base.RetrievalModel.preprocess`, with OpenAI CLIP's mean/std from
:mod:`svta.retrieval.preprocess`), the way open_clip hands out a model with its transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from svta.errors import InputError

if TYPE_CHECKING:
    import torch


def resized_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``(height, width)`` after scaling the short side to ``size`` (long side truncated, as
    torchvision's ``Resize(int)`` does)."""
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def check_frames(pixels: torch.Tensor) -> None:
    """Raise :class:`~svta.errors.InputError` unless ``pixels`` is uint8 ``[T, H, W, 3]``."""
    import torch

    if pixels.dtype != torch.uint8 or pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise InputError(f"frames must be uint8 [T, H, W, 3], got {pixels.dtype} {tuple(pixels.shape)}")


def _resample(block: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Antialiased resize of ``[B, 3, H, W]`` uint8 to ``size``, still uint8 (channels-last memory on CPU)."""
    import torch
    import torch.nn.functional as F

    if block.device.type == "cpu":
        # torch's uint8 kernel is PIL's resampling (CLIP's published ``Resize``): within one level of
        # ``Image.resize`` (its int16 weights round a little differently) and 5-10x faster than the float kernel.
        block = block.contiguous(memory_format=torch.channels_last)
        return F.interpolate(block, size=size, mode=mode, align_corners=False, antialias=True)
    # CUDA has no uint8 kernel: the float one differs from PIL by up to ~25 levels on noise-like content.
    resized = F.interpolate(block.float(), size=size, mode=mode, align_corners=False, antialias=True)
    return resized.clamp_(0.0, 255.0).round_().to(torch.uint8)


@dataclass(frozen=True)
class FramePreprocess:
    """A model's frame transform: short-side resize to ``size``, centre crop, ``(x / 255 - mean) / std``.

    Attributes:
        size: the square side the video encoder takes.
        mean: per-channel (RGB) normalisation mean.
        std: per-channel normalisation standard deviation.
        interpolation: the antialiased resampling kernel (``bicubic``, as CLIP's ``Resize``; or ``bilinear``).
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"

    def resize_crop_tensor(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 ``[T, H, W, 3]`` -> uint8 ``[T, size, size, 3]`` on the tensor's device: the resize and crop
        without the normalisation. CPU input runs torch's uint8 kernel (PIL's); CUDA input the float one.

        Raises:
            InputError: ``pixels`` is not uint8 ``[T, H, W, 3]``.
        """
        check_frames(pixels)
        size = self.size
        height, width = int(pixels.shape[1]), int(pixels.shape[2])
        new_h, new_w = resized_size(height, width, size)
        block = pixels.permute(0, 3, 1, 2)
        if (new_h, new_w) != (height, width):
            block = _resample(block, (new_h, new_w), self.interpolation)
        top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
        return block[..., top : top + size, left : left + size].permute(0, 2, 3, 1)

    def resize_crop(self, frames: np.ndarray) -> np.ndarray:
        """``[T, H, W, 3]`` uint8 RGB -> ``[T, size, size, 3]`` uint8 (what loader workers ship and frame caches
        store): :meth:`resize_crop_tensor` on CPU."""
        import torch

        pixels = self.resize_crop_tensor(torch.from_numpy(np.ascontiguousarray(frames)))
        return pixels.contiguous().numpy()

    def normalize_pixels(self, pixels: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """uint8 ``[..., S, S, 3]`` -> normalised ``[..., 3, S, S]`` (``dtype``, default float32) on its device."""
        import torch

        dtype = dtype or torch.float32
        mean = torch.tensor(self.mean, device=pixels.device, dtype=dtype).view(3, 1, 1)
        std = torch.tensor(self.std, device=pixels.device, dtype=dtype).view(3, 1, 1)
        return (pixels.movedim(-1, -3).to(dtype) / 255.0 - mean) / std

    def normalize(
        self, frames: torch.Tensor, frame_mask: torch.Tensor, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """uint8 ``[B, T, S, S, 3]`` -> normalised ``[B, T, 3, S, S]`` (``dtype``, default float32) on the
        tensor's device.

        Padding frames (``frame_mask`` 0) become zeros after normalisation, as CLIP4Clip's loader leaves them.
        The result is contiguous: the channel-first copy is made in 8 bits, then one float buffer is normalised
        in place (the same operations in the same order per element as ``((x / 255 - mean) / std) * mask``, so
        the same values; a strided input made the patch convolution and its gradient slower).
        """
        import torch

        dtype = dtype or torch.float32
        mean = torch.tensor(self.mean, device=frames.device, dtype=dtype).view(1, 1, 3, 1, 1)
        std = torch.tensor(self.std, device=frames.device, dtype=dtype).view(1, 1, 3, 1, 1)
        x = frames.permute(0, 1, 4, 2, 3).contiguous().to(dtype, copy=True)  # never the caller's tensor
        x.div_(255.0).sub_(mean).div_(std)
        return x.mul_(frame_mask.to(dtype).view(*frame_mask.shape, 1, 1, 1))
