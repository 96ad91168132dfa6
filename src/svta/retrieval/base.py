"""The contract every retrieval model implements, and the pieces they share.

A :class:`RetrievalModel` encodes texts and videos *separately* into feature batches, scores any block of
``(text, video)`` pairs with :meth:`~RetrievalModel.similarity`, and trains with a symmetric InfoNCE loss over
the (all-gathered) batch. Dot-product models (CLIP4Clip meanP/seqLSTM/seqTransf) and pairwise ones (a cross
encoder, X-CLIP's token-level scores) look the same to the trainer and the streaming evaluator.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from svta.errors import InputError

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

    from svta.retrieval.preprocess import FramePreprocess

F_ = TypeVar("F_", bound="FeatureBatch")


@dataclass
class FeatureBatch:
    """Encoded items: tensor fields sharing the leading (item) dimension; ``None`` fields are absent."""

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def __len__(self) -> int:
        first = next(iter(self.tensors().values()), None)
        return 0 if first is None else int(first.shape[0])

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Self:
        """A copy with ``fn`` applied to every present tensor."""
        return replace(self, **{name: fn(value) for name, value in self.tensors().items()})

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Self:
        return self.map(lambda t: t.to(device, non_blocking=non_blocking))

    def detach(self) -> Self:
        return self.map(lambda t: t.detach())

    def __getitem__(self, index: slice | torch.Tensor) -> Self:
        return self.map(lambda t: t[index])

    def present(self, name: str) -> torch.Tensor:
        """The tensor field ``name``.

        Raises:
            InputError: the field is absent (features encoded by a model that does not produce it).
        """
        value = getattr(self, name)
        if value is None:
            raise InputError(f"{type(self).__name__} has no {name!r} (encoded by a model that does not produce it)")
        return value

    @classmethod
    def cat(cls, batches: list[Self]) -> Self:
        """Concatenate batches along the item dimension (all must have the same fields present)."""
        if not batches:
            return cls()
        names = batches[0].tensors().keys()
        return cls(**{name: torch.cat([b.tensors()[name] for b in batches]) for name in names})


@dataclass
class TextFeatures(FeatureBatch):
    """Encoded captions.

    Attributes:
        embeds: ``[N, D]`` sentence features (CLIP's end-of-text token).
        tokens: ``[N, L, D]`` per-token features (token-level models such as X-CLIP), else ``None``.
        mask: ``[N, L]`` 1 on real tokens, when ``tokens`` is present.
    """

    embeds: torch.Tensor | None = None
    tokens: torch.Tensor | None = None
    mask: torch.Tensor | None = None


@dataclass
class VideoFeatures(FeatureBatch):
    """Encoded videos.

    Attributes:
        embeds: ``[N, D]`` pooled video features (dot-product models), else ``None``.
        frames: ``[N, T, D]`` per-frame features (pairwise models), else ``None``.
        mask: ``[N, T]`` 1 on real frames, when ``frames`` is present.
    """

    embeds: torch.Tensor | None = None
    frames: torch.Tensor | None = None
    mask: torch.Tensor | None = None


class RetrievalModel(nn.Module, metaclass=abc.ABCMeta):
    """Base class of text-video retrieval models.

    Subclasses implement :meth:`encode_text`, :meth:`encode_video` and :meth:`similarity`; the default
    :meth:`loss` and :meth:`forward` then train them with the symmetric InfoNCE of CLIP4Clip.

    Attributes:
        image_size: frame side the video encoder expects (frames are ``[B, T, 3, image_size, image_size]``).
        max_words: token positions per caption the text encoder expects.
        max_frames: frames per video the model was built for (the evaluator samples this many).
        gather_for_loss: all-gather features across ranks for the loss. A model whose similarity runs a
            network per pair sets False so each rank scores only its local batch (CLIP4Clip's tightTransf).
        pairwise: :meth:`similarity` costs a forward pass per pair, so evaluators score small blocks.
        rerank_k: first-stage candidates per query the evaluator re-scores with :meth:`rerank` (0: none).
        rerank_tail: what candidates beyond the top-k score: ``keep`` | ``zero`` (``svta.eval.rerank.TopKRescore``).
    """

    image_size: int
    max_words: int
    max_frames: int
    gather_for_loss: bool = True
    pairwise: bool = False
    rerank_k: int = 0
    rerank_tail: str = "keep"

    @property
    def preprocess(self) -> FramePreprocess:
        """The frame transform this model takes: its side, OpenAI CLIP's normalisation, bicubic resampling.
        Training, evaluation and search all prepare frames with it."""
        from svta.retrieval.preprocess import openai_preprocess

        return openai_preprocess(self.image_size)

    @abc.abstractmethod
    def encode_text(self, tokens: torch.Tensor, mask: torch.Tensor) -> TextFeatures:
        """Encode ``[B, L]`` token ids (0-padded) with their ``[B, L]`` mask."""

    @abc.abstractmethod
    def encode_video(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> VideoFeatures:
        """Encode ``[B, T, 3, H, W]`` normalised frames with their ``[B, T]`` mask (1 on real frames)."""

    @abc.abstractmethod
    def similarity(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """Scores of every text against every video: ``[n_text, n_video]`` float logits (higher = closer)."""

    def rerank(self, text: TextFeatures, video: VideoFeatures, candidates: torch.Tensor) -> torch.Tensor | None:
        """Optional second stage: re-score ``[n_text, k]`` candidate video indices (into ``video``). ``None``: no
        re-ranker. Used for the top ``rerank_k`` of each query when that is positive."""
        return None

    def loss(self, text: TextFeatures, video: VideoFeatures) -> torch.Tensor:
        """Symmetric InfoNCE over the batch (gathered across ranks unless ``gather_for_loss`` is False)."""
        if self.gather_for_loss:
            text, video = gather_features(text), gather_features(video)
        return symmetric_infonce(self.similarity(text, video))

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor, frames: torch.Tensor, frame_mask: torch.Tensor
    ) -> torch.Tensor:
        """The training loss of a batch of ``B`` aligned (caption, video) pairs (a scalar)."""
        return self.loss(self.encode_text(tokens, mask), self.encode_video(frames, frame_mask))

    def logit_scale_parameter(self) -> nn.Parameter | None:
        """The learned temperature to clamp after each optimiser step, if the model has one."""
        return None

    def describe(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this model (saved beside checkpoints)."""
        return {}


def symmetric_infonce(logits: torch.Tensor) -> torch.Tensor:
    """``(CE(S) + CE(Sᵀ)) / 2`` with targets on the diagonal of the square ``[B, B]`` logits, in float32."""
    logits = logits.float()
    target = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def gather_features(features: F_) -> F_:
    """All-gather every tensor of ``features`` across ranks, keeping gradients (identity on one process)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return features
    return features.map(all_gather_with_grad)


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0; ranks may hold different counts.

    The backward pass sums each rank's gradient into the owner's slice, so with DDP's gradient averaging the
    parameter gradients equal a single process's on the global batch.
    """
    import torch.distributed as dist
    import torch.distributed.nn.functional as dist_fn

    world = dist.get_world_size()
    count = torch.tensor([x.shape[0]], device=x.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    longest = max(sizes)
    if longest > x.shape[0]:  # all_gather needs equal shapes; pad, then drop the padding
        x = torch.cat([x, x.new_zeros((longest - x.shape[0], *x.shape[1:]))])
    parts = dist_fn.all_gather(x)
    return torch.cat([part[:n] for part, n in zip(parts, sizes)])
