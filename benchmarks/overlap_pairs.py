"""Near-duplicate caption detection for the overlap check, measured on the labelled pairs of
``tests/data/caption_pairs.tsv`` (paraphrases of one event vs same-topic captions of different
events): precision and recall of "same event" per cosine threshold, with the text embedding alone
(the baseline) and with detail agreement as a second signal (svta's default). Prints the README table.

    .venv/bin/python benchmarks/overlap_pairs.py [--embedder minilm] [--thresholds 0.6,0.7,0.75,0.8,0.85,0.9]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

PAIRS = Path(__file__).parents[1] / "tests" / "data" / "caption_pairs.tsv"


def precision_recall(hit: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    tp = int((hit & positive).sum())
    return tp / max(1, int(hit.sum())), tp / max(1, int(positive.sum()))


def main() -> None:
    from svta.embed import get_text_embedder
    from svta.transfer.agreement import agree

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--thresholds", default="0.6,0.7,0.75,0.8,0.85,0.9")
    args = parser.parse_args()
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    embedder = get_text_embedder(args.embedder, None)
    cosine = (embedder.encode([r["a"] for r in rows]) * embedder.encode([r["b"] for r in rows])).sum(axis=1)
    positive = np.array([r["label"] == "para" for r in rows])
    agrees = np.array([agree(r["a"], r["b"]) for r in rows])
    print(
        f"{positive.sum()} paraphrase and {(~positive).sum()} different-event pairs; agreement keeps "
        f"{agrees[positive].sum()} paraphrases and rejects {(~agrees[~positive]).sum()} different events"
    )
    print("| threshold | cosine alone P | R | cosine + agreement P | R |\n|---:|---:|---:|---:|---:|")
    for threshold in (float(t) for t in args.thresholds.split(",")):
        alone = precision_recall(cosine >= threshold, positive)
        both = precision_recall((cosine >= threshold) & agrees, positive)
        print(f"| {threshold:.2f} | {alone[0]:.3f} | {alone[1]:.3f} | {both[0]:.3f} | {both[1]:.3f} |")


if __name__ == "__main__":
    main()
