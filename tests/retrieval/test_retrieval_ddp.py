"""Two gloo processes, each holding half of a global batch, reproduce the single-process loss and gradients:
features are all-gathered with gradients and DDP averages the parameter gradients."""

from __future__ import annotations

import torch
import torch.multiprocessing as mp

GLOBAL_BATCH = 6
WORLD = 2


def _global_batch() -> tuple[torch.Tensor, ...]:
    from svta.retrieval.tokenizer import tokenize

    generator = torch.Generator().manual_seed(11)
    tokens, mask = tokenize([f"clip {i}: someone throws a bottle at a car" for i in range(GLOBAL_BATCH)], 12)
    frames = torch.randn(GLOBAL_BATCH, 3, 3, 64, 64, generator=generator)
    frame_mask = torch.ones(GLOBAL_BATCH, 3, dtype=torch.long)
    frame_mask[1, 2:] = 0
    return tokens, mask, frames, frame_mask


def _model(name: str) -> torch.nn.Module:
    from svta.retrieval import create_model

    torch.manual_seed(5)
    return create_model(name, max_words=12, temporal_layers=1)


def _worker(rank: int, init_file: str, name: str, out_dir: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        model = DistributedDataParallel(_model(name))
        per_rank = GLOBAL_BATCH // WORLD
        local = [t[rank * per_rank : (rank + 1) * per_rank] for t in _global_batch()]
        loss = model(*local)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.module.named_parameters() if p.grad is not None}
        torch.save({"loss": loss.detach(), "grads": grads}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _check(name: str, tmp_path) -> None:
    # spawn: a forked child of a process that already ran torch's OpenMP pool can hang.
    mp.spawn(_worker, args=(str(tmp_path / "init"), name, str(tmp_path)), nprocs=WORLD, join=True)
    single = _model(name)
    loss = single(*_global_batch())
    loss.backward()
    for rank in range(WORLD):
        out = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        torch.testing.assert_close(out["loss"], loss.detach(), atol=1e-5, rtol=1e-5)
        for param_name, param in single.named_parameters():
            if param.grad is not None:
                torch.testing.assert_close(
                    out["grads"][param_name], param.grad, atol=1e-5, rtol=1e-4, msg=lambda m, p=param_name: f"{p}: {m}"
                )


def test_two_rank_loss_and_gradients_equal_one_process(tmp_path):
    _check("clip4clip-seqtransf", tmp_path)
