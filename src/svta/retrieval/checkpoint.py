"""Model weights in and out: strict loading that names every mismatched key, CLIP4Clip-compatible model
files (a plain ``state_dict``), and full training states for exact resume (optimiser, scheduler, RNG, data).
"""

from __future__ import annotations

import errno
import os
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from svta.errors import InputError
from svta.retrieval.backbone import first_line, read_weights_file
from svta.tables import atomic_path

if TYPE_CHECKING:
    from svta.retrieval.base import RetrievalModel

_SHOWN_KEYS = 8  # keys listed per kind of mismatch; the count says how many there are in all
_LOW_SPACE = 64 << 20  # bytes free under which a failed checkpoint write is taken for a full disk


def load_state_strict(
    module: nn.Module, state: dict[str, torch.Tensor], source: str, allow_missing: tuple[str, ...] = ()
) -> None:
    """Load ``state`` into ``module`` requiring the exact key set and shapes.

    Args:
        module: the model (or sub-module) to fill.
        state: parameter name -> tensor.
        source: what ``state`` came from (a path), for the error.
        allow_missing: keys ``module`` may keep at their current values (e.g. a 3-D patch conv absent from a
            2-D CLIP checkpoint).

    Raises:
        InputError: naming the missing keys, the unexpected keys and the shape mismatches.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and k not in allow_missing]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
        if keys:
            shown = ", ".join(keys[:_SHOWN_KEYS]) + (f", ... ({len(keys)} in all)" if len(keys) > _SHOWN_KEYS else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise InputError(f"{source}: weights do not match {type(module).__name__}: " + "; ".join(problems))
    module.load_state_dict(state, strict=False)


def save_model_weights(model: nn.Module, path: Path | str) -> None:
    """Write a plain ``state_dict`` (CLIP4Clip's checkpoint format) atomically."""
    with atomic_path(path) as tmp:
        _torch_save(_unwrap(model).state_dict(), tmp, path)


def _torch_save(obj: Any, tmp: Path | str, target: Path | str) -> None:
    """``torch.save``, with a write that failed for want of space raised as the OSError it is (torch raises a
    RuntimeError from its zip writer, which would otherwise reach the console as a traceback)."""
    try:
        torch.save(obj, tmp)
    except RuntimeError as error:
        if "write" not in str(error).lower() or shutil.disk_usage(Path(tmp).parent).free > _LOW_SPACE:
            raise
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from error


def _unwrap(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", None)  # DistributedDataParallel wraps the model as ``.module``
    return inner if isinstance(inner, nn.Module) else model


def capture_rng() -> dict[str, Any]:
    """Every RNG the training loop draws from (python, numpy, torch CPU and CUDA), in a torch-loadable form."""
    import numpy as np

    np_state = np.random.get_state(legacy=False)  # the same MT19937 state as the legacy tuple, by name
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    import numpy as np

    random.setstate(_as_tuple(state["python"]))
    np_state = state["numpy"]
    key = np_state["key"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", key, np_state["pos"], np_state["has_gauss"], np_state["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    # torch.load(weights_only=True) gives lists back where tuples were saved; random.setstate wants tuples.
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def save_training_state(path: Path | str, state: dict[str, Any]) -> None:
    """Write a training checkpoint atomically (a crash leaves the previous one intact)."""
    with atomic_path(path) as tmp:
        _torch_save(state, tmp, path)


def load_training_state(path: Path | str) -> dict[str, Any]:
    """Read a training checkpoint written by :func:`save_training_state`."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, pickle errors, ...
        raise InputError(f"{path}: not a readable training checkpoint ({first_line(exc)})") from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise InputError(f"{path}: not an svta training checkpoint (no model/step entries)")
    return state


def infer_clip4clip_arguments(state: dict[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """The registry name and constructor overrides a CLIP4Clip-named state dict was saved from.

    The head shows in its parameter names (``cross.*`` tightTransf, ``transformerClip.*`` seqTransf,
    ``lstm_visual.*`` seqLSTM, none meanP; ``global_mat_weight`` X-CLIP, ``itm_head.*`` GRAM);
    ``clip.visual.conv2.weight`` means 3-D patches.
    """

    def blocks(prefix: str) -> int:
        return len({k[len(prefix) :].split(".")[0] for k in state if k.startswith(prefix)})

    args: dict[str, Any] = {"linear_patch": "3d" if "clip.visual.conv2.weight" in state else "2d"}
    if "global_mat_weight" in state:  # X-CLIP: seqTransf + re-mixing matrices sized by words and frames
        return "xclip", {
            **args,
            "temporal_layers": blocks("transformerClip.resblocks."),
            "max_words": state["word_logit_weight"].shape[0],
            "max_frames": state["frame_logit_weight"].shape[0],
        }
    if "itm_head.linear2.weight" in state:  # GRAM: matching head with its fusion encoder
        return "gram", {
            **args,
            "temporal_layers": blocks("fusion.resblocks."),
            "max_frames": state["vision_frame_embedding"].shape[1],
        }
    if any(k.startswith("cross.") for k in state):
        return "clip4clip-tighttransf", {**args, "temporal_layers": blocks("cross.transformer.resblocks.")}
    if any(k.startswith("transformerClip.") for k in state):
        return "clip4clip-seqtransf", {**args, "temporal_layers": blocks("transformerClip.resblocks.")}
    if any(k.startswith("lstm_visual.") for k in state):
        return "clip4clip-seqlstm", args
    return "clip4clip-meanp", args


def model_from_checkpoint(path: Path | str, model_name: str | None = None, **overrides: Any) -> RetrievalModel:
    """Rebuild a model from a weight file alone: a CLIP4Clip ``pytorch_model.bin.N``, an svta ``best_model.bin``
    or training checkpoint. The CLIP shape is read from the ``clip.*`` tensors.

    Args:
        path: the weight file.
        model_name: registry name; ``None`` infers the CLIP4Clip head from the parameter names.
        **overrides: model arguments the weights do not determine (``max_frames``, ``max_words``).

    Raises:
        InputError: the file holds no ``clip.*`` weights, or its keys do not match the model (named).
    """
    from svta.retrieval.backbone import spec_from_state_dict
    from svta.retrieval.factory import RETRIEVAL_MODELS, accepted_overrides

    state = read_weights_file(path)
    clip_state = {k[len("clip.") :]: v for k, v in state.items() if k.startswith("clip.")}
    if not clip_state:
        raise InputError(f"{path}: no clip.* parameters; not a CLIP4Clip-style model file")
    spec = spec_from_state_dict(clip_state, str(path))
    inferred_name, inferred = infer_clip4clip_arguments(state)
    name = model_name or inferred_name
    builder = RETRIEVAL_MODELS.get(name)
    accepted = accepted_overrides(builder)
    arguments = {**{k: v for k, v in inferred.items() if accepted is None or k in accepted}, **overrides}
    model = builder(spec, clip_state=None, **arguments)
    load_state_strict(model, state, str(path))
    return model
