"""Results tables in the seed's layout (T2V | V2T, each R@1 R@5 R@10 MdR MnR) as Markdown, LaTeX, CSV.

A run is a :class:`~svta.eval.metrics.RetrievalResult` or its ``to_dict()`` form (e.g. a loaded
``metrics.json``); several runs make one row each.
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


def _run_dict(run: Any, name: str) -> dict[str, dict[str, float]]:
    data = run.to_dict() if hasattr(run, "to_dict") else run
    if not isinstance(data, Mapping) or not all(isinstance(data.get(d), Mapping) for d in ("t2v", "v2t")):
        raise InputError(f"run {name!r}: expected a result with 't2v' and 'v2t' metrics")
    for direction in ("t2v", "v2t"):
        missing = [c for c in COLUMNS if c not in data[direction]]
        if missing:
            raise InputError(f"run {name!r}: {direction} lacks {', '.join(missing)}")
    return {d: {c: float(data[d][c]) for c in COLUMNS} for d in ("t2v", "v2t")}


def _best(rows: dict[str, dict[str, dict[str, float]]]) -> dict[tuple[str, str], float]:
    best = {}
    for direction in ("t2v", "v2t"):
        for col in COLUMNS:
            values = [r[direction][col] for r in rows.values()]
            best[direction, col] = min(values) if col in LOWER_IS_BETTER else max(values)
    return best


def results_table(runs: Mapping[str, Any], fmt: str = "markdown", decimals: int = 1,
                  bold_best: bool = False) -> str:
    """Render runs as one table.

    Args:
        runs: ``{method name: RetrievalResult or {"t2v": {...}, "v2t": {...}}}``, in row order.
        fmt: "markdown", "latex" or "csv" (CSV keeps full precision).
        decimals: digits after the point (Markdown/LaTeX).
        bold_best: bold the best value of each column (Markdown/LaTeX; several runs).
    """
    if fmt not in FORMATS:
        raise InputError(f"table format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not runs:
        raise InputError("no runs to tabulate")
    rows = {name: _run_dict(run, name) for name, run in runs.items()}
    if fmt == "csv":
        return _csv(rows)
    best = _best(rows) if bold_best and len(rows) > 1 else {}
    render = _markdown if fmt == "markdown" else _latex
    return render(rows, best, decimals)


def _cells(row: dict[str, dict[str, float]], best: dict, decimals: int, bold: str) -> list[str]:
    cells = []
    for direction in ("t2v", "v2t"):
        for col in COLUMNS:
            value = row[direction][col]
            text = f"{value:.{decimals}f}"
            cells.append(bold.format(text) if best.get((direction, col)) == value else text)
    return cells


def _markdown(rows: dict, best: dict, decimals: int) -> str:
    head = ["Method"] + [("T2V " if c == "R1" else "") + HEADERS[c] for c in COLUMNS]
    head += [("V2T " if c == "R1" else "") + HEADERS[c] for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 10) + "|"]
    for name, row in rows.items():
        lines.append("| " + " | ".join([name.replace("|", "\\|")] + _cells(row, best, decimals, "**{}**")) + " |")
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


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
        lines.append(" & ".join([latex_escape(name)] + _cells(row, best, decimals, r"\textbf{{{}}}")) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _csv(rows: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method"] + [f"{d}_{c}" for d in ("t2v", "v2t") for c in COLUMNS])
    for name, row in rows.items():
        writer.writerow([name] + [repr(row[d][c]) for d in ("t2v", "v2t") for c in COLUMNS])
    return out.getvalue()


def write_table(runs: Mapping[str, Any], path: Path | str, fmt: str | None = None, decimals: int = 1,
                bold_best: bool = False) -> Path:
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
