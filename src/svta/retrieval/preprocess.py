"""How a retrieval model wants its frames: OpenAI CLIP's normalisation and the transform built from it, carried
by the model (:attr:`svta.retrieval.base.RetrievalModel.preprocess`) the way open_clip hands out a model with its
transform.

Training, evaluation and search all read the model's :class:`~svta.video_io.preprocess.FramePreprocess`; nothing
imports a global mean/std. Frames travel as uint8 (:meth:`FramePreprocess.resize_crop`, in loader workers and
frame caches) and are normalised on the model's device (:meth:`FramePreprocess.normalize`).
"""

from __future__ import annotations

from svta.video_io.preprocess import FramePreprocess

__all__ = ["OPENAI_MEAN", "OPENAI_STD", "FramePreprocess", "openai_preprocess"]

# OpenAI CLIP's image normalisation (RGB): the one every CLIP backbone svta builds was trained with (OpenAI's
# weights and open_clip's OpenAI checkpoints, as CLIP4Clip, X-CLIP and GRAM use them).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def openai_preprocess(size: int) -> FramePreprocess:
    """OpenAI CLIP's transform at side ``size``: bicubic short-side resize, centre crop, OpenAI mean/std."""
    return FramePreprocess(size, OPENAI_MEAN, OPENAI_STD)
