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
    """Everything the card and the Croissant metadata say about the data's origin.

    Every sentence is generated from a record a stage wrote when it ran (``svta.yaml``, the tables,
    ``captions.filter.json``, ``videos.quality.json``, ``stats/build_report.json``, the classify and overlap
    reports); a step with no record is stated as not run (or not recorded), never assumed.
    """

    name: str
    description: str
    license: str | None
    version: str
    url: str | None
    creator: str | None
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
    video_backends: dict[str, int] = field(default_factory=dict)  # videos.parquet `backend` of the released clips
    video_shapes: dict[str, str] = field(default_factory=dict)  # backend → "WxH, F frames at R fps" from videos.parquet
    filter_record: dict[str, Any] | None = None  # captions.filter.json (written by `svta captions filter`)
    quality_record: dict[str, Any] | None = None  # videos.quality.json (written by `svta videos`)
    build_record: dict[str, Any] | None = None  # stats/build_report.json (written by `svta build`)

    @property
    def license_url(self) -> str | None:
        return LICENSE_URLS.get(self.license, self.license) if self.license else None

    @property
    def license_sentence(self) -> str:
        if not self.license:
            return "No licence was chosen for this release (export with `--opt license=ID` to state one)."
        return f"License: {self.license} (chosen at export)."

    # --- where the pairs came from -----------------------------------------------------------------
    @property
    def caption_sources(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.stats.get("sources") or {}).items()}

    @property
    def imported_captions(self) -> bool:
        return any(source.startswith("import:") for source in self.caption_sources)

    @property
    def generated_clips(self) -> bool:
        return bool(self.video_backends) and not any(b.startswith("import:") for b in self.video_backends)

    @property
    def imported_clips(self) -> bool:
        return any(backend.startswith("import:") for backend in self.video_backends)

    @property
    def origin_keywords(self) -> list[str]:
        """``synthetic`` only when every released clip was generated (from videos.parquet)."""
        return ["synthetic"] if self.generated_clips else []

    @property
    def caption_backend(self) -> str:
        """The ``source`` column of the released pairs, with the generator's settings from ``svta.yaml``."""
        if not self.caption_sources:
            return "not recorded (the manifest has no source column values)"
        parts = []
        captions = self.config.get("captions") or {}
        for source, n in sorted(self.caption_sources.items()):
            text = f"`{source}` ({n} pairs)"
            if source.startswith("import:"):
                text = f"imported from {source.removeprefix('import:')} ({n} pairs)"
            elif source == captions.get("backend") == "template":
                text = f"svta's template grammar ({n} pairs)"
            elif captions.get("backend") == "openai" and source == "openai":
                llm = captions.get("openai") or {}
                text = (
                    f"an OpenAI-compatible LLM server, model {llm.get('model')}, "
                    f"temperature {llm.get('temperature')} ({n} pairs)"
                )
            parts.append(text)
        return ", ".join(parts)

    @property
    def video_backend(self) -> str:
        """The ``backend`` column of ``videos.parquet`` for the released clips, with the settings in ``svta.yaml``."""
        if not self.video_backends:
            return "not recorded (no videos.parquet in the root)"
        videos = self.config.get("videos") or {}
        parts = []
        for backend, n in sorted(self.video_backends.items()):
            shape = f", {self.video_shapes[backend]}" if backend in self.video_shapes else ""
            text = f"the {backend} backend{shape} ({n} clips)"
            if backend.startswith("import:"):
                text = f"imported from {backend.removeprefix('import:')}{shape} ({n} clips)"
            elif backend == videos.get("backend") == "wan":
                wan = videos.get("wan") or {}
                text = f"Wan2.1 text-to-video ({wan.get('model')}){shape}, {wan.get('steps')} steps ({n} clips)"
            elif backend == videos.get("backend"):
                text = f"the {backend} renderer{shape} ({n} clips)"
            parts.append(text)
        return ", ".join(parts)

    @property
    def classifier(self) -> str:
        if not self.label_methods:
            return "no labelling recorded (no labels.parquet); categories come with the captions"
        return "label method(s) " + ", ".join(f"`{m}` ({n})" for m, n in sorted(self.label_methods.items()))

    @property
    def seed_sentence(self) -> str:
        if not self.config:
            return "No svta.yaml in the root: the seed and settings the stages ran with were not recorded."
        return f"Seed {self.config.get('seed', 'n/a')}; configuration sha256 {self.config_sha256} (svta.yaml)."

    @property
    def collection(self) -> str:
        return f"Captions: {self.caption_backend}. Clips: {self.video_backend}. {self.seed_sentence}"

    @property
    def collection_types(self) -> list[str]:
        types = []
        if any(not s.startswith("import:") for s in self.caption_sources):
            types.append("Machine-generated captions")
        if self.generated_clips:
            types += ["Synthetic data generation", "Text-to-video generation"]
        if self.imported_captions or self.imported_clips:
            types.append("Existing datasets")
        return types or ["Not recorded"]

    @property
    def raw_data(self) -> str:
        if self.generated_clips:
            return f"No real-world footage: every clip was generated ({self.video_backend})."
        if self.imported_clips:
            return f"Clips imported from existing datasets ({self.video_backend}); see their terms and consent."
        return "The origin of the clips was not recorded."

    @property
    def preprocessing(self) -> list[str]:
        return [self._filter_sentence(), self._quality_sentence(), self.split_sentence]

    def _filter_sentence(self) -> str:
        record = self.filter_record
        if not record:
            return "`svta captions filter` was not run on this root: captions were not filtered or de-duplicated."
        config = record.get("config") or {}
        reasons = ", ".join(f"{k} {v}" for k, v in sorted((record.get("by_reason") or {}).items())) or "none"
        near = (
            f"near duplicates checked at {config.get('embedder', 'embedding')} cosine >= {config.get('near_threshold')}"
            if config.get("near_duplicates")
            else "near duplicates not checked"
        )
        exact = "exact duplicates removed" if config.get("exact_duplicates") else "exact duplicates not checked"
        return (
            f"`svta captions filter` kept {record.get('kept')} of {record.get('input_rows')} captions "
            f"(removed: {reasons}); {exact}; {near}."
        )

    def _quality_sentence(self) -> str:
        record = self.quality_record
        if not record:
            return "No clip quality report (videos.quality.json): clips were not checked for black, frozen or duplicate frames."
        return (
            f"Clip quality check over {record.get('clips')} clips ({record.get('measured')} measured): "
            f"{len(record.get('black') or [])} flagged black, {len(record.get('frozen') or [])} frozen, "
            f"{len(record.get('near_duplicates') or [])} near-duplicate pairs flagged."
        )

    @property
    def split_sentence(self) -> str:
        splits = self.stats.get("splits") or {}
        counts = f"train {splits.get('train', 0)}, val {splits.get('val', 0)}, test {splits.get('test', 0)}"
        if self.build_record is None:
            return f"Splits {counts}, as the imported data gave them (no `svta build` report in the root)."
        ratio = (self.config.get("build") or {}).get("split")
        how = f"ratio {':'.join(f'{r:g}' for r in ratio)} from svta.yaml" if ratio else "ratio not recorded"
        return f"Splits {counts}, assigned by `svta build` stratified by category ({how})."

    @property
    def annotation(self) -> list[str]:
        if not self.label_methods:
            return [f"{self.classifier}."]
        return [
            f"Categories were assigned with {self.classifier}.",
            f"{self.n_reviewed} labels were reviewed by a person; {self.n_needs_review} were left for review.",
        ]

    @property
    def annotation_platforms(self) -> list[str]:
        return sorted(self.label_methods) or ["none recorded"]

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
        return sorted(m for m in self.label_methods if not m.startswith("import:")) or ["none recorded"]

    @property
    def use_cases(self) -> list[str]:
        return [
            "Training and evaluating text-to-video and video-to-text retrieval of anomalous events.",
            "Not for: identifying real people, or judging real surveillance footage without further validation.",
        ]

    @property
    def biases(self) -> list[str]:
        share = 100 * float(self.stats.get("head20_share", 0))
        lines = [f"The 20% most frequent categories hold {share:.1f}% of the pairs (see Composition)."]
        if self.generated_clips:
            lines.append("Captions and clips reflect the biases of the generators that wrote and rendered them.")
        return lines

    @property
    def limitations(self) -> list[str]:
        lines = (
            ["Synthetic clips differ from real camera footage in appearance and motion."]
            if self.generated_clips
            else []
        )
        if self.label_methods:
            lines.append("Automatic labels can be wrong; see the agreement figures and review counts.")
        return lines

    @property
    def social_impact(self) -> str:
        return (
            "Intended to improve retrieval of safety-relevant events; misuse for surveillance of individuals is "
            "out of scope."
        )

    @property
    def sensitive_information(self) -> list[str]:
        if self.generated_clips:
            return ["Generated clips and captions: no footage of real people was recorded for this release."]
        return ["Not assessed: the clips were not all generated; check the source datasets' terms."]

    @property
    def maintenance(self) -> str:
        return f"This is version {self.version}. Checksums of every file are listed in checksums.sha256."


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


def _video_backends(root: Path, ids: set[str] | None) -> tuple[dict[str, int], dict[str, str]]:
    """``backend`` counts of ``videos.parquet`` over the released ids (``None``: every row), and each
    backend's clip shape as the table records it (``mixed`` when its clips differ)."""
    path = table_path(root, "videos")
    if not path.exists():
        return {}, {}
    rows = [r for r in read_records(path, "videos") if ids is None or r["id"] in ids]
    shapes: dict[str, set[str]] = {}
    for r in rows:
        shape = f"{r['width']}x{r['height']}, {r['frames']} frames at {r['fps']:g} fps"
        shapes.setdefault(str(r.get("backend")), set()).add(shape)
    described = {b: next(iter(s)) if len(s) == 1 else "mixed sizes and lengths" for b, s in shapes.items()}
    return dict(Counter(str(r.get("backend")) for r in rows)), described


def filter_record(root: Path) -> dict[str, Any] | None:
    """What ``svta captions filter`` recorded when it last changed the captions of ``root`` (else ``None``)."""
    from svta.captions.filter import RECORD_FILE

    record = _read_json(root / RECORD_FILE)
    return record if record and not record.get("dry_run") else None


def _labels(root: Path) -> tuple[dict[str, int], int, int]:
    path = table_path(root, "labels")
    if not path.exists():
        return {}, 0, 0
    rows = read_records(path, "labels")
    methods = Counter(str(r["method"]) for r in rows)
    reviewed = sum(bool(r.get("reviewed")) for r in rows)
    needs_review = sum(r["category"] == "needs_review" for r in rows)
    return dict(methods), reviewed, needs_review


def _dict_entry(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` when it is a mapping, else an empty one (a hand-edited or older report)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def contamination_reports(root: Path) -> list[ContaminationRow]:
    """Every ``stats/overlap/*/overlap.json`` the root holds (written by ``svta eval overlap``)."""
    rows = []
    for path in sorted((root / "stats" / "overlap").glob("*/overlap.json")):
        data = _read_json(path) or {}
        evaluation, counts = _dict_entry(data, "eval"), _dict_entry(data, "counts")
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
    license: str | None = None,
    version: str = "1.0.0",
    url: str | None = None,
    creator: str | None = None,
    citation: str | None = None,
    ids: set[str] | None = None,
) -> Provenance:
    """Read what the root records about how it was made (``ids``: the released pairs)."""
    from svta.build.manifest import BUILD_REPORT
    from svta.videos.quality import REPORT_FILE as QUALITY_FILE

    config, config_hash = resolved_config(root)
    backends, shapes = _video_backends(root, ids)
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
        video_backends=backends,
        video_shapes=shapes,
        filter_record=filter_record(root),
        quality_record=_read_json(root / QUALITY_FILE),
        build_record=_read_json(root / BUILD_REPORT),
    )
