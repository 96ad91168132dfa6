"""Results tables in the seed's layout (T2V | V2T, each R@1 R@5 R@10 MdR MnR) as Markdown, LaTeX, CSV.

A run is a :class:`~svta.eval.metrics.RetrievalResult`, an ``EvalReport`` (``.metrics``) or their dict form
(e.g. a loaded ``metrics.json``); several runs make one row each. :func:`method_name` is the one place a model
name becomes a table label, so every output names a method the same way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from svta.errors import InputError

COLUMNS = ("R1", "R5", "R10", "MdR", "MnR")
HEADERS = {"R1": "R@1", "R5": "R@5", "R10": "R@10", "MdR": "MdR", "MnR": "MnR"}
LOWER_IS_BETTER = {"MdR", "MnR"}
FORMATS = ("markdown", "latex", "csv")
CHANCE = "chance"
# Registry names -> the names the SVTA paper's tables use.
METHOD_NAMES = {
    "clip4clip-meanp": "CLIP4Clip-MeanP",
    "clip4clip-seqlstm": "CLIP4Clip-seqLSTM",
    "clip4clip-seqtransf": "CLIP4Clip-seqTransf",
    "clip4clip-tighttransf": "CLIP4Clip-tightTransf",
    "xclip": "X-CLIP",
    "gram": "GRAM",
}


def method_name(model: str, backbone: str | None = None) -> str:
    """A model's table label: ``clip4clip-meanp`` -> ``CLIP4Clip-MeanP``; with a backbone other than the paper's
    ViT-B/32, ``X-CLIP (ViT-B/16)`` or ``CLIP4Clip-MeanP (tiny)``. Unknown names pass through unchanged."""
    name = METHOD_NAMES.get(model.lower(), model)
    if not backbone or backbone in ("ViT-B-32", "ViT-B/32"):
        return name
    shown = backbone.replace("ViT-B-", "ViT-B/").replace("ViT-L-", "ViT-L/")
    return f"{name} ({Path(shown).stem if shown.endswith('.pt') else shown})"


def chance_metrics(n_candidates: int, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, dict[str, float]]:
    """Expected metrics of a random ranking over ``n_candidates`` per query, both directions alike:
    R@K = 100 K / N, MdR = MnR = (N + 1) / 2."""
    if n_candidates < 1:
        raise InputError(f"chance level needs at least one candidate, got {n_candidates}")
    row = {f"R{k}": min(100.0, 100.0 * k / n_candidates) for k in ks}
    row.update(MdR=(n_candidates + 1) / 2, MnR=(n_candidates + 1) / 2)
    return {"t2v": dict(row), "v2t": dict(row)}


def _run_dict(run: Any, name: str) -> dict[str, dict[str, float]]:
    data = run.to_dict() if hasattr(run, "to_dict") else getattr(run, "metrics", run)
    if not isinstance(data, Mapping) or not all(isinstance(data.get(d), Mapping) for d in ("t2v", "v2t")):
        raise InputError(f"run {name!r}: expected a result with 't2v' and 'v2t' metrics")
    for direction in ("t2v", "v2t"):
        missing = [c for c in COLUMNS if c not in data[direction]]
        if missing:
            raise InputError(f"run {name!r}: {direction} lacks {', '.join(missing)}")
    return {d: {c: float(data[d][c]) for c in COLUMNS} for d in ("t2v", "v2t")}


def _best(rows: dict[str, dict[str, dict[str, float]]], decimals: int) -> dict[tuple[str, str], float]:
    """The best value per column, as printed (the chance row never counts)."""
    best = {}
    for direction in ("t2v", "v2t"):
        for col in COLUMNS:
            values = [round(r[direction][col], decimals) for name, r in rows.items() if name != CHANCE]
            best[direction, col] = min(values) if col in LOWER_IS_BETTER else max(values)
    return best


def results_table(runs: Mapping[str, Any], fmt: str = "markdown", decimals: int = 1, bold_best: bool = False) -> str:
    """Render runs as one table.

    Args:
        runs: ``{method name: RetrievalResult or {"t2v": {...}, "v2t": {...}}}``, in row order.
        fmt: "markdown", "latex" or "csv" (CSV keeps full precision).
        decimals: digits after the point (Markdown/LaTeX).
        bold_best: bold the best value of each column (Markdown/LaTeX; several runs; a row named
            ``chance`` never counts).
    """
    if fmt not in FORMATS:
        raise InputError(f"table format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not runs:
        raise InputError("no runs to tabulate")
    rows = {name: _run_dict(run, name) for name, run in runs.items()}
    if fmt == "csv":
        return _csv(rows)
    best = _best(rows, decimals) if bold_best and len(rows) - (CHANCE in rows) > 1 else {}
    render = _markdown if fmt == "markdown" else _latex
    return render(rows, best, decimals)


def _cells(row: dict[str, dict[str, float]], best: dict, decimals: int, bold: str) -> list[str]:
    cells = []
    for direction in ("t2v", "v2t"):
        for col in COLUMNS:
            value = row[direction][col]
            text = f"{value:.{decimals}f}"
            cells.append(bold.format(text) if best.get((direction, col)) == round(value, decimals) else text)
    return cells


def _markdown(rows: dict, best: dict, decimals: int) -> str:
    head = ["Method"] + [("T2V " if c == "R1" else "") + HEADERS[c] for c in COLUMNS]
    head += [("V2T " if c == "R1" else "") + HEADERS[c] for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 10) + "|"]
    for name, row in rows.items():
        cells = _cells(row, {} if name == CHANCE else best, decimals, "**{}**")
        lines.append("| " + " | ".join([name.replace("|", "\\|")] + cells) + " |")
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _latex(rows: dict, best: dict, decimals: int) -> str:
    arrows = [HEADERS[c] + (r"$\downarrow$" if c in LOWER_IS_BETTER else r"$\uparrow$") for c in COLUMNS]
    lines = [
        r"\begin{tabular}{l" + "c" * 5 + "c" * 5 + "}",
        r"\toprule",
        r" & \multicolumn{5}{c}{Text-to-Video} & \multicolumn{5}{c}{Video-to-Text} \\",
        r"\cmidrule(lr){2-6} \cmidrule(lr){7-11}",
        "Method & " + " & ".join(arrows + arrows) + r" \\",
        r"\midrule",
    ]
    for name, row in rows.items():
        cells = _cells(row, {} if name == CHANCE else best, decimals, r"\textbf{{{}}}")
        lines.append(" & ".join([latex_escape(name)] + cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _csv(rows: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method"] + [f"{d}_{c}" for d in ("t2v", "v2t") for c in COLUMNS])
    for name, row in rows.items():
        writer.writerow([name] + [repr(row[d][c]) for d in ("t2v", "v2t") for c in COLUMNS])
    return out.getvalue()


def write_tables(runs: Mapping[str, Any], stem: Path | str, bold_best: bool = False) -> dict[str, Path]:
    """``stem.md``, ``stem.tex`` and ``stem.csv`` of the same runs (one decimal; CSV at full precision)."""
    stem = Path(stem)
    return {
        fmt: write_table(runs, stem.with_name(f"{stem.name}.{ext}"), fmt, bold_best=bold_best)
        for fmt, ext in (("markdown", "md"), ("latex", "tex"), ("csv", "csv"))
    }


def write_table(
    runs: Mapping[str, Any], path: Path | str, fmt: str | None = None, decimals: int = 1, bold_best: bool = False
) -> Path:
    """Write :func:`results_table` to ``path`` atomically; the format defaults from the suffix
    (.md, .tex, .csv)."""
    path = Path(path)
    if fmt is None:
        fmt = {".md": "markdown", ".tex": "latex", ".csv": "csv"}.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: cannot tell the table format from the suffix (use .md, .tex or .csv)")
    text = results_table(runs, fmt, decimals, bold_best)
    atomic_write_text(path, text)
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (see :func:`svta.tables.atomic_write_text`)."""
    from svta import tables  # lazy: pyarrow only when writing

    tables.atomic_write_text(path, text)


def gather_runs(paths: list[Path | str], skipped: list[tuple[Path, str]] | None = None) -> dict[str, dict[str, Any]]:
    """Read runs for one table: each path a run folder (``metrics.json`` inside, or in ``eval/<split>/``) or a
    ``metrics.json``; shell-style patterns (``runs/*``) are expanded. Rows are labelled by
    :func:`method_name`; a label used twice gets the run's folder name appended.

    A pattern's matches that are not runs (``runs/results.md``, a folder without a metrics file) are left out and,
    when ``skipped`` is given, appended to it as ``(path, reason)``; a path given by name must be a run.

    Raises:
        InputError: a named path with no metrics, a pattern matching nothing, or no run at all.
    """
    import glob

    files: list[Path] = []
    for raw in paths:
        files += _pattern_runs(str(raw), skipped) if glob.has_magic(str(raw)) else [_metrics_file(Path(raw))]
    if not files:
        raise InputError("no runs given: svta report RUN... (run folders, metrics.json files or patterns)")
    import json

    rows: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable metrics.json ({exc})") from None
        _run_dict(data, str(path))  # checks the columns, naming the file
        label = method_name(str(data.get("model") or path.parent.name), data.get("backbone"))
        if label in rows:
            label = f"{label} [{path.parent.name}]"
        rows[label] = data
    return rows


METRICS_NAME = "metrics.json"


def _pattern_runs(pattern: str, skipped: list[tuple[Path, str]] | None) -> list[Path]:
    """The metrics files of a pattern's matches that are runs; the other matches go to ``skipped``."""
    import glob

    matches = [Path(m) for m in sorted(glob.glob(pattern))]
    if not matches:
        raise InputError(f"{pattern}: matches no run (give run folders or metrics.json files)")
    found = {match: _run_metrics(match) for match in matches}
    if skipped is not None:
        skipped += [(match, f"not a run (no {METRICS_NAME})") for match, path in found.items() if path is None]
    return [path for path in found.values() if path is not None]


def _run_metrics(path: Path) -> Path | None:
    """The metrics file of a run folder (or the file itself when it is one), else None."""
    if path.is_file():
        return path if path.name == METRICS_NAME else None
    for candidate in [path / METRICS_NAME, *sorted(path.glob(f"eval/*/{METRICS_NAME}"))]:
        if candidate.is_file():
            return candidate
    return None


def _metrics_file(path: Path) -> Path:
    if path.is_file():
        return path
    found = _run_metrics(path)
    if found is None:
        raise InputError(f"{path}: no metrics.json (not a finished `svta train` run or `svta eval` output)")
    return found


def report_table(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``runs`` plus a chance row per gallery size (``n_videos`` in the metrics), ready for :func:`write_tables`."""
    sizes = sorted({int(d["n_videos"]) for d in runs.values() if d.get("n_videos")})
    rows: dict[str, Any] = dict(runs)
    for size in sizes:
        rows[CHANCE if len(sizes) == 1 else f"{CHANCE} (N = {size})"] = chance_metrics(size)
    return rows
