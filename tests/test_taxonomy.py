from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import yaml

from svta.errors import ConfigError
from svta.taxonomy import (
    GROUPS,
    UCF_CRIME_CLASSES,
    Category,
    Taxonomy,
    default_taxonomy,
    normalize_label,
)

PAPER_ANOMALIES = [
    "abuse",
    "throw",
    "smoke",
    "fighting",
    "theft",
    "stealing",
    "shooting",
    "explosion",
    "arson",
    "loss of balance or falls",
    "natural disasters",
    "animal-related anomaly",
    "startle events",
]
PAPER_NORMALS = ["standing", "walking", "sports", "shopping", "talking", "phone call", "riding a motorcycle", "riding"]


def _record(cid: str, **changes: object) -> dict:
    record = {
        "id": cid,
        "name": cid.replace("_", " "),
        "kind": "anomaly",
        "group": "violence",
        "description": f"A video of {cid}.",
        "synonyms": [f"{cid} tag"],
    }
    record.update(changes)
    return record


def _write_yaml(tmp_path, records) -> object:
    path = tmp_path / "tax.yaml"
    path.write_text(yaml.safe_dump({"categories": records}))
    return path


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return default_taxonomy()


def test_shipped_counts(tax):
    assert len(tax.anomaly()) == 68
    assert len(tax.normal()) == 30
    assert len(tax) == 98 == len(list(tax))
    assert all(c.is_anomaly for c in tax.anomaly()) and not any(c.is_anomaly for c in tax.normal())


def test_shipped_entries_complete_and_unique(tax):
    assert len(set(tax.ids())) == len(tax)
    assert len({normalize_label(c.name) for c in tax}) == len(tax)
    for c in tax:
        assert c.id and c.name and c.description and c.group in GROUPS, c.id
        assert c.kind in ("anomaly", "normal"), c.id
        assert 4 <= len(c.synonyms) <= 10, c.id
        assert all(s.strip() for s in c.synonyms), c.id
        # One sentence: ends with a full stop, no sentence break inside.
        assert c.description.endswith(".") and ". " not in c.description, c.id


def test_paper_examples_present(tax):
    for label in PAPER_ANOMALIES:
        assert tax.get(label).is_anomaly, label
    for label in PAPER_NORMALS:
        assert not tax.get(label).is_anomaly, label
    assert tax.get("loss of balance or falls").id == "falls"
    assert tax.get("theft").id == tax.get("stealing").id == "stealing"
    assert tax.get("riding").id == "riding_motorcycle"


def test_all_ucf_crime_classes_present(tax):
    mapping = tax.by_ucf_crime()
    assert set(mapping) == set(UCF_CRIME_CLASSES)
    assert len({c.id for c in mapping.values()}) == 13
    assert all(c.is_anomaly for c in mapping.values())
    assert tax.get("RoadAccidents").id == "road_accident"
    assert tax.get("road accident").ucf_crime == "RoadAccidents"
    for name in UCF_CRIME_CLASSES:
        assert tax.match(name) is mapping[name]


def test_get_is_case_and_punctuation_insensitive(tax):
    assert tax.get("FIGHTING").id == "fighting"
    assert tax.get("  Loss Of Balance Or Falls ").id == "falls"
    assert tax.get("brawl").id == "fighting"
    assert tax.get("road_accident").id == "road_accident"
    assert tax.get("Animal related anomaly").id == "animal_attack"


def test_get_unknown_lists_close_matches(tax):
    with pytest.raises(ConfigError, match=r"unknown category 'figthing'.*close matches: .*fighting"):
        tax.get("figthing")
    with pytest.raises(ConfigError, match="none close"):
        tax.get("quantum chromodynamics")


def test_match_fuzzy(tax):
    assert tax.match("Fighting.").id == "fighting"
    assert tax.match("Loss of balance/falls").id == "falls"
    assert tax.match("Theft/Stealing").id == "stealing"
    assert tax.match("shopliftng").id == "shoplifting"
    assert tax.match("road accidents").id == "road_accident"
    assert tax.match("Natural disaster").id == "natural_disaster"
    assert tax.match("phone-call").id == "phone_call"
    assert tax.match("quantum chromodynamics") is None
    assert tax.match("") is None and tax.match("  ...  ") is None
    # Below the 0.8 ratio: a loose resemblance is not a match.
    assert tax.match("fig") is None


def test_category_is_frozen_and_records_are_json(tax):
    category = tax.get("fire")
    with pytest.raises(dataclasses.FrozenInstanceError):
        category.name = "other"  # type: ignore[misc]
    records = tax.to_records()
    assert len(records) == 98 and records[0]["id"] == tax.ids()[0]
    assert isinstance(records[0]["synonyms"], list)
    assert json.loads(json.dumps(records)) == records


def test_default_is_cached():
    assert default_taxonomy() is default_taxonomy()


def test_json_user_file_round_trip(tmp_path, tax):
    path = tmp_path / "tax.json"
    path.write_text(json.dumps(tax.to_records()))
    loaded = Taxonomy.load(path)
    assert loaded.categories == tax.categories
    assert loaded.source == str(path)


def test_yaml_user_file_as_plain_list(tmp_path):
    path = tmp_path / "mine.yml"
    records = [_record("pushing"), _record("sleeping", kind="normal", group="daily_life", synonyms=["nap", "doze"])]
    path.write_text(yaml.safe_dump(records))
    loaded = Taxonomy.load(str(path))
    assert loaded.ids() == ("pushing", "sleeping")
    assert loaded.match("sleepin").id == "sleeping"
    assert [c.id for c in loaded.normal()] == ["sleeping"]
    assert loaded.by_ucf_crime() == {}


def test_category_keys():
    category = Category(
        "road_accident", "road accident", "anomaly", "accident", "x.", ("crash", "Crash"), "RoadAccidents"
    )
    assert category.lookup_keys() == ("road accident", "road accidents", "crash")


BAD_FILES = [
    ([{k: v for k, v in _record("a").items() if k != "group"}], r"#1 'a', field 'group': missing"),
    ([{k: v for k, v in _record("a").items() if k != "id"}], r"category #1, field 'id': missing"),
    ([_record("a"), _record("a", name="other")], r"#2 'a', field 'id': duplicates category 'a'"),
    ([_record("a"), _record("b", name="A")], r"#2 'b', field 'name': duplicates category 'a'"),
    ([_record("a", kind="weird")], r"'a', field 'kind': must be one of anomaly, normal"),
    ([_record("a", synonyms=[])], r"'a', field 'synonyms': empty"),
    ([_record("a", synonyms=["ok", "  "])], r"'a', field 'synonyms': contains an empty tag"),
    ([_record("a", synonyms="just text")], r"'a', field 'synonyms': expected a list"),
    ([_record("a", ucf_crime="Robbing")], r"'a', field 'ucf_crime': must be one of"),
    ([_record("a", kind="normal", ucf_crime="Robbery")], r"'a', field 'ucf_crime': only anomaly"),
    ([_record("a", ucf_crime="Robbery"), _record("b", ucf_crime="Robbery")], r"'b', field 'ucf_crime': duplicates"),
    ([_record("a", synonyms=["hit"]), _record("b", synonyms=["Hit!"])], r"'b', field 'synonyms': 'hit' already names"),
    ([_record("Bad-Id")], r"'Bad-Id', field 'id': must be snake_case"),
    ([_record("a", description="")], r"'a', field 'description': empty"),
    ([_record("a", synonym=["x"])], r"'a', field 'synonym': unknown field"),
    ([_record("a", name=3)], r"'a', field 'name': expected text"),
    (["just a string"], r"category #1: expected a mapping"),
    ([], r"no categories"),
]


@pytest.mark.parametrize(("records", "message"), BAD_FILES)
def test_validation_errors_name_entry_and_field(tmp_path, records, message):
    path = _write_yaml(tmp_path, records)
    with pytest.raises(ConfigError, match=message) as info:
        Taxonomy.load(path)
    assert str(path) in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        Taxonomy.load(tmp_path / "missing.yaml")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("categories: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot parse taxonomy YAML"):
        Taxonomy.load(bad_yaml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot parse taxonomy JSON"):
        Taxonomy.load(bad_json)
    no_list = tmp_path / "no_list.yaml"
    no_list.write_text("version: 1\n")
    with pytest.raises(ConfigError, match="'categories' list"):
        Taxonomy.load(no_list)


def test_import_is_light():
    code = "import sys, svta.taxonomy; bad = {'torch', 'yaml', 'numpy'} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_match_does_not_confuse_short_words(tax):
    # one letter apart, but different words: not typos of each other
    assert tax.match("talking").id == "talking"
    assert tax.match("stalking").id == "harassment"  # its synonym, not talking
    assert tax.match("stalkin").id == "harassment"
    assert tax.match("balking") is None  # neither walking nor talking
    assert tax.match("walkin").id == "walking"
    assert tax.match("talkng").id == "talking"
    assert tax.match("figthing").id == "fighting"
    assert tax.match("Loss of balance/falls").id == "falls"


def test_words_resemble():
    from svta.taxonomy import words_resemble

    assert words_resemble("road accidents", "road accident")
    assert words_resemble("theft stealing", "theft or stealing")
    assert not words_resemble("walking", "talking")
    assert not words_resemble("stalking", "talking")
    assert not words_resemble("run", "gun")
