"""CLIP backbones: OpenAI ViT-B/32 and ViT-B/16 built through open_clip, small in-code configs for tests and
the CPU demo, and OpenAI-format weight files (TorchScript archives or plain state dicts).

Parameter names are OpenAI's (``visual.conv1.weight``, ``transformer.resblocks.0.attn.in_proj_weight``, ...),
so OpenAI checkpoints load with strict key matching.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svta.errors import ConfigError, InputError
from svta.registry import require

if TYPE_CHECKING:
    import torch
    from torch import nn

# Entries OpenAI's TorchScript state dicts carry that are not parameters; ``attn_mask`` (the causal text mask,
# rebuilt from the context length) appears in TorchScript exports of open_clip models.
_OPENAI_NON_PARAMETERS = ("input_resolution", "context_length", "vocab_size", "attn_mask")


@dataclass(frozen=True)
class BackboneSpec:
    """The shape of a ViT CLIP. Heads follow OpenAI's rule: ``width // head_width``."""

    embed_dim: int
    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    text_width: int
    text_layers: int
    context_length: int = 77
    vocab_size: int = 49408
    head_width: int = 64

    @property
    def vision_heads(self) -> int:
        return max(1, self.vision_width // self.head_width)

    @property
    def text_heads(self) -> int:
        return max(1, self.text_width // self.head_width)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


# Architectures as data. "tiny" and "small" are for tests and CPU demos (the 49408-token embedding is most of
# their parameters); the ViT-B entries match OpenAI's released models.
BACKBONES: dict[str, BackboneSpec] = {
    "tiny": BackboneSpec(embed_dim=128, image_size=64, patch_size=16, vision_width=128, vision_layers=2,
                         text_width=128, text_layers=2),
    "small": BackboneSpec(embed_dim=256, image_size=112, patch_size=16, vision_width=256, vision_layers=4,
                          text_width=256, text_layers=4),
    "ViT-B-32": BackboneSpec(embed_dim=512, image_size=224, patch_size=32, vision_width=768, vision_layers=12,
                             text_width=512, text_layers=12),
    "ViT-B-16": BackboneSpec(embed_dim=512, image_size=224, patch_size=16, vision_width=768, vision_layers=12,
                             text_width=512, text_layers=12),
}
OPENAI_PRETRAINED = ("ViT-B-32", "ViT-B-16")


def build_clip(spec: BackboneSpec) -> nn.Module:
    """A randomly initialised open_clip ``CLIP`` of shape ``spec`` (QuickGELU, as OpenAI trained it)."""
    open_clip_model = require("open_clip.model", "retrieval")
    vision = open_clip_model.CLIPVisionCfg(
        layers=spec.vision_layers, width=spec.vision_width, head_width=spec.head_width,
        patch_size=spec.patch_size, image_size=spec.image_size,
    )
    text = open_clip_model.CLIPTextCfg(
        context_length=spec.context_length, vocab_size=spec.vocab_size, width=spec.text_width,
        heads=spec.text_heads, layers=spec.text_layers,
    )
    return open_clip_model.CLIP(spec.embed_dim, vision_cfg=vision, text_cfg=text, quick_gelu=True,
                                init_logit_scale=math.log(1 / 0.07))


def spec_from_state_dict(state: dict[str, torch.Tensor], source: str = "<state dict>") -> BackboneSpec:
    """Infer the architecture of an OpenAI-format ViT CLIP state dict from its tensor shapes."""
    needed = ("visual.conv1.weight", "visual.positional_embedding", "text_projection", "positional_embedding",
              "token_embedding.weight", "ln_final.weight")
    missing = [k for k in needed if k not in state]
    if missing:
        raise InputError(f"{source}: not an OpenAI ViT CLIP state dict (missing {', '.join(missing)})")
    patch = state["visual.conv1.weight"].shape[-1]
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    return BackboneSpec(
        embed_dim=state["text_projection"].shape[1],
        image_size=patch * grid,
        patch_size=patch,
        vision_width=state["visual.conv1.weight"].shape[0],
        vision_layers=_count_blocks(state, "visual.transformer.resblocks."),
        text_width=state["ln_final.weight"].shape[0],
        text_layers=_count_blocks(state, "transformer.resblocks."),
        context_length=state["positional_embedding"].shape[0],
        vocab_size=state["token_embedding.weight"].shape[0],
    )


def _count_blocks(state: dict[str, Any], prefix: str) -> int:
    return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})


def read_weights_file(path: Path | str) -> dict[str, torch.Tensor]:
    """Tensors of a weight file: a TorchScript archive (OpenAI's ``ViT-B-32.pt``) or a saved state dict.

    A ``{"state_dict": ...}`` / ``{"model": ...}`` wrapper and a DDP ``module.`` prefix are removed.

    Raises:
        InputError: the file is missing or holds no state dict.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: weight file not found")
    try:
        if _is_torchscript(path):
            with warnings.catch_warnings():  # torch.jit.load is deprecated, yet it is OpenAI's release format
                warnings.simplefilter("ignore", FutureWarning)
                state = torch.jit.load(str(path), map_location="cpu").state_dict()
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle/zip/TorchScript errors come in many types
        raise InputError(f"{path}: not a TorchScript archive or a torch state dict ({first_line(exc)})") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path}: holds no state dict of tensors")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (torch's unpickling errors run over many lines)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _is_torchscript(path: Path) -> bool:
    # A TorchScript archive is a zip holding code/ and constants.pkl; torch.save zips hold data.pkl only.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def openai_clip_state(path: Path | str) -> dict[str, torch.Tensor]:
    """An OpenAI CLIP state dict from ``path``, float32, without its non-parameter entries."""
    state = read_weights_file(path)
    if any(k.startswith("clip.") for k in state):  # a CLIP4Clip checkpoint: keep its CLIP part
        state = {k[len("clip."):]: v for k, v in state.items() if k.startswith("clip.")}
    return {k: v.float() for k, v in state.items() if k not in _OPENAI_NON_PARAMETERS}


def openai_cache_path(name: str) -> Path:
    """Where open_clip keeps OpenAI's released file for ``name`` (``~/.cache/clip/<file>``), and its URL."""
    pretrained = require("open_clip.pretrained", "retrieval")
    url = pretrained.get_pretrained_url(name, "openai")
    return Path("~/.cache/clip").expanduser() / Path(url).name


def download_openai_weights(name: str) -> Path:
    """Find in the cache (or download) OpenAI's released weights for ``ViT-B-32`` / ``ViT-B-16``.

    Raises:
        ConfigError: no OpenAI weights exist for ``name``.
        BackendError: not cached and no download possible (offline, server silent), or the download failed.
    """
    from svta.errors import BackendError
    from svta.preflight import require_download

    if name not in OPENAI_PRETRAINED:
        raise ConfigError(f"OpenAI weights exist for {', '.join(OPENAI_PRETRAINED)}, not {name!r}")
    pretrained = require("open_clip.pretrained", "retrieval")
    url = pretrained.get_pretrained_url(name, "openai")
    cached = openai_cache_path(name)
    if not cached.is_file():
        fetch = (f"download {url} into {cached.parent}/ on a connected machine, or pass "
                 f"--pretrained /path/{cached.name}")
        require_download(f"OpenAI {name} weights", str(cached), url, fetch)
    try:
        return Path(pretrained.download_pretrained_from_url(url))
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a checksum mismatch a RuntimeError
        raise BackendError(f"OpenAI {name} weights: download from {url} failed ({first_line(exc)}); "
                           f"pass --pretrained /path/{cached.name}") from None


def resolve_backbone(backbone: str, pretrained: str | None) -> tuple[BackboneSpec, dict[str, torch.Tensor] | None]:
    """The architecture and (optionally) the CLIP weights named by ``backbone`` and ``pretrained``.

    Args:
        backbone: a name in :data:`BACKBONES`, or the path of an OpenAI-format weight file.
        pretrained: ``None`` (random init), ``"openai"`` (download the released weights), or a weight file path.

    Returns:
        ``(spec, state)``; ``state`` is ``None`` for a random init.
    """
    if backbone not in BACKBONES:
        if Path(backbone).is_file() and pretrained is None:
            pretrained = backbone
        else:
            raise ConfigError(f"unknown backbone {backbone!r}; known: {', '.join(BACKBONES)} or a weight file path")
    if pretrained is None:
        return BACKBONES[backbone], None
    path = download_openai_weights(backbone) if pretrained == "openai" else Path(pretrained)
    state = openai_clip_state(path)
    return spec_from_state_dict(state, str(path)), state

