"""What a release says about how its data was made, read from the built root: the resolved config
(`svta.yaml`: backends, models, seeds, prompts), the tables (labelling methods, review counts), the
classifier's agreement report, the stats and every `svta eval overlap` report. Both the dataset card and
the Croissant RAI fields are written from one :class:`Provenance`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from svta.tables import read_records, table_path

# The benchmark whose construction svta follows (bibliographic facts of arXiv:2506.01466).
CITATION = (
    "@article{yang2025svta,\n"
    "  title   = {Towards Scalable Video Anomaly Retrieval: A Synthetic Video-Text Benchmark},\n"
    "  author  = {Yang, Shuyu and Wang, Yilun and Wang, Yaxiong and Zhu, Li and Zheng, Zhedong},\n"
    "  journal = {arXiv preprint arXiv:2506.01466},\n"
    "  year    = {2025}\n"
    "}"
)
LICENSE_URLS = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc-by-nc-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "cc-by-nc-sa-4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "mit": "https://opensource.org/licenses/MIT",
    "apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
}


@dataclass
class ContaminationRow:
    """One `svta eval overlap` report: how much of an evaluation set the training data overlaps."""

    evaluation: str
    n_eval: int
    flagged: int
    kinds: dict[str, int]


@dataclass
class Provenance:
    """Everything the card and the Croissant metadata say about the data's origin."""

    name: str
    description: str
    license: str
    version: str
    url: str | None
    creator: str
    date: str
    citation: str
    config: dict[str, Any]
    config_sha256: str | None
    stats: dict[str, Any]
    label_methods: dict[str, int]
    n_reviewed: int
    n_needs_review: int
    agreement: dict[str, Any] | None
    contamination: list[ContaminationRow] = field(default_factory=list)

    @property
    def license_url(self) -> str:
        return LICENSE_URLS.get(self.license, self.license)

    # --- text shared by the card and the RAI fields ---------------------------------------------
    @property
    def caption_backend(self) -> str:
        captions = self.config.get("captions") or {}
        backend = captions.get("backend")
        if backend == "openai":
            llm = captions.get("openai") or {}
            return f"an OpenAI-compatible LLM server (model {llm.get('model')}, temperature {llm.get('temperature')})"
        if backend == "template":
            return "svta's template grammar (the shipped caption grammar; no LLM)"
        sources = ", ".join(f"{k} ({v})" for k, v in sorted(self.stats.get("sources", {}).items()))
        return f"imported captions: {sources}" if sources else "unknown (no svta.yaml in the root)"

    @property
    def video_backend(self) -> str:
        videos = self.config.get("videos") or {}
        backend = videos.get("backend")
        if backend == "wan":
            wan = videos.get("wan") or {}
            return (
                f"Wan2.1 text-to-video ({wan.get('model')}), {wan.get('width')}x{wan.get('height')}, "
                f"{wan.get('num_frames')} frames at {wan.get('fps')} fps, {wan.get('steps')} steps, "
                f"guidance {wan.get('guidance')}, step cache {wan.get('cache')}"
            )
        if backend:
            return (
                f"{backend} renderer, {videos.get('width')}x{videos.get('height')}, {videos.get('frames')} frames "
                f"at {videos.get('fps')} fps"
            )
        return "videos imported from another dataset"

    @property
    def classifier(self) -> str:
        annotate = self.config.get("annotate") or {}
        name = annotate.get("classifier")
        if name == "llm":
            return f"an LLM classifier ({(annotate.get('llm') or {}).get('model')})"
        return f"the {name} classifier" if name else "labels carried from the source dataset"

    @property
    def collection(self) -> str:
        seed = self.config.get("seed")
        return (
            f"Captions were written by {self.caption_backend} for each category of the taxonomy; each caption was "
            f"turned into a clip by {self.video_backend}. Seed {seed}. The resolved configuration is summarised in "
            f"the dataset card (config sha256 {self.config_sha256 or 'n/a'})."
        )

    @property
    def collection_types(self) -> list[str]:
        return ["Synthetic data generation", "Machine-generated captions", "Text-to-video generation"]

    @property
    def raw_data(self) -> str:
        return "No real-world footage: every clip is generated from a text caption; no people were recorded."

    @property
    def preprocessing(self) -> list[str]:
        captions_filter = (self.config.get("captions") or {}).get("filter") or {}
        return [
            "Captions filtered for length, script and blocked terms; exact and near duplicates removed "
            f"(MiniLM cosine >= {captions_filter.get('near_threshold', 'n/a')}).",
            "Clips checked for decodability and flagged when black, frozen or duplicated.",
            "Pairs split 7:1:2 into train/val/test, stratified by category.",
        ]

    @property
    def annotation(self) -> list[str]:
        methods = ", ".join(f"{m} ({n})" for m, n in sorted(self.label_methods.items())) or "none"
        return [
            f"Each caption was assigned a taxonomy category by {self.classifier}; label methods: {methods}.",
            f"{self.n_reviewed} labels were reviewed by a person; {self.n_needs_review} were left for review.",
        ]

    @property
    def annotation_platforms(self) -> list[str]:
        return ["svta annotate (embedded classifier or LLM)", "Label Studio or a CSV sheet for human review"]

    @property
    def annotation_analysis(self) -> list[str]:
        if not self.agreement or not self.agreement.get("n"):
            return ["No agreement report was found in the root."]
        return [
            f"Agreement of the labels with the category each caption was written for: accuracy "
            f"{100 * self.agreement['accuracy']:.1f}%, Cohen's kappa {self.agreement['kappa']:.3f} over "
            f"{self.agreement['n']} captions."
        ]

    @property
    def annotation_tools(self) -> list[str]:
        return [self.classifier]

    @property
    def use_cases(self) -> list[str]:
        return [
            "Training and evaluating text-to-video and video-to-text retrieval of anomalous events.",
            "Studying long-tail category coverage of video anomaly benchmarks.",
            "Not for: identifying real people, or judging real surveillance footage without further validation.",
        ]

    @property
    def biases(self) -> list[str]:
        return [
            "Categories follow a fixed taxonomy with a long-tailed distribution; rare categories have few clips.",
            "Captions and clips reflect the biases of the generators that wrote and rendered them.",
        ]

    @property
    def limitations(self) -> list[str]:
        return [
            "Synthetic clips differ from real camera footage in appearance and motion.",
            "Automatic labels can be wrong; see the agreement figures and review counts.",
        ]

    @property
    def social_impact(self) -> str:
        return (
            "Intended to improve retrieval of safety-relevant events; misuse for surveillance of individuals is "
            "out of scope. No personal data is contained."
        )

    @property
    def sensitive_information(self) -> list[str]:
        return ["None: generated clips and captions; depicted people are synthetic."]

    @property
    def maintenance(self) -> str:
        return f"Versioned releases; this is version {self.version}. Checksums are listed in checksums.sha256."


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def resolved_config(root: Path) -> tuple[dict[str, Any], str | None]:
    """The root's resolved ``svta.yaml`` (without its root path) and the sha256 of its canonical JSON."""
    path = root / "svta.yaml"
    if not path.is_file():
        return {}, None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.pop("root", None)  # where it was built, not how
    canonical = json.dumps(data, sort_keys=True, default=str).encode("utf-8")
    return data, hashlib.sha256(canonical).hexdigest()


def _labels(root: Path) -> tuple[dict[str, int], int, int]:
    path = table_path(root, "labels")
    if not path.exists():
        return {}, 0, 0
    rows = read_records(path, "labels")
    methods = Counter(str(r["method"]) for r in rows)
    reviewed = sum(bool(r.get("reviewed")) for r in rows)
    needs_review = sum(r["category"] == "needs_review" for r in rows)
    return dict(methods), reviewed, needs_review


def contamination_reports(root: Path) -> list[ContaminationRow]:
    """Every ``stats/overlap/*/overlap.json`` the root holds (written by ``svta eval overlap``)."""
    rows = []
    for path in sorted((root / "stats" / "overlap").glob("*/overlap.json")):
        data = _read_json(path) or {}
        evaluation = data.get("eval") if isinstance(data.get("eval"), dict) else {}
        counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
        rows.append(
            ContaminationRow(
                evaluation=str(evaluation.get("name") or path.parent.name),
                n_eval=int(evaluation.get("n_items") or 0),
                flagged=int(counts.get("any") or 0),
                kinds={k: int(v) for k, v in counts.items() if k not in ("any", "clean")},
            )
        )
    return rows


def collect_provenance(
    root: Path,
    stats: dict[str, Any],
    name: str,
    license: str = "cc-by-4.0",
    version: str = "1.0.0",
    url: str | None = None,
    creator: str = "svta",
    citation: str | None = None,
) -> Provenance:
    """Read what the root records about how it was made."""
    config, config_hash = resolved_config(root)
    methods, reviewed, needs_review = _labels(root)
    classify = _read_json(root / "annotate" / "classify_report.json") or {}
    n = stats.get("n_texts", 0)
    description = (
        f"{name}: {n} video-text pairs over {stats.get('n_categories', 0)} categories "
        f"({stats.get('n_anomaly', 0)} anomaly, {stats.get('n_normal', 0)} normal), split "
        f"{stats.get('splits', {}).get('train', 0)}/{stats.get('splits', {}).get('val', 0)}/"
        f"{stats.get('splits', {}).get('test', 0)} (train/val/test), built with svta for video anomaly retrieval."
    )
    return Provenance(
        name=name,
        description=description,
        license=license,
        version=version,
        url=url,
        creator=creator,
        date=dt.date.today().isoformat(),
        citation=citation or CITATION,
        config=config,
        config_sha256=config_hash,
        stats=stats,
        label_methods=methods,
        n_reviewed=reviewed,
        n_needs_review=needs_review,
        agreement=classify.get("agreement"),
        contamination=contamination_reports(root),
    )
