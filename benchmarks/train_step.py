"""Training throughput of a CLIP4Clip model, and whether the frame loader keeps up with it.

Measures, in one process and on the same generated mp4 clips:
  1. the training step alone (forward + backward + AdamW on in-memory batches), clips/s;
  2. the data loader alone (decode + sample + resize in ``--workers`` processes), clips/s, from the videos and
     from the uint8 frame cache;
  3. the ratio loader / step: above 1 means the loader is not the bottleneck.

    .venv/bin/python benchmarks/train_step.py                       # CPU, tiny backbone, 64 px, 8 frames
    .venv/bin/python benchmarks/train_step.py --device cuda --backbone ViT-B-32 --frames 12 --batch 64 \\
        --workers 8 --pretrained openai        # or --random-init when the model hub is unreachable
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def make_clips(folder: Path, clips: int, frames: int, width: int, height: int) -> list[dict]:
    """Moving textured clips like SVTA's (~33 frames at 16 fps), written with write_mp4; manifest rows."""
    from svta.video_io import write_mp4

    rng = np.random.default_rng(0)
    rows = []
    for i in range(clips):
        texture = (rng.integers(0, 256, (height, 2 * width, 3), dtype=np.uint8) // 32 * 32).astype(np.uint8)
        video = np.stack([np.roll(texture, -(1 + i % 4) * t, axis=1)[:, :width] for t in range(frames)])
        write_mp4(folder / "videos" / f"c{i:04d}.mp4", video, 16, crf=23, preset="veryfast")
        rows.append(
            {
                "id": f"c{i:04d}",
                "caption": f"a person does thing number {i} in a parking lot",
                "category": "walking",
                "is_anomaly": False,
                "path": f"videos/c{i:04d}.mp4",
                "split": "train",
            }
        )
    return rows


def step_throughput(model, batch: int, frames: int, size: int, device: str, steps: int, amp) -> float:
    """Clips/s of forward + backward + optimiser step on random in-memory batches."""
    import torch

    from svta.retrieval.config import TrainConfig
    from svta.retrieval.evaluate import autocast_context
    from svta.retrieval.tokenizer import tokenize

    optimizer = __import__("svta.retrieval.optim", fromlist=["build_optimizer"]).build_optimizer(model, TrainConfig())
    tokens, mask = tokenize([f"caption {i} of a video" for i in range(batch)], 32)
    video = torch.randn(batch, frames, 3, size, size, device=device)
    frame_mask = torch.ones(batch, frames, dtype=torch.long, device=device)
    tokens, mask = tokens.to(device), mask.to(device)

    def one_step() -> None:
        with autocast_context(torch.device(device), amp):
            loss = model(tokens, mask, video, frame_mask)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(2):  # warm-up: allocator, kernels, cuDNN choices
        one_step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    _sync(device)
    return batch * steps / (time.perf_counter() - start)


def loader_throughput(dataset, batch: int, workers: int, batches: int) -> float:
    """Clips/s the loader delivers (uint8 frames, collated), after its first batch."""
    from svta.retrieval.data import EpochBatchSampler, make_loader

    sampler = EpochBatchSampler(len(dataset), batch, seed=1, limit=batches + 1)
    iterator = iter(make_loader(dataset, sampler, workers))
    next(iterator)  # workers start up and prefetch
    start, clips = time.perf_counter(), 0
    for item in iterator:
        clips += len(item["index"])
    return clips / (time.perf_counter() - start)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--model", default="clip4clip-meanp")
    parser.add_argument("--pretrained", default=None, help="'openai' downloads the released weights")
    parser.add_argument("--random-init", action="store_true", help="random weights (no hub access needed)")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (e.g. 2 for a laptop)")
    args = parser.parse_args()
    run(args)


def run(args: argparse.Namespace) -> None:
    import torch

    from svta.retrieval import create_model
    from svta.retrieval.data import ClipDataset, read_split
    from svta.retrieval.frame_cache import build_frame_cache
    from svta.retrieval.tokenizer import tokenize
    from svta.retrieval.train_setup import resolve_precision
    from svta.tables import write_table

    if args.threads:
        torch.set_num_threads(args.threads)
    pretrained = None if args.random_init else args.pretrained
    model = create_model(args.model, args.backbone, pretrained, max_frames=args.frames).to(args.device)
    size, amp = model.image_size, resolve_precision(args.precision, torch.device(args.device))
    print(
        f"device {args.device} ({torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu'}), "
        f"{args.model} on {args.backbone} ({'random init' if pretrained is None else pretrained}), "
        f"{args.frames} frames x {size} px, batch {args.batch}, precision {amp or 'fp32'}, "
        f"{torch.get_num_threads()} threads, {args.workers} loader workers"
    )
    step = step_throughput(model, args.batch, args.frames, size, args.device, args.steps, amp)
    print(f"training step:            {step:8.1f} clips/s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_table(make_clips(root, args.clips, 33, 320, 240), root / "manifest.parquet", "manifest")
        records = read_split(root, "train")
        tokens, mask = tokenize([r.caption for r in records], 32)
        decoded = ClipDataset(records, tokens, mask, args.frames, model.preprocess)
        batches = max(1, args.clips // args.batch - 1)
        from_video = loader_throughput(decoded, args.batch, args.workers, batches)
        print(f"loader, decoding mp4:     {from_video:8.1f} clips/s  (loader / step = {from_video / step:.2f})")
        start = time.perf_counter()
        cache = build_frame_cache(root / "cache", records, args.frames, model.preprocess, workers=args.workers)
        print(f"frame cache build:        {len(records) / (time.perf_counter() - start):8.1f} clips/s (once)")
        cached = ClipDataset(records, tokens, mask, args.frames, model.preprocess, cache=cache)
        from_cache = loader_throughput(cached, args.batch, args.workers, batches)
        print(f"loader, frame cache:      {from_cache:8.1f} clips/s  (loader / step = {from_cache / step:.2f})")


if __name__ == "__main__":
    main()
