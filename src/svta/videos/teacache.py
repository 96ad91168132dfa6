"""TeaCache for diffusers' ``WanTransformer3DModel``: skip the whole DiT block stack on denoising
steps whose timestep-modulated input barely changed, re-adding the residual cached on the last
computed step (Liu et al., "Timestep Embedding Tells", 2024; Wan2.1 coefficients from its authors).

Built on diffusers' hook machinery, so the pipeline's ``cache_context("cond"/"uncond", step_index=…)``
keeps separate state for the conditional and unconditional passes. This module imports diffusers; the
``wan`` backend imports it only when TeaCache is configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from diffusers.hooks import HookRegistry
from diffusers.hooks.hooks import BaseState, ModelHook, StateManager

# Polynomials (highest power first) rescaling the relative L1 change of the modulated input into
# an estimate of the output change. T2V; "ret" variants modulate on timestep_proj (Wan's e0).
WAN_TEACACHE_COEFFICIENTS: dict[str, list[float]] = {
    "1.3b": [2.39676752e03, -1.31110545e03, 2.01331979e02, -8.29855975e00, 1.37887774e-01],
    "14b": [-5784.54975374, 5449.50911966, -1811.16591783, 256.27178429, -13.02252404],
    "1.3b-ret": [-5.21862437e04, 9.23041404e03, -5.28275948e02, 1.36987616e01, -4.99875664e-02],
}
TEACACHE_HOOK = "svta_teacache"
TEACACHE_BLOCK_HOOK = "svta_teacache_block"


@dataclass
class TeaCacheConfig:
    """TeaCache settings.

    Attributes:
        threshold: Accumulated rescaled change below which steps are skipped (0.05-0.2; higher is faster).
        coefficients: Rescaling polynomial, highest power first.
        ret_steps: Modulate on ``timestep_proj`` (e0) and always compute the first 5 steps, instead
            of modulating on ``temb`` and computing only the first step.
        compute_last_step: Always compute the final step (default: unless ``ret_steps``).
    """

    threshold: float = 0.08
    coefficients: list[float] = field(default_factory=lambda: list(WAN_TEACACHE_COEFFICIENTS["1.3b"]))
    ret_steps: bool = False
    compute_last_step: bool | None = None

    @property
    def warmup_steps(self) -> int:
        return 5 if self.ret_steps else 1


@dataclass
class TeaCacheStats:
    """Counts of transformer passes since the hooks were applied (all contexts together)."""

    passes: int = 0
    skipped: int = 0

    @property
    def computed(self) -> int:
        return self.passes - self.skipped


def coefficients_for(model: str, ret_steps: bool) -> list[float]:
    """Wan2.1's published coefficients for a model id or name (14B if it says so, else 1.3B)."""
    if "14b" in model.lower():
        return list(WAN_TEACACHE_COEFFICIENTS["14b"])
    return list(WAN_TEACACHE_COEFFICIENTS["1.3b-ret" if ret_steps else "1.3b"])


class TeaCacheState(BaseState):
    """Per-context (cond / uncond) state: the last modulated input, the cached residual, the decision."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.accumulated = 0.0
        self.previous: torch.Tensor | None = None
        self.residual: torch.Tensor | None = None
        self.stack_input: torch.Tensor | None = None
        self.compute = True
        self.calls = 0


class TeaCacheDecider(ModelHook):
    """On ``condition_embedder``: decides, from the modulated input, whether this pass computes the blocks."""

    _is_stateful = True

    def __init__(self, state_manager: Any, config: TeaCacheConfig, stats: TeaCacheStats):
        super().__init__()
        self.state_manager, self.config, self.stats = state_manager, config, stats
        self.rescale = np.poly1d(config.coefficients)

    def post_forward(self, module: torch.nn.Module, output: Any) -> Any:
        temb, timestep_proj = output[0], output[1]
        modulated = (timestep_proj if self.config.ret_steps else temb).detach().float()
        state = self.state_manager.get_state()
        context = self.state_manager.context
        step = context.step_index if context.step_index is not None else state.calls
        total = context.num_inference_steps
        last = self.config.compute_last_step if self.config.compute_last_step is not None else not self.config.ret_steps
        forced = state.previous is None or state.residual is None or step < self.config.warmup_steps
        forced = forced or (last and total is not None and step >= total - 1)
        if forced:
            state.compute, state.accumulated = True, 0.0
        else:
            change = ((modulated - state.previous).abs().mean() / state.previous.abs().mean().clamp_min(1e-12)).item()
            state.accumulated += float(self.rescale(change))
            state.compute = state.accumulated >= self.config.threshold
            if state.compute:
                state.accumulated = 0.0
        state.previous = modulated
        state.calls += 1
        self.stats.passes += 1
        self.stats.skipped += int(not state.compute)
        return output

    def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
        self.state_manager.reset()
        return module


class TeaCacheBlockHook(ModelHook):
    """On each DiT block: run it, or (when skipping) pass through, the first block adding the cached residual."""

    _is_stateful = True

    def __init__(self, state_manager: Any, head: bool, tail: bool):
        super().__init__()
        self.state_manager, self.head, self.tail = state_manager, head, tail

    def new_forward(self, module: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        hidden = args[0] if args else kwargs["hidden_states"]
        state = self.state_manager.get_state()
        if not state.compute:
            return hidden + state.residual.to(hidden.dtype) if self.head else hidden
        if self.head:
            state.stack_input = hidden
        # diffusers initialises HookFunctionReference.original_forward to None without a Callable annotation.
        output = self.fn_ref.original_forward(*args, **kwargs)  # type: ignore[misc]
        if self.tail:
            state.residual = (output - state.stack_input).detach()
            state.stack_input = None
        return output

    def reset_state(self, module: torch.nn.Module) -> torch.nn.Module:
        self.state_manager.reset()
        return module


def apply_teacache(transformer: Any, config: TeaCacheConfig) -> TeaCacheStats:
    """Install TeaCache on a ``WanTransformer3DModel`` (needs a pipeline that sets ``cache_context``).

    Returns:
        Live counters of passes and skipped passes.
    """
    manager = StateManager(TeaCacheState)  # type: ignore[arg-type]  # diffusers annotates the class as an instance
    stats = TeaCacheStats()
    HookRegistry.check_if_exists_or_initialize(transformer.condition_embedder).register_hook(
        TeaCacheDecider(manager, config, stats), TEACACHE_HOOK
    )
    blocks = list(transformer.blocks)
    for i, block in enumerate(blocks):
        hook = TeaCacheBlockHook(manager, head=i == 0, tail=i == len(blocks) - 1)
        HookRegistry.check_if_exists_or_initialize(block).register_hook(hook, TEACACHE_BLOCK_HOOK)
    # the pipeline's cache_context reaches hooks through a cached list of child registries
    HookRegistry.check_if_exists_or_initialize(transformer).invalidate_child_registries_cache()
    return stats
