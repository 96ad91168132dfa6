"""Write and read overlap reports: ``overlap.json`` (everything, the input of ``--exclude-overlap``),
``overlap.md`` (counts and the closest pairs for a reader) and ``overlap_similarity.png`` (the histogram of each
evaluation caption's best cosine to the training captions, with the threshold marked).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svta.errors import InputError, MissingExtraError
from svta.progress import warn
from svta.tables import atomic_path, atomic_write_json, atomic_write_text
from svta.transfer.overlap import KINDS, OverlapReport

JSON_FILE, MARKDOWN_FILE, FIGURE_FILE = "overlap.json", "overlap.md", "overlap_similarity.png"
KIND_NAMES = {
    "exact": "exact caption (normalised)",
    "near": "near-duplicate caption",
    "source": "same source recording",
    "video_hash": "identical video file",
    "video": "near-duplicate video",
}
_SHOWN_PAIRS = 30


@dataclass
class ReportFiles:
    json: Path
    markdown: Path
    figure: Path | None


def write_overlap_outputs(report: OverlapReport, out_dir: Path | str) -> tuple[ReportFiles, Any]:
    """What ``svta eval overlap`` leaves in ``out_dir``: the report (:func:`write_overlap_report`) and the review
    files (:func:`svta.transfer.overlap_review.write_review_files`). Returns ``(ReportFiles, ReviewFiles)``."""
    from svta.transfer.overlap_review import write_review_files

    files = write_overlap_report(report, out_dir)
    return files, write_review_files(report, out_dir)


def overlap_folder(train_root: Path | str, eval_name: str) -> Path:
    """The default report folder of an evaluation set checked against a training root."""
    from svta.transfer.evaluate import report_slug

    return Path(train_root) / "stats" / "overlap" / report_slug(eval_name)


def write_overlap_report(report: OverlapReport, out_dir: Path | str, figure: bool = True) -> ReportFiles:
    """Write the JSON, Markdown and (when matplotlib is installed and ``figure``) PNG files into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / JSON_FILE, report.to_dict())
    png = None
    if figure:
        try:
            png = plot_similarity_histogram(report, out_dir / FIGURE_FILE)
        except MissingExtraError as exc:  # matplotlib missing: the Markdown keeps a text histogram
            warn(f"no similarity histogram figure: {exc}")
    atomic_write_text(out_dir / MARKDOWN_FILE, overlap_markdown(report, png.name if png else None))
    return ReportFiles(out_dir / JSON_FILE, out_dir / MARKDOWN_FILE, png)


def read_overlap_report(path: Path | str) -> OverlapReport:
    """Load ``overlap.json`` (or the folder holding it).

    Raises:
        InputError: the file is missing, not JSON, or not an overlap report.
    """
    path = Path(path)
    path = path / JSON_FILE if path.is_dir() else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: overlap report not found (write one with `svta eval overlap`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON overlap report ({exc})") from None
    return OverlapReport.from_dict(data, str(path))


def overlap_markdown(report: OverlapReport, figure: str | None = None) -> str:
    """A readable summary: what was compared, items flagged per kind, the closest pairs."""
    n_eval, opts = report.eval["n_items"], report.options
    lines = [
        f"# Overlap: {report.eval['name']} vs training set {report.train['name']}",
        "",
        (
            f"{report.counts['any']} of {n_eval} evaluation items ({_pct(report.counts['any'], n_eval)}) overlap the "
            f"{report.train['n_items']} training items; {report.counts['clean']} are clean."
        ),
        "",
        "| evidence | eval items | pairs |",
        "|---|---:|---:|",
    ]
    for kind in KINDS:
        lines.append(f"| {KIND_NAMES[kind]} (`{kind}`) | {report.counts[kind]} | {report.n_pairs[kind]} |")
    lines += [
        "",
        f"- near-duplicate captions: {near_rule(report)}",
        f"- videos compared by frame embeddings: {'yes' if report.video.get('checked') else 'no'}"
        + (f" (similarity >= {opts['video_threshold']})" if report.video.get("checked") else ""),
        f"- evaluation set fingerprint: `{report.eval['fingerprint']}`",
        "",
    ]
    lines += [f"![best similarity per evaluation caption]({figure})", ""] if figure else _text_histogram(report)
    lines += [
        "## Closest pairs",
        "",
        "| kind | score | eval | eval caption | train caption |",
        "|---|---:|---|---|---|",
    ]
    for pair in sorted(report.pairs, key=lambda p: -p["score"])[:_SHOWN_PAIRS]:
        cells = [pair["kind"], f"{pair['score']:.3f}", pair["eval_id"], pair["eval_caption"], pair["train_caption"]]
        lines.append(_row(cells))
    near = [p for p in report.pairs if p["kind"] == "near"]
    if near:
        lines += ["", f"## Why each near pair was flagged ({len(near)})", ""]
        lines += ["| eval | train | signals | eval caption | train caption |", "|---|---|---|---|---|"]
        lines += [_row([p["eval_id"], p["train_id"], p.get("why", ""), p["eval_caption"], p["train_caption"]])
                  for p in near]  # fmt: skip
    if report.review:
        lines += ["", "## Review applied", "", review_sentence(report.review)]
    return "\n".join(lines) + "\n"


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def near_rule(report: OverlapReport) -> str:
    """How near pairs were decided, in one sentence."""
    opts, near = report.options, report.near or {}
    if near.get("method") == "model":
        veto = " and no conflicting detail" if near.get("agreement_veto") else ""
        return (
            f"hub-aware model (CSLS, mutual {near.get('k')}-nearest neighbours, IDF overlap, specificity, events) "
            f"probability >= {near.get('threshold')}{veto}, scored over {near.get('candidates')} candidate pair(s) "
            f"with {opts['embedder']} cosine >= {near.get('candidate_cosine')}; {report.near_rejected} were not near"
        )
    threshold = near.get("threshold", opts.get("text_threshold"))
    agreement = (
        f" and agreeing details ({report.near_rejected} pair(s) above the threshold disagreed)"
        if opts.get("near_agreement", False)
        else ""
    )
    return f"{opts['embedder']} cosine >= {threshold}{agreement}"


def review_sentence(review: dict) -> str:
    """Which pairs a person's review kept (the clean numbers use these)."""
    return (
        f"Reviewed file `{review.get('file')}`: {len(review.get('confirmed', []))} pair(s) confirmed and used, "
        f"{len(review.get('rejected', []))} rejected, {len(review.get('unreviewed', []))} near pair(s) not reviewed "
        f"(not used: only confirmed near pairs exclude items). Confirmed: "
        + (", ".join(f"`{p}`" for p in review.get("confirmed", [])) or "none")
    )


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _text_histogram(report: OverlapReport) -> list[str]:
    edges, counts = report.histogram["edges"], report.histogram["counts"]
    peak = max(counts or [1]) or 1
    rows = [f"{edges[i]:+.2f} {'#' * round(30 * c / peak)} {c}" for i, c in enumerate(counts) if c]
    return ["Best text similarity per evaluation caption:", "", "```", *rows, "```", ""]


def plot_similarity_histogram(report: OverlapReport, path: Path | str) -> Path:
    """Histogram of each evaluation caption's best cosine to the training captions, threshold dashed (PNG)."""
    from svta.registry import require

    require("matplotlib", "plot").use("Agg")
    import matplotlib.pyplot as plt

    edges, counts = report.histogram["edges"], report.histogram["counts"]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    try:
        widths = [b - a for a, b in itertools.pairwise(edges)]
        ax.bar(edges[:-1], counts, width=widths, align="edge", color="#4472c4", edgecolor="white")
        near = report.near or {}
        model = near.get("method") == "model"
        line = near.get("candidate_cosine") if model else near.get("threshold", report.options.get("text_threshold"))
        if line is not None:
            label = f"{'candidate floor' if model else 'near-duplicate threshold'} {line}"
            ax.axvline(line, color="#c00000", linestyle="--", label=label)
        ax.set_xlabel(f"best cosine to a training caption ({report.options['embedder']})")
        ax.set_ylabel("evaluation captions")
        ax.set_title(f"{report.eval['name']} vs {report.train['name']}", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
        return path
    finally:
        plt.close(fig)
