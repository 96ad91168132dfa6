"""CLIP backbones built through open_clip: shapes from open_clip's model configs (``ViT-B-32``, ``ViT-B-16``, ...)
or svta's own JSON files (``tiny``, ``small``: tests and the CPU demo), and OpenAI-format weight files (TorchScript
archives or plain state dicts).

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

    # open_clip ships no type information: these classes describe, for type checkers only, the parts of its
    # ``CLIP`` that svta's models use. They are never defined at run time (torch stays a lazy import).

    class ClipTransformer(nn.Module):
        """open_clip's ``Transformer``: residual blocks, called as ``transformer(x, attn_mask=...)``."""

        resblocks: nn.ModuleList

    class ClipVisual(nn.Module):
        """open_clip's ``VisionTransformer`` (OpenAI parameter names)."""

        conv1: nn.Conv2d
        conv2: nn.Conv3d  # present only when CLIP4Clip adds its 3-D patch embedding
        class_embedding: nn.Parameter
        positional_embedding: nn.Parameter
        ln_pre: nn.LayerNorm
        transformer: ClipTransformer
        ln_post: nn.LayerNorm
        proj: nn.Parameter

    class ClipModel(nn.Module):
        """open_clip's ``CLIP`` with a ViT image tower and its own text tower."""

        visual: ClipVisual
        token_embedding: nn.Embedding
        positional_embedding: nn.Parameter
        transformer: ClipTransformer
        ln_final: nn.LayerNorm
        text_projection: nn.Parameter
        logit_scale: nn.Parameter


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

    @classmethod
    def from_open_clip(cls, config: dict[str, Any], name: str) -> BackboneSpec:
        """The spec of an open_clip model config (``model_configs/<name>.json``: ``embed_dim``, ``vision_cfg``,
        ``text_cfg``). Only plain ViT CLIPs with OpenAI's head rule are supported.

        Raises:
            ConfigError: a timm / Hugging Face tower, or text heads that differ from ``width // head_width``.
        """
        vision, text = config.get("vision_cfg", {}), config.get("text_cfg", {})
        if "timm_model_name" in vision or "hf_model_name" in text or not isinstance(vision.get("patch_size"), int):
            raise ConfigError(f"backbone {name!r}: only open_clip ViT CLIPs with their own text tower are supported")
        head_width = vision.get("head_width", 64)
        spec = cls(
            embed_dim=config["embed_dim"],
            image_size=vision["image_size"],
            patch_size=vision["patch_size"],
            vision_width=vision["width"],
            vision_layers=vision["layers"],
            text_width=text["width"],
            text_layers=text["layers"],
            context_length=text.get("context_length", 77),
            vocab_size=text.get("vocab_size", 49408),
            head_width=head_width,
        )
        if text.get("heads", spec.text_heads) != spec.text_heads:
            raise ConfigError(f"backbone {name!r}: text heads {text['heads']} != width // {head_width}")
        return spec


# Architectures as data: svta's own shapes ("tiny" and "small", for tests and CPU demos; the 49408-token embedding
# is most of their parameters) are open_clip-format JSON files here; every other name is open_clip's config.
SVTA_MODEL_CONFIGS = "model_configs"
OPENAI_PRETRAINED = ("ViT-B-32", "ViT-B-16")


def svta_backbones() -> list[str]:
    """The shapes svta ships (``svta/resources/model_configs/*.json``)."""
    from importlib import resources

    folder = resources.files("svta").joinpath("resources").joinpath(SVTA_MODEL_CONFIGS)
    return sorted(entry.name[: -len(".json")] for entry in folder.iterdir() if entry.name.endswith(".json"))


def backbone_config(name: str) -> dict[str, Any] | None:
    """The open_clip-format config of ``name``: svta's JSON file, else open_clip's own; ``None`` if unknown."""
    import json
    from importlib import resources

    if name in svta_backbones():
        path = resources.files("svta").joinpath("resources").joinpath(SVTA_MODEL_CONFIGS).joinpath(f"{name}.json")
        return json.loads(path.read_text(encoding="utf-8"))
    if "/" in name or "\\" in name or name.endswith((".pt", ".bin", ".pth")):
        return None  # a file path, not a config name (spares importing open_clip)
    open_clip = require("open_clip", "retrieval")
    return open_clip.get_model_config(name)


def backbone_spec(name: str) -> BackboneSpec:
    """The shape named ``name`` (``tiny``, ``small``, ``ViT-B-32``, ``ViT-B-16``, ``ViT-L-14``, ...).

    Raises:
        ConfigError: no such config, or one svta cannot build.
    """
    config = backbone_config(name)
    if config is None:
        raise ConfigError(
            f"unknown backbone {name!r}; known: {', '.join(svta_backbones())}, an open_clip ViT "
            "config name (ViT-B-32, ViT-B-16, ...) or a weight file path"
        )
    return BackboneSpec.from_open_clip(config, name)


def build_clip(spec: BackboneSpec) -> ClipModel:
    """A randomly initialised open_clip ``CLIP`` of shape ``spec`` (QuickGELU, as OpenAI trained it)."""
    open_clip_model = require("open_clip.model", "retrieval")
    vision = open_clip_model.CLIPVisionCfg(
        layers=spec.vision_layers,
        width=spec.vision_width,
        head_width=spec.head_width,
        patch_size=spec.patch_size,
        image_size=spec.image_size,
    )
    text = open_clip_model.CLIPTextCfg(
        context_length=spec.context_length,
        vocab_size=spec.vocab_size,
        width=spec.text_width,
        heads=spec.text_heads,
        layers=spec.text_layers,
    )
    return open_clip_model.CLIP(
        spec.embed_dim, vision_cfg=vision, text_cfg=text, quick_gelu=True, init_logit_scale=math.log(1 / 0.07)
    )


def spec_from_state_dict(state: dict[str, torch.Tensor], source: str = "<state dict>") -> BackboneSpec:
    """Infer the architecture of an OpenAI-format ViT CLIP state dict from its tensor shapes."""
    needed = (
        "visual.conv1.weight",
        "visual.positional_embedding",
        "text_projection",
        "positional_embedding",
        "token_embedding.weight",
        "ln_final.weight",
    )
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
    return len({k[len(prefix) :].split(".")[0] for k in state if k.startswith(prefix)})


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
        state = {k[len("module.") :]: v for k, v in state.items()}
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
        state = {k[len("clip.") :]: v for k, v in state.items() if k.startswith("clip.")}
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
        fetch = f"download {url} into {cached.parent}/ on a connected machine, or pass --pretrained /path/{cached.name}"
        require_download(f"OpenAI {name} weights", str(cached), url, fetch)
    try:
        return Path(pretrained.download_pretrained_from_url(url))
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a checksum mismatch a RuntimeError
        raise BackendError(
            f"OpenAI {name} weights: download from {url} failed ({first_line(exc)}); "
            f"pass --pretrained /path/{cached.name}"
        ) from None


def resolve_backbone(backbone: str, pretrained: str | None) -> tuple[BackboneSpec, dict[str, torch.Tensor] | None]:
    """The architecture and (optionally) the CLIP weights named by ``backbone`` and ``pretrained``.

    Args:
        backbone: a shape name (:func:`backbone_spec`), or the path of an OpenAI-format weight file.
        pretrained: ``None`` (random init), ``"openai"`` (download the released weights), or a weight file path.

    Returns:
        ``(spec, state)``; ``state`` is ``None`` for a random init.
    """
    config = backbone_config(backbone)
    if config is None and Path(backbone).is_file() and pretrained is None:
        pretrained = backbone
    elif config is None:
        backbone_spec(backbone)  # raises the unknown-backbone error
    if pretrained is None:
        return backbone_spec(backbone), None
    path = download_openai_weights(backbone) if pretrained == "openai" else Path(pretrained)
    state = openai_clip_state(path)
    return spec_from_state_dict(state, str(path)), state
