"""How a retrieval model wants its frames: side, resampling and normalisation, carried by the model
(:attr:`svta.retrieval.base.RetrievalModel.preprocess`) the way open_clip hands out a model with its transform.

Training, evaluation and search all read the model's :class:`FramePreprocess`; nothing imports a global
mean/std. Frames travel as uint8 (:meth:`FramePreprocess.resize_crop`, in loader workers and frame caches) and
are normalised on the model's device (:meth:`FramePreprocess.normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# OpenAI CLIP's image normalisation (RGB): the one every CLIP backbone svta builds was trained with (OpenAI's
# weights and open_clip's OpenAI checkpoints, as CLIP4Clip, X-CLIP and GRAM use them).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class FramePreprocess:
    """A model's frame transform: short-side resize to ``size``, centre crop, ``(x / 255 - mean) / std``.

    Attributes:
        size: the square side the video encoder takes.
        mean: per-channel (RGB) normalisation mean.
        std: per-channel normalisation standard deviation.
        interpolation: the resampling kernel (antialiased ``bicubic``, as CLIP's ``Resize``).
    """

    size: int
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    interpolation: str = "bicubic"

    def resize_crop(self, frames: np.ndarray) -> np.ndarray:
        """``[T, H, W, 3]`` uint8 RGB -> ``[T, size, size, 3]`` uint8: the resize and crop without the
        normalisation, kept in 8 bits (what loader workers ship and frame caches store).

        The resize runs torch's float kernel and rounds to 8 bits. :func:`svta.video_io.preprocess_frames`
        (used outside training) runs torch's uint8 kernel, which is PIL's: on noise-like content the two differ
        by a few levels per pixel, so frames from the two are close but not equal.
        """
        from svta.video_io.transform import resized_size

        size = self.size
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
        h, w = x.shape[-2:]
        new_h, new_w = resized_size(h, w, size)
        if (new_h, new_w) != (h, w):
            x = F.interpolate(x, size=(new_h, new_w), mode=self.interpolation, align_corners=False, antialias=True)
        top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
        x = x[..., top : top + size, left : left + size]
        return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()

    def normalize(
        self, frames: torch.Tensor, frame_mask: torch.Tensor, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """uint8 ``[B, T, S, S, 3]`` -> normalised ``[B, T, 3, S, S]`` on the tensor's device.

        Padding frames (``frame_mask`` 0) become zeros after normalisation, as CLIP4Clip's loader leaves them.
        The result is contiguous: the channel-first copy is made in 8 bits, then one float buffer is normalised
        in place (the same operations in the same order per element as ``((x / 255 - mean) / std) * mask``, so
        the same values; a strided input made the patch convolution and its gradient slower).
        """
        mean = torch.tensor(self.mean, device=frames.device, dtype=dtype).view(1, 1, 3, 1, 1)
        std = torch.tensor(self.std, device=frames.device, dtype=dtype).view(1, 1, 3, 1, 1)
        x = frames.permute(0, 1, 4, 2, 3).contiguous().to(dtype, copy=True)  # never the caller's tensor
        x.div_(255.0).sub_(mean).div_(std)
        return x.mul_(frame_mask.to(dtype).view(*frame_mask.shape, 1, 1, 1))
