"""Build retrieval models by name: the ``retrieval_model`` registry, :func:`register_model` and :func:`create_model`.

One builder per model family (CLIP4Clip, X-CLIP, GRAM). As with timm's ``@register_model``, the builder's
signature is the contract: ``(spec, clip_state=None, *, <keyword-only model arguments with defaults>)``; the
keyword-only parameters are exactly the overrides :func:`create_model` accepts for that name. Importing this
module is cheap (torch loads inside the builders).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from svta.errors import ConfigError
from svta.registry import registry

if TYPE_CHECKING:
    import torch

    from svta.retrieval.backbone import BackboneSpec
    from svta.retrieval.base import RetrievalModel

RETRIEVAL_MODELS = registry("retrieval_model")
Builder = Callable[..., "RetrievalModel"]


def register_model(name: str, description: str, **fixed: Any) -> Callable[[Builder], Builder]:
    """Register ``builder`` under ``name``, with the keyword arguments ``fixed`` bound (a family's variant).

    Stack it to register several variants of one family function; it returns the function unchanged.
    """

    def decorate(builder: Builder) -> Builder:
        entry = functools.partial(builder, **fixed) if fixed else builder
        RETRIEVAL_MODELS.register(name, description)(entry)
        return builder

    return decorate


def accepted_overrides(builder: Builder) -> tuple[str, ...] | None:
    """The model arguments ``builder`` accepts: its keyword-only parameters, less those a variant binds.

    ``None`` when it takes ``**kwargs`` (a third-party builder that checks its own arguments).
    """
    bound = set(builder.keywords) if isinstance(builder, functools.partial) else set()
    parameters = inspect.signature(builder).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in bound)


@register_model("clip4clip-meanp", "CLIP4Clip meanP: mean of frame features, dot product", sim_header="meanP")
@register_model("clip4clip-seqlstm", "CLIP4Clip seqLSTM: LSTM over frames + residual", sim_header="seqLSTM")
@register_model("clip4clip-seqtransf", "CLIP4Clip seqTransf: 4-layer temporal transformer", sim_header="seqTransf")
@register_model(
    "clip4clip-tighttransf", "CLIP4Clip tightTransf: cross encoder per (text, video) pair", sim_header="tightTransf"
)
def clip4clip(
    spec: BackboneSpec,
    clip_state: dict[str, torch.Tensor] | None = None,
    *,
    sim_header: str,
    linear_patch: str = "2d",
    max_words: int = 32,
    max_frames: int = 12,
    temporal_layers: int = 4,
) -> RetrievalModel:
    """CLIP4Clip with the ``sim_header`` similarity head (CLIP4Clip MSR-VTT: 32 words, 12 frames, 4 layers)."""
    from svta.retrieval.clip4clip import CLIP4Clip

    return CLIP4Clip(
        spec,
        sim_header,
        linear_patch=linear_patch,
        max_words=max_words,
        max_frames=max_frames,
        temporal_layers=temporal_layers,
        clip_state=clip_state,
    )


@register_model("xclip", "X-CLIP: seqTransf video + four attention-over-similarity scores")
def xclip(
    spec: BackboneSpec,
    clip_state: dict[str, torch.Tensor] | None = None,
    *,
    linear_patch: str = "2d",
    max_words: int = 32,
    max_frames: int = 12,
    temporal_layers: int = 4,
    mask_padding: bool = False,
    block_elements: int | None = None,
) -> RetrievalModel:
    """X-CLIP; ``mask_padding`` keeps padded words and frames out of its attention-over-similarity."""
    from svta.retrieval.xclip import XCLIP

    return XCLIP(
        spec,
        linear_patch=linear_patch,
        max_words=max_words,
        max_frames=max_frames,
        temporal_layers=temporal_layers,
        mask_padding=mask_padding,
        block_elements=block_elements,
        clip_state=clip_state,
    )


@register_model("gram", "GRAM: volume alignment + matching-head re-ranking of the top-k")
def gram(
    spec: BackboneSpec,
    clip_state: dict[str, torch.Tensor] | None = None,
    *,
    linear_patch: str = "2d",
    max_words: int = 32,
    max_frames: int = 12,
    temporal_layers: int = 4,
    rerank_k: int = 50,
    rerank_tail: str = "keep",
    itm_weight: float = 0.1,
    label_smoothing: float = 0.1,
    gradients: str = "split",
    temperature_mode: str = "gram",
    match_pooling: str = "eot",
) -> RetrievalModel:
    """GRAM (GRAM's recipe: re-rank the top 50, ITM weight 0.1, label smoothing 0.1; gradient flow and
    temperature as the released code; ``gradients="symmetric"``, ``temperature_mode="clamped"`` and
    ``match_pooling="cls"`` are the documented variants)."""
    from svta.retrieval.gram import GRAM

    return GRAM(
        spec,
        linear_patch=linear_patch,
        max_words=max_words,
        max_frames=max_frames,
        temporal_layers=temporal_layers,
        rerank_k=rerank_k,
        rerank_tail=rerank_tail,
        itm_weight=itm_weight,
        label_smoothing=label_smoothing,
        gradients=gradients,
        temperature_mode=temperature_mode,
        match_pooling=match_pooling,
        clip_state=clip_state,
    )


def create_model(name: str, backbone: str = "tiny", pretrained: str | None = None, **overrides: Any) -> RetrievalModel:
    """Build a registered retrieval model.

    Args:
        name: a ``retrieval_model`` registry name, e.g. ``clip4clip-seqtransf`` (``svta list`` shows them).
        backbone: a shape name (``tiny``, ``small``, or an open_clip ViT config such as ``ViT-B-32``), or the
            path of an OpenAI-format weight file.
        pretrained: ``None`` (random CLIP), ``"openai"`` (download OpenAI's weights; ViT-B only), or a file path.
        **overrides: model arguments, e.g. ``linear_patch="3d"``, ``max_words=32``, ``temporal_layers=4``.

    Returns:
        The model on CPU in training mode.

    Raises:
        ConfigError: an unknown name, backbone or override.
    """
    from svta.retrieval.backbone import resolve_backbone

    builder = RETRIEVAL_MODELS.get(name)
    check_overrides(name, builder, overrides)
    spec, state = resolve_backbone(backbone, pretrained)
    return builder(spec, clip_state=state, **overrides)


def check_overrides(name: str, builder: Builder, overrides: dict[str, Any]) -> None:
    """Raise ConfigError naming the arguments of ``overrides`` that ``name``'s builder does not declare."""
    accepted = accepted_overrides(builder)
    if accepted is None:  # the builder takes **kwargs and checks its own arguments
        return
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ConfigError(f"model {name!r} has no argument(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}")
