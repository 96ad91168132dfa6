"""``croissant.json``: Croissant 1.0 JSON-LD metadata of a release, with the Responsible-AI (RAI)
vocabulary filled from the build. Every Parquet shard is a ``cr:FileObject`` with its sha256; each
split is read through a ``cr:FileSet`` of its shards and described by a ``cr:RecordSet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from svta.release.checksums import sha256_of
from svta.release.provenance import Provenance
from svta.release.shards import FIELD_DESCRIPTIONS, RELEASE_SCHEMA, SPLITS, VIDEOS_DIR, Shard
from svta.tables import atomic_write_json

CROISSANT_FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"

# The standard Croissant 1.0 @context (the keys mlcroissant checks for).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

_DATA_TYPES = {pa.string(): "sc:Text", pa.bool_(): "sc:Boolean", pa.int32(): "sc:Integer", pa.float64(): "sc:Float"}


def _record_set(split: str) -> dict[str, Any]:
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"{split}/{f.name}",
            "name": f.name,
            "description": FIELD_DESCRIPTIONS[f.name],
            "dataType": _DATA_TYPES[f.type],
            "source": {"fileSet": {"@id": f"{split}-shards"}, "extract": {"column": f.name}},
        }
        for f in RELEASE_SCHEMA
    ]
    return {
        "@type": "cr:RecordSet",
        "@id": split,
        "name": split,
        "description": f"The {split} split: one record per video-text pair.",
        "key": {"@id": f"{split}/id"},
        "field": fields,
    }


def _distribution(folder: Path, shards: list[Shard], splits: list[str], with_clips: bool) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": shard.path,
            "name": shard.path,
            "description": f"Parquet shard of the {shard.split} split ({shard.rows} rows).",
            "contentUrl": shard.path,
            "encodingFormat": "application/x-parquet",
            "sha256": sha256_of(folder / shard.path),
        }
        for shard in shards
    ]
    files += [
        {
            "@type": "cr:FileSet",
            "@id": f"{split}-shards",
            "name": f"{split}-shards",
            "description": f"All Parquet shards of the {split} split.",
            "encodingFormat": "application/x-parquet",
            "includes": f"data/{split}-*.parquet",
        }
        for split in splits
    ]
    if with_clips:
        files.append(
            {
                "@type": "cr:FileSet",
                "@id": "clips",
                "name": "clips",
                "description": "The mp4 clips; the `video` column of each record is a path into this set.",
                "encodingFormat": "video/mp4",
                "includes": f"{VIDEOS_DIR}/**/*.mp4",
            }
        )
    return files


def croissant_metadata(
    folder: Path, name: str, shards: list[Shard], provenance: Provenance, with_clips: bool
) -> dict[str, Any]:
    """The JSON-LD document for the release at ``folder`` (its shards already written)."""
    splits = [s for s in SPLITS if any(shard.split == s for shard in shards)]
    metadata = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": name,
        "description": provenance.description,
        "conformsTo": CONFORMS_TO,
        "license": provenance.license_url,
        "url": provenance.url,
        "version": provenance.version,
        "datePublished": provenance.date,
        "citeAs": provenance.citation,
        "keywords": ["video anomaly retrieval", "video-text retrieval", *provenance.origin_keywords],
        "inLanguage": ["en"],
        "creator": {"@type": "sc:Organization", "name": provenance.creator} if provenance.creator else None,
        "distribution": _distribution(folder, shards, splits, with_clips),
        "recordSet": [_record_set(split) for split in splits],
        "rai:dataCollection": provenance.collection,
        "rai:dataCollectionType": provenance.collection_types,
        "rai:dataCollectionRawData": provenance.raw_data,
        "rai:dataPreprocessingProtocol": provenance.preprocessing,
        "rai:dataAnnotationProtocol": provenance.annotation,
        "rai:dataAnnotationPlatform": provenance.annotation_platforms,
        "rai:dataAnnotationAnalysis": provenance.annotation_analysis,
        "rai:machineAnnotationTools": provenance.annotation_tools,
        "rai:dataUseCases": provenance.use_cases,
        "rai:dataBiases": provenance.biases,
        "rai:dataLimitations": provenance.limitations,
        "rai:dataSocialImpact": provenance.social_impact,
        "rai:personalSensitiveInformation": provenance.sensitive_information,
        "rai:dataReleaseMaintenancePlan": provenance.maintenance,
    }
    for key in ("license", "creator", "url"):  # not chosen at export: say nothing rather than a default
        if metadata[key] is None:
            del metadata[key]
    return metadata


def write_croissant(folder: Path, metadata: dict[str, Any]) -> Path:
    atomic_write_json(folder / CROISSANT_FILE, metadata)
    return folder / CROISSANT_FILE
