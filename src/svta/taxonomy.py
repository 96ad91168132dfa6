"""The category taxonomy: SVTA's 68 anomaly and 30 normal categories, or a user's own file.

Stages label captions with these categories (by id) and look up free-form labels, such as an
LLM's answer or a UCF-Crime class name, with :meth:`Taxonomy.match`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from svta.errors import ConfigError

KINDS = ("anomaly", "normal")
UCF_CRIME_CLASSES = (
    "Abuse",
    "Arrest",
    "Arson",
    "Assault",
    "Burglary",
    "Explosion",
    "Fighting",
    "RoadAccidents",
    "Robbery",
    "Shooting",
    "Shoplifting",
    "Stealing",
    "Vandalism",
)
# Groups of the shipped file; a user file may use its own.
GROUPS = (
    "violence",
    "crime",
    "accident",
    "disaster",
    "fire_explosion",
    "animal",
    "health",
    "public_order",
    "hazard",
    "social",
    "daily_life",
    "sports",
    "transport",
    "work",
)
REQUIRED_FIELDS = ("id", "name", "kind", "group", "description", "synonyms")
OPTIONAL_FIELDS = ("ucf_crime", "motion")
# difflib ratio a label must reach to count as a category: 0.8 takes typos and plurals
# ("figthing", "road accidents") but not a neighbouring category's name.
MATCH_CUTOFF = 0.8
SUGGEST_CUTOFF = 0.6
SHIPPED_SOURCE = "svta/resources/taxonomy.yaml"

_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_label(text: str) -> str:
    """Lower-case a label and reduce it to words: ``"RoadAccidents"`` and ``"road_accidents"`` → ``"road accidents"``."""
    spaced = _CAMEL_BOUNDARY.sub(" ", text)
    return _NON_ALNUM.sub(" ", spaced.lower()).strip()


def words_resemble(label: str, key: str) -> bool:
    """Whether every word of ``label`` is a word of ``key`` or a typo of one (both normalised).

    A typo keeps a word's first letter and most of its letters ("figthing", "accidents"); a word
    that differs in its first letter is another word, however similar ("walking"/"talking",
    "stalking"/"talking"). Words of up to three letters must be exact.
    """
    words = key.split()
    for word in label.split():
        if word in words:
            continue
        if len(word) <= 3 or not any(
            other[0] == word[0] and difflib.SequenceMatcher(None, word, other).ratio() >= MATCH_CUTOFF
            for other in words
        ):
            return False
    return True


@dataclass(frozen=True)
class Category:
    """One category of the taxonomy.

    Attributes:
        id: Stable snake_case key, the value stored in label tables.
        name: Human-readable name (``"loss of balance or falls"``).
        kind: ``"anomaly"`` or ``"normal"``.
        group: Coarse family (``"violence"``, ``"daily_life"``, ...).
        description: One sentence saying what a video of it shows.
        synonyms: Short tags that also name it (lookup keys).
        ucf_crime: The UCF-Crime class it corresponds to, if any.
        motion: How the procedural renderer plays it: ``program`` (a motion program name), optional
            default ``place`` and ``time``, and the program's own settings (``mode``, ``count``, ...).
            ``None`` lets the renderer derive one from the group.
    """

    id: str
    name: str
    kind: str
    group: str
    description: str
    synonyms: tuple[str, ...]
    ucf_crime: str | None = None
    # a dict is not hashable; categories hash by their other fields
    motion: Mapping[str, Any] | None = dataclasses.field(default=None, hash=False)

    @property
    def is_anomaly(self) -> bool:
        """Whether this is an anomaly category (else a normal one)."""
        return self.kind == "anomaly"

    def lookup_keys(self) -> tuple[str, ...]:
        """Normalised lookup keys: id, name, UCF-Crime class and synonyms, without repeats."""
        raw = (self.id, self.name, self.ucf_crime or "", *self.synonyms)
        keys = (normalize_label(text) for text in raw)
        return tuple(dict.fromkeys(key for key in keys if key))

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict with the file's field names."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "group": self.group,
            "description": self.description,
            "synonyms": list(self.synonyms),
            "ucf_crime": self.ucf_crime,
            "motion": dict(self.motion) if self.motion is not None else None,
        }


class Taxonomy:
    """An ordered, validated set of categories with exact and fuzzy lookup.

    Args:
        categories: The categories, in file order.
        source: Where they came from, used in error messages.
    """

    def __init__(self, categories: Iterable[Category], source: str = "<taxonomy>") -> None:
        self.categories: tuple[Category, ...] = tuple(categories)
        self.source = source

    @classmethod
    def load(cls, path: Path | str | None = None) -> Taxonomy:
        """Read and validate a taxonomy file.

        Args:
            path: A YAML or JSON file holding a list of category records, or a mapping with a
                ``categories`` list. ``None`` reads the taxonomy shipped with svta.

        Returns:
            The validated taxonomy.

        Raises:
            ConfigError: The file is missing, unparsable or invalid; the message names the
                entry and field.
        """
        if path is None:
            text = resources.files("svta").joinpath("resources").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
            data = _parse_text(text, SHIPPED_SOURCE, as_json=False)
            return cls.from_records(data, SHIPPED_SOURCE)
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: taxonomy file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read taxonomy file: {exc}") from exc
        data = _parse_text(text, str(path), as_json=path.suffix.lower() == ".json")
        return cls.from_records(data, str(path))

    @classmethod
    def from_records(cls, data: Any, source: str = "<taxonomy>") -> Taxonomy:
        """Build and validate a taxonomy from parsed file content (a list, or ``{"categories": [...]}``).

        Raises:
            ConfigError: The content is not a list of valid category records.
        """
        if isinstance(data, Mapping):
            if "categories" not in data:
                raise ConfigError(f"{source}: expected a 'categories' list at the top level")
            data = data["categories"]
        if not isinstance(data, list):
            raise ConfigError(f"{source}: expected a list of categories, got {type(data).__name__}")
        categories = [_category_from_record(record, index, source) for index, record in enumerate(data)]
        taxonomy = cls(categories, source)
        taxonomy.validate()
        return taxonomy

    def validate(self) -> None:
        """Check every category and the set as a whole.

        Raises:
            ConfigError: Naming the first bad entry and field: an empty or malformed value, a bad
                kind, empty synonyms, an unknown UCF-Crime class, a duplicate id or name, or a key
                (id, name or synonym) shared by two categories.
        """
        if not self.categories:
            raise ConfigError(f"{self.source}: the taxonomy has no categories")
        for index, category in enumerate(self.categories):
            _check_category(category, index, self.source)
        self._check_unique("id", lambda category: category.id)
        self._check_unique("name", lambda category: normalize_label(category.name))
        self._check_unique("ucf_crime", lambda category: category.ucf_crime)
        self.__dict__["_index"] = self._build_index()  # fills the cached property

    def get(self, id_or_name: str) -> Category:
        """The category with this id, name, synonym or UCF-Crime class (case and punctuation ignored).

        Raises:
            ConfigError: No category has that key; the message lists close matches.
        """
        category = self._index.get(normalize_label(id_or_name))
        if category is not None:
            return category
        close = difflib.get_close_matches(normalize_label(id_or_name), list(self._index), n=8, cutoff=SUGGEST_CUTOFF)
        suggestions = list(dict.fromkeys(self._index[key].id for key in close))
        hint = f"close matches: {', '.join(suggestions)}" if suggestions else f"{len(self)} categories, none close"
        raise ConfigError(f"{self.source}: unknown category {id_or_name!r} ({hint})")

    def match(self, text: str) -> Category | None:
        """The category a free-form label names, or ``None``.

        Exact keys win (after normalising case and punctuation); otherwise the key with the best
        difflib ratio at or above :data:`MATCH_CUTOFF` whose words the label's words resemble (see
        :func:`words_resemble`), so a typo matches but a different short word does not.
        """
        key = normalize_label(text) if isinstance(text, str) else ""
        if not key:
            return None
        if key in self._index:
            return self._index[key]
        close = difflib.get_close_matches(key, list(self._index), n=5, cutoff=MATCH_CUTOFF)
        found = next((candidate for candidate in close if words_resemble(key, candidate)), None)
        return self._index[found] if found else None

    def anomaly(self) -> tuple[Category, ...]:
        """The anomaly categories, in file order."""
        return tuple(category for category in self.categories if category.is_anomaly)

    def normal(self) -> tuple[Category, ...]:
        """The normal categories, in file order."""
        return tuple(category for category in self.categories if not category.is_anomaly)

    def by_ucf_crime(self) -> dict[str, Category]:
        """UCF-Crime class name → the category that corresponds to it."""
        return {category.ucf_crime: category for category in self.categories if category.ucf_crime}

    def ids(self) -> tuple[str, ...]:
        """All category ids, in file order."""
        return tuple(category.id for category in self.categories)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready records, one per category; :meth:`from_records` reads them back."""
        return [category.to_record() for category in self.categories]

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __repr__(self) -> str:
        return f"Taxonomy({len(self.anomaly())} anomaly + {len(self.normal())} normal, source={self.source!r})"

    @functools.cached_property
    def _index(self) -> dict[str, Category]:
        return self._build_index()

    def _build_index(self) -> dict[str, Category]:
        # One key → one category, else get()/match() would depend on file order.
        index: dict[str, Category] = {}
        for position, category in enumerate(self.categories):
            for key in category.lookup_keys():
                other = index.setdefault(key, category)
                if other is not category:
                    raise _entry_error(
                        self.source,
                        position,
                        category.id,
                        "synonyms",
                        f"{key!r} already names category {other.id!r}",
                    )
        return index

    def _check_unique(self, field: str, value_of: Callable[[Category], Any]) -> None:
        seen: dict[Any, str] = {}
        for position, category in enumerate(self.categories):
            value = value_of(category)
            if value is None:
                continue
            if value in seen:
                raise _entry_error(self.source, position, category.id, field, f"duplicates category {seen[value]!r}")
            seen[value] = category.id


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped with svta (loaded once)."""
    return Taxonomy.load()


def _parse_text(text: str, source: str, as_json: bool) -> Any:
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: cannot parse taxonomy JSON: {exc}") from exc
    import yaml  # a core dependency, imported here so `import svta.taxonomy` stays light

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: cannot parse taxonomy YAML: {exc}") from exc


def _entry_error(source: str, position: int, category_id: Any, field: str, message: str) -> ConfigError:
    label = f"category #{position + 1}" + (f" {category_id!r}" if isinstance(category_id, str) and category_id else "")
    return ConfigError(f"{source}: {label}, field {field!r}: {message}")


def _category_from_record(record: Any, position: int, source: str) -> Category:
    """Turn one parsed record into a :class:`Category`, checking fields and their types."""
    if not isinstance(record, Mapping):
        raise ConfigError(f"{source}: category #{position + 1}: expected a mapping, got {type(record).__name__}")
    category_id = record.get("id")
    for field in REQUIRED_FIELDS:
        if field not in record or record[field] is None:
            raise _entry_error(source, position, category_id, field, "missing")
    unknown = sorted(set(record) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS), key=str)
    if unknown:
        raise _entry_error(source, position, category_id, str(unknown[0]), f"unknown field (allowed: {_allowed()})")
    for field in ("id", "name", "kind", "group", "description"):
        if not isinstance(record[field], str):
            raise _entry_error(source, position, category_id, field, f"expected text, got {record[field]!r}")
    synonyms = record["synonyms"]
    if not isinstance(synonyms, list | tuple) or not all(isinstance(item, str) for item in synonyms):
        raise _entry_error(source, position, category_id, "synonyms", f"expected a list of text, got {synonyms!r}")
    ucf_crime = record.get("ucf_crime")
    if ucf_crime is not None and not isinstance(ucf_crime, str):
        raise _entry_error(source, position, category_id, "ucf_crime", f"expected text, got {ucf_crime!r}")
    motion = _motion_from_record(record.get("motion"), position, source, category_id)
    return Category(
        id=record["id"].strip(),
        name=record["name"].strip(),
        kind=record["kind"].strip(),
        group=record["group"].strip(),
        description=record["description"].strip(),
        synonyms=tuple(item.strip() for item in synonyms),
        ucf_crime=ucf_crime.strip() if ucf_crime else None,
        motion=motion,
    )


def _motion_from_record(motion: Any, position: int, source: str, category_id: Any) -> dict[str, Any] | None:
    """Check a category's ``motion`` field: a mapping with a text ``program`` (the renderer checks the name)."""
    if motion is None:
        return None
    if not isinstance(motion, Mapping) or not isinstance(motion.get("program"), str) or not motion["program"]:
        expected = "a mapping with a 'program' name, e.g. {program: fight, mode: brawl, place: street}"
        raise _entry_error(source, position, category_id, "motion", f"expected {expected}, got {motion!r}")
    for key in ("place", "time"):
        if motion.get(key) is not None and not isinstance(motion[key], str):
            raise _entry_error(source, position, category_id, f"motion.{key}", f"expected text, got {motion[key]!r}")
    return {str(key): value for key, value in motion.items()}


def _check_category(category: Category, position: int, source: str) -> None:  # noqa: C901 (one check per field)
    """Check one category's values on their own (uniqueness is checked by the taxonomy)."""

    def fail(field: str, message: str) -> ConfigError:
        return _entry_error(source, position, category.id, field, message)

    for field in ("id", "name", "group", "description"):
        if not getattr(category, field):
            raise fail(field, "empty")
    if not _ID_PATTERN.fullmatch(category.id):
        raise fail("id", "must be snake_case (lower-case letters, digits and '_', starting with a letter)")
    if category.kind not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, got {category.kind!r}")
    if not category.synonyms:
        raise fail("synonyms", "empty; give at least one tag")
    if not all(normalize_label(synonym) for synonym in category.synonyms):
        raise fail("synonyms", "contains an empty tag")
    if category.ucf_crime is not None:
        if category.ucf_crime not in UCF_CRIME_CLASSES:
            raise fail("ucf_crime", f"must be one of {', '.join(UCF_CRIME_CLASSES)}, got {category.ucf_crime!r}")
        if not category.is_anomaly:
            raise fail("ucf_crime", "only anomaly categories map to a UCF-Crime class")


def _allowed() -> str:
    return ", ".join(REQUIRED_FIELDS + OPTIONAL_FIELDS)


def resolve_taxonomy(taxonomy: Taxonomy | Path | str | None) -> Taxonomy:
    """A taxonomy object from an object, a file path, or None (the shipped one)."""
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    return default_taxonomy() if taxonomy is None else Taxonomy.load(taxonomy)
