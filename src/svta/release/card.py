"""The dataset card (``README.md`` of a release): the YAML header the Hugging Face Hub reads
(configs and splits, license, task categories, size, language) and a datasheet filled from the
build — motivation, composition with the stats and figures, collection process, labelling,
contamination, uses, limitations, citation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from svta import __version__ as svta_version
from svta.release.provenance import Provenance
from svta.release.shards import DATA_DIR, FIELD_DESCRIPTIONS, SPLITS, size_category
from svta.taxonomy import Taxonomy

CARD_FILE = "README.md"


def card_header(provenance: Provenance, splits: list[str], embed_videos: bool) -> dict[str, Any]:
    """The YAML front matter: what ``datasets.load_dataset`` and the Hub read."""
    return {
        "pretty_name": provenance.name,
        "license": provenance.license or "unknown",  # the Hub's value for "not stated"
        "language": ["en"],
        "task_categories": ["text-to-video", "video-classification"],
        "tags": ["video-anomaly-retrieval", "video-text-retrieval", *provenance.origin_keywords, "svta"],
        "size_categories": [size_category(int(provenance.stats.get("n_texts", 0)))],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"{DATA_DIR}/{split}-*.parquet"} for split in splits],
            }
        ],
    }


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _composition(stats: dict[str, Any], taxonomy: Taxonomy, figures: list[str]) -> list[str]:
    splits = stats.get("splits", {})
    words, frames = stats.get("caption_words", {}), stats.get("frames", {})
    lines = [
        "## Composition",
        "",
        f"- **{stats.get('n_texts', 0)} video-text pairs** over {stats.get('n_videos', 0)} clips and "
        f"{stats.get('n_categories', 0)} categories ({stats.get('n_anomaly_categories', 0)} anomaly, "
        f"{stats.get('n_normal_categories', 0)} normal).",
        f"- {stats.get('n_anomaly', 0)} anomaly and {stats.get('n_normal', 0)} normal pairs.",
        f"- Splits: train {splits.get('train', 0)}, val {splits.get('val', 0)}, test {splits.get('test', 0)}.",
        f"- Caption length: mean {words.get('mean', 0):.1f} words (min {words.get('min', 0):.0f}, "
        f"max {words.get('max', 0):.0f}); frames per clip: mean {frames.get('mean', 0):.1f}.",
        f"- Long tail: the 20% most frequent categories hold {100 * stats.get('head20_share', 0):.1f}% of the pairs.",
        "",
    ]
    lines += [f"![{Path(f).stem}]({f})" for f in figures] + ([""] if figures else [])
    lines += ["### Fields", ""]
    lines += _table(["field", "meaning"], [[f"`{k}`", v] for k, v in FIELD_DESCRIPTIONS.items()])
    lines += ["", "### Categories", ""]
    known = set(taxonomy.ids())
    rows = []
    for entry in stats.get("categories", []):
        category = taxonomy.get(entry["category"]) if entry["category"] in known else None
        rows.append(
            [
                f"`{entry['category']}`",
                category.name if category else entry["category"],
                category.group if category else "",
                "anomaly" if entry["is_anomaly"] else "normal",
                entry["count"],
                *(entry.get(split, 0) for split in SPLITS),
            ]
        )
    lines += _table(["id", "name", "group", "kind", "pairs", *SPLITS], rows)
    return lines + [""]


def _collection(provenance: Provenance) -> list[str]:
    config = provenance.config
    captions = config.get("captions") or {}
    sources = provenance.caption_sources
    lines = [
        "## Collection process",
        "",
        f"- **Captions:** {provenance.caption_backend}.",
        f"- **Clips:** {provenance.video_backend}.",
        f"- **Released with:** svta {svta_version}.",
        f"- {provenance.seed_sentence}",
    ]
    if captions.get("backend") == "openai" and "openai" in sources:
        prompt = (captions.get("openai") or {}).get("prompt_template", "")
        lines += ["", "Prompt used for anomaly categories:", "", "```text", prompt.strip(), "```"]
    elif captions.get("backend") == "template" and "template" in sources:
        grammar = (captions.get("template") or {}).get("grammar") or "the grammar shipped with svta"
        lines += [f"- **Grammar:** {grammar}."]
    lines += ["", "Preprocessing:", ""] + [f"- {step}" for step in provenance.preprocessing]
    return lines + [""]


def _labelling(provenance: Provenance) -> list[str]:
    return (
        ["## Labelling", ""] + [f"- {line}" for line in provenance.annotation + provenance.annotation_analysis] + [""]
    )


def _contamination(provenance: Provenance) -> list[str]:
    lines = ["## Contamination report", ""]
    if not provenance.contamination:
        return lines + [
            "No `svta eval overlap` report was found in the build, so overlap with public evaluation sets was not "
            "measured. Run `svta eval overlap` against each evaluation set before using this data to train models "
            "that are evaluated on them.",
            "",
        ]
    lines += [
        "Evaluation items that the training data already contains (text or video), from `svta eval overlap`:",
        "",
    ]
    rows = [
        [
            row.evaluation,
            row.n_eval,
            row.flagged,
            f"{100 * row.flagged / row.n_eval:.1f}%" if row.n_eval else "n/a",
            ", ".join(f"{k} {v}" for k, v in sorted(row.kinds.items())),
        ]
        for row in provenance.contamination
    ]
    return lines + _table(["evaluation set", "items", "overlapping", "share", "by kind"], rows) + [""]


def dataset_card(
    provenance: Provenance, taxonomy: Taxonomy, splits: list[str], figures: list[str], embed_videos: bool
) -> str:
    """The whole card as Markdown with its YAML header."""
    header = yaml.safe_dump(card_header(provenance, splits, embed_videos), sort_keys=False, allow_unicode=True)
    video_note = (
        "The clips are stored inside the shards (`video_bytes`) and, by path, in `video`."
        if embed_videos
        else "The clips are mp4 files under `videos/`; the `video` column holds each clip's path in this folder."
    )
    body = [
        f"# {provenance.name}",
        "",
        provenance.description,
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'ds = load_dataset("path/to/this/folder")  # or the Hub repository id',
        'print(ds["test"][0]["caption"], ds["test"][0]["video"])',
        "```",
        "",
        video_note,
        "",
        "## Motivation",
        "",
        "Video anomaly retrieval finds anomalous events in video from a text query. svta builds such benchmarks the "
        "way SVTA (arXiv:2506.01466) was built; the steps this release actually went through, read from the records "
        "its stages wrote, are listed under Collection process and Labelling.",
        "",
        *_composition(provenance.stats, taxonomy, figures),
        *_collection(provenance),
        *_labelling(provenance),
        *_contamination(provenance),
        "## Uses",
        "",
        *[f"- {use}" for use in provenance.use_cases],
        "",
        "## Limitations and biases",
        "",
        *[f"- {item}" for item in provenance.limitations + provenance.biases],
        f"- {provenance.social_impact}",
        "",
        "## Files",
        "",
        f"- `{DATA_DIR}/<split>-NNNNN-of-NNNNN.parquet`: the pairs of each split.",
        "- `videos/`: the clips." if not embed_videos else "- clips are embedded in the shards.",
        "- `croissant.json`: Croissant 1.0 metadata with Responsible-AI fields.",
        "- `checksums.sha256`: SHA-256 of every file (`sha256sum -c checksums.sha256`, or `svta build verify --release .`).",
        "",
        f"{provenance.license_sentence} Version {provenance.version}, {provenance.date}.",
        "",
        "## Citation",
        "",
        "```bibtex",
        provenance.citation,
        "```",
        "",
    ]
    return f"---\n{header}---\n\n" + "\n".join(body)
