"""Part 4 of ``benchmarks/annotate.py``: ``minilm-head`` on whole-video captions in the style of real datasets.

The test half of ``tests/data/realstyle_eval.csv`` is scored here once (the dev half chose the sentence
rule and is part of the head's training set). Printed: anomaly-vs-normal, category top-1, UCF-Crime
class (13 + Normal), the UCF-class confusion, calibration of P(anomaly) and the abstention, against
MiniLM-nearest and the same head on whole captions only; then the one-pass sentence vectors against
embedding each sentence separately (float32, same process), and throughput at float32 / int8 / bfloat16.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np


def load(path: Path, half: str | None = None, column: str = "half") -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if half is None or row[column] == half]


def decide(classifier, probs: np.ndarray, p_anomaly: np.ndarray) -> tuple[list[str], list[str], list[bool]]:
    """Category (of the decided kind), UCF-Crime class and anomaly decision per caption (forced: no abstention)."""
    taxonomy = classifier.taxonomy
    ucf_ids = [i for i, c in enumerate(classifier.ids) if taxonomy.get(c).ucf_crime]
    categories, classes, kinds = [], [], []
    for p, a in zip(probs, p_anomaly):
        decided = bool(a >= 0.5)
        categories.append(classifier.ids[int(np.where(classifier.kinds == decided, p, -1).argmax())])
        named = taxonomy.get(classifier.ids[ucf_ids[int(p[ucf_ids].argmax())]]).ucf_crime
        classes.append(named if decided else "Normal")
        kinds.append(decided)
    return categories, classes, kinds


def metrics(rows: list[dict], categories: list[str], classes: list[str], kinds: list[bool]) -> dict[str, float]:
    truth_kind = [row["is_anomaly"] == "true" for row in rows]
    scored = [(c, row["ucf_class"]) for c, row in zip(classes, rows) if row["ucf_class"]]
    return {
        "anomaly": float(np.mean([k == t for k, t in zip(kinds, truth_kind)])),
        "top1": float(np.mean([c == row["category"] for c, row in zip(categories, rows)])),
        "ucf": float(np.mean([a == b for a, b in scored])),
    }


def nearest_answers(taxonomy, rows: list[dict]) -> tuple[list[str], list[str], list[bool]]:
    """MiniLM-nearest (the ``minilm`` classifier): top category, its UCF class (or Normal), its kind."""
    from svta.annotate.classifiers import MiniLMClassifier

    classifier = MiniLMClassifier(taxonomy)
    categories = [p.category for p in classifier.classify([row["caption"] for row in rows])]
    kinds = [taxonomy.get(c).is_anomaly for c in categories]
    ucf_rank = [c.id for c in taxonomy if c.ucf_crime]
    scores = classifier.scores(classifier.embed([row["caption"] for row in rows]))
    columns = [classifier.ids.index(c) for c in ucf_rank]
    classes = [
        taxonomy.get(ucf_rank[int(np.argmax(row[columns]))]).ucf_crime if kind else "Normal"
        for row, kind in zip(scores, kinds)
    ]
    return categories, classes, kinds


def confusion_table(rows: list[dict], classes: list[str]) -> None:
    """UCF-class confusion on the test half: per true class, accuracy, n and the commonest wrong answers."""
    pairs = [(row["ucf_class"], c) for row, c in zip(rows, classes) if row["ucf_class"]]
    print("  UCF-Crime class confusion (true class: accuracy, n; most frequent wrong answers)")
    for name in sorted({t for t, _ in pairs}):
        answers = Counter(c for t, c in pairs if t == name)
        n = sum(answers.values())
        wrong = ", ".join(f"{c} x{k}" for c, k in answers.most_common() if c != name)
        print(f"    {name:14s} {answers[name] / n:5.2f}  n={n:3d}  {wrong or '-'}")


def calibration(classifier, rows: list[dict], p_anomaly: np.ndarray) -> None:
    """Reliability of max(p, 1 - p) in bins with the expected calibration error, and what abstaining does at
    the configured temperature / threshold and at the previous 0.5 / 0.65 (before the sentence-level refit)."""
    truth = np.array([row["is_anomaly"] == "true" for row in rows])
    config = classifier.head_config
    raw = 1 / (1 + np.exp(-np.log(p_anomaly / (1 - p_anomaly)) * config.anomaly_temperature))  # undo T
    for temperature, threshold in ((config.anomaly_temperature, config.review_below), (0.5, 0.65)):
        p = 1 / (1 + np.exp(-np.log(raw / (1 - raw)) / temperature))
        sure, right = np.maximum(p, 1 - p), (p >= 0.5) == truth
        print(f"  P(anomaly) at temperature {temperature} (confidence bin: n, mean confidence, accuracy)")
        ece = 0.0
        for low, high in ((0.5, 0.65), (0.65, 0.75), (0.75, 0.9), (0.9, 0.97), (0.97, 1.01)):
            inside = (sure >= low) & (sure < high)
            if inside.any():
                ece += inside.mean() * abs(sure[inside].mean() - right[inside].mean())
                print(
                    f"    [{low:.2f}, {min(high, 1.0):.2f}) n={inside.sum():3d}  {sure[inside].mean():.3f}  "
                    f"{right[inside].mean():.3f}"
                )
        kept = sure >= threshold
        sent = f"{right[~kept].mean():.3f}" if (~kept).any() else "-"
        print(
            f"    ECE {ece:.3f}; review below {threshold}: {1 - kept.mean():.3f} sent to review ({(~kept).sum()}); "
            f"anomaly accuracy kept {right[kept].mean():.3f}, abstained {sent} (all {right.mean():.3f})"
        )


def separate_sentences(head, captions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The baseline sentence rule: each sentence of a long caption embedded as a text of its own (a second
    pass), then the same mean of the whole caption and its most anomalous sentence."""
    from svta.annotate.head import split_sentences

    groups = [split_sentences(caption) for caption in captions]
    extra = [sentence for group in groups if len(group) > 1 for sentence in group]
    probs, p_anomaly = head.raw_probabilities(head.embed([*captions, *extra]))
    start = len(captions)
    for index, group in enumerate(groups):
        if len(group) == 1:
            continue
        event = start + int(np.argmax(p_anomaly[start : start + len(group)]))
        start += len(group)
        probs[index] = 0.5 * (probs[index] + probs[event])
        p_anomaly[index] = 0.5 * (p_anomaly[index] + p_anomaly[event])
    return probs[: len(captions)], head.calibrate(p_anomaly[: len(captions)])


def one_pass_vs_separate(head, captions: list[str], check: list[str], repeats: int = 3) -> None:
    """captions/s of the one-pass sentence vectors (default) against embedding sentences separately
    (baseline), interleaved ``repeats`` times, best of each, in float32 (bfloat16 autocast off); and how
    many ``check`` captions change label."""
    import time

    from svta.embed import PRECISION_ENV

    saved = os.environ.get(PRECISION_ENV)
    os.environ[PRECISION_ENV] = "fp32"
    try:
        rules = {
            "separate sentences (baseline)": lambda texts: separate_sentences(head, texts),
            "one pass (default)": head.caption_probabilities,
        }
        for rule in rules.values():
            rule(captions[:64])  # warm-up, model load
        cpu: dict[str, float] = {name: float("inf") for name in rules}
        wall = dict(cpu)
        for _ in range(repeats):
            for name, rule in rules.items():
                start, cpu_start = time.perf_counter(), time.process_time()
                rule(captions)
                wall[name] = min(wall[name], time.perf_counter() - start)
                cpu[name] = min(cpu[name], time.process_time() - cpu_start)
        labels = {
            name: [head._decide(p, float(a)).category for p, a in zip(*rule(check))] for name, rule in rules.items()
        }
    finally:
        if saved is None:
            os.environ.pop(PRECISION_ENV, None)
        else:
            os.environ[PRECISION_ENV] = saved
    print(f"\nsentence vectors, float32, {len(captions)} distinct real-style captions (load average {os.getloadavg()})")
    for name in rules:
        print(
            f"  {name}: {len(captions) / wall[name]:.0f} captions/s wall, {len(captions) / (cpu[name] / 2):.0f} per 2 cores"
        )
    base, new = rules
    same = sum(a == b for a, b in zip(labels[base], labels[new]))
    print(
        f"  ratio {cpu[base] / cpu[new]:.2f}x CPU, {wall[base] / wall[new]:.2f}x wall; same label on {same} of {len(check)}"
    )


def throughput(head, captions: list[str], check: list[str], time_classify: Callable) -> None:
    """captions/s of ``minilm-head`` with its embedder at fp32 (baseline), int8 and, where the CPU has the
    units, bf16 (the same fitted heads: only the embedding changes); and how many ``check`` captions get
    another label (category or needs_review) than at fp32."""
    from svta.embed import PRECISION_ENV, cpu_has_fast_bf16

    precisions = ["fp32", "int8"] + (["bf16"] if cpu_has_fast_bf16() else [])
    saved = os.environ.get(PRECISION_ENV)
    rates, labels = {}, {}
    print(
        f"\nthroughput on {len(captions)} distinct real-style captions (dev and test halves; load average {os.getloadavg()[0]:.1f}, shared machine)"
    )
    try:
        for precision in precisions:
            os.environ[PRECISION_ENV] = precision  # svta.embed builds an embedder per precision
            _, rates[precision] = time_classify(f"minilm-head {precision}", head, captions)
            labels[precision] = [p.category for p in head.classify(check)]
    finally:
        if saved is None:
            os.environ.pop(PRECISION_ENV, None)
        else:
            os.environ[PRECISION_ENV] = saved
    for precision in precisions[1:]:
        moved = sum(a != b for a, b in zip(labels["fp32"], labels[precision]))
        print(
            f"  {precision} / fp32 (baseline): {rates[precision] / rates['fp32']:.2f}x wall; labels differing from "
            f"fp32 on both evaluation sets: {moved} of {len(check)}"
        )


def bench_realstyle(realstyle: Path, old_eval: Path, time_classify: Callable) -> None:
    from svta.annotate.config import AnnotateConfig
    from svta.annotate.head import MiniLMHeadClassifier
    from svta.taxonomy import default_taxonomy

    taxonomy = default_taxonomy()
    rows = load(realstyle, "test")
    head = MiniLMHeadClassifier(taxonomy, AnnotateConfig())
    captions = [row["caption"] for row in rows]
    probs, p_anomaly = head.caption_probabilities(captions)
    new = decide(head, probs, p_anomaly)
    whole = decide(head, *head.probabilities(head.embed(captions)))
    results = {
        "minilm (nearest)": metrics(rows, *nearest_answers(taxonomy, rows)),
        "minilm-head, whole caption only": metrics(rows, *whole),
        "minilm-head, + event sentence (default)": metrics(rows, *new),
    }
    n_anomaly = sum(row["is_anomaly"] == "true" for row in rows)
    print(f"\nreal-style captions, test half: {len(rows)} ({n_anomaly} anomaly; scored once, never tuned on)")
    print("| classifier | anomaly vs normal | category top-1 | UCF-Crime class (13 + Normal) |")
    print("|---|---|---|---|")
    for name, m in results.items():
        print(f"| {name} | {m['anomaly']:.3f} | {m['top1']:.3f} | {m['ucf']:.3f} |")
    confusion_table(rows, new[1])
    calibration(head, rows, p_anomaly)
    check = [row["caption"] for row in load(realstyle)] + [row["caption"] for row in load(old_eval)]
    distinct = [row["caption"] for row in load(realstyle)]  # a repeated caption is embedded once: no repeats
    one_pass_vs_separate(head, distinct, check)
    throughput(head, distinct, check, time_classify)
