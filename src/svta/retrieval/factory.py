"""Build retrieval models by name: the ``retrieval_model`` registry and :func:`create_model`.

A registered builder takes ``(spec, clip_state=None, **overrides)`` and returns a
:class:`~svta.retrieval.base.RetrievalModel`; importing this module is cheap (torch loads in the builders).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svta.errors import ConfigError
from svta.registry import registry

if TYPE_CHECKING:
    import torch

    from svta.retrieval.backbone import BackboneSpec
    from svta.retrieval.base import RetrievalModel

RETRIEVAL_MODELS = registry("retrieval_model")
# Constructor arguments every CLIP4Clip builder accepts as overrides.
_CLIP4CLIP_OVERRIDES = ("linear_patch", "max_words", "max_frames", "temporal_layers")


def _clip4clip(sim_header: str) -> Any:
    def build(spec: BackboneSpec, clip_state: dict[str, torch.Tensor] | None = None,
              **overrides: Any) -> RetrievalModel:
        from svta.retrieval.clip4clip import CLIP4Clip

        return CLIP4Clip(spec, sim_header, clip_state=clip_state, **overrides)

    build.__doc__ = f"CLIP4Clip with the {sim_header} similarity head"
    build.accepted_overrides = _CLIP4CLIP_OVERRIDES  # type: ignore[attr-defined]
    return build


RETRIEVAL_MODELS.register("clip4clip-meanp", "CLIP4Clip meanP: mean of frame features, dot product")(
    _clip4clip("meanP")
)
RETRIEVAL_MODELS.register("clip4clip-seqlstm", "CLIP4Clip seqLSTM: LSTM over frames + residual")(_clip4clip("seqLSTM"))
RETRIEVAL_MODELS.register("clip4clip-seqtransf", "CLIP4Clip seqTransf: 4-layer temporal transformer")(
    _clip4clip("seqTransf")
)
RETRIEVAL_MODELS.register("clip4clip-tighttransf", "CLIP4Clip tightTransf: cross encoder per (text, video) pair")(
    _clip4clip("tightTransf")
)


def create_model(name: str, backbone: str = "tiny", pretrained: str | None = None, **overrides: Any) -> RetrievalModel:
    """Build a registered retrieval model.

    Args:
        name: a ``retrieval_model`` registry name, e.g. ``clip4clip-seqtransf`` (``svta list`` shows them).
        backbone: ``tiny`` | ``small`` | ``ViT-B-32`` | ``ViT-B-16``, or the path of an OpenAI-format weight file.
        pretrained: ``None`` (random CLIP), ``"openai"`` (download OpenAI's weights; ViT-B only), or a file path.
        **overrides: model arguments, e.g. ``linear_patch="3d"``, ``max_words=32``, ``temporal_layers=4``.

    Returns:
        The model on CPU in training mode.

    Raises:
        ConfigError: an unknown name, backbone or override.
    """
    from svta.retrieval.backbone import resolve_backbone

    builder = RETRIEVAL_MODELS.get(name)
    _check_overrides(name, builder, overrides)
    spec, state = resolve_backbone(backbone, pretrained)
    return builder(spec, clip_state=state, **overrides)


def _check_overrides(name: str, builder: Any, overrides: dict[str, Any]) -> None:
    # Builders list the overrides they take in ``accepted_overrides``; third-party ones may leave it out.
    accepted = getattr(builder, "accepted_overrides", None)
    unknown = sorted(set(overrides) - set(accepted)) if accepted is not None else []
    if unknown:
        raise ConfigError(f"model {name!r} has no argument(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}")
