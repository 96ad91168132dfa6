"""Per-category grammars of the template generator: who acts, where, the action phrases and the
consequences, read from ``svta/resources/caption_grammar.yaml`` (plus an optional user file), with
phrases built from a category's description and synonyms for any category the file lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from svta.captions.vocab import ACTORS, PLACES
from svta.errors import ConfigError
from svta.taxonomy import Category

ACTOR_GROUPS: dict[str, tuple[str, ...]] = {
    "adult": ("man", "woman", "person"),
    "grown": ("man", "woman", "person", "elderly person"),
    "human": ("man", "woman", "person", "elderly person", "child"),
    "vehicle": ("car", "bus", "truck"),
    "motor_vehicle": ("car", "bus", "truck", "motorcycle"),
}
SLOTS = ("person", "adult", "vehicle", "their", "them", "the_subject")
FALLBACK_PLACES = ("street", "park", "parking lot", "subway station", "shop", "office")
SHIPPED_GRAMMAR = "svta/resources/caption_grammar.yaml"

# Subject heads a taxonomy description may start with, and the actors they become.
_HEAD_ACTORS: dict[str, tuple[str, ...]] = {
    "person": ACTOR_GROUPS["adult"],
    "someone": ACTOR_GROUPS["adult"],
    "man": ("man",),
    "woman": ("woman",),
    "worker": ACTOR_GROUPS["adult"],
    "shopper": ACTOR_GROUPS["adult"],
    "pedestrian": ACTOR_GROUPS["grown"],
    "athlete": ACTOR_GROUPS["adult"],
    "driver": ACTOR_GROUPS["adult"],
    "child": ("child",),
    "people": ("crowd",),
    "crowd": ("crowd",),
    "passengers": ("crowd",),
    "pedestrians": ("crowd",),
    "children": ("child",),
    "workers": ("crowd",),
    "vehicle": ACTOR_GROUPS["vehicle"],
    "car": ("car",),
    "dog": ("dog",),
    "animal": ("dog",),
}
_HEAD = re.compile(
    r"^(?:(?:a|an|the|some|several|two or more)\s+)?(?:[a-z-]+\s+){0,2}?(" + "|".join(_HEAD_ACTORS) + r")\s+(.+)$",
    re.IGNORECASE,
)
_SLOT = re.compile(r"{([a-z_]+)}")


@dataclass(frozen=True)
class Action:
    """One action phrase and the subjects it fits."""

    text: str
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class CategoryGrammar:
    """Everything the generator needs for one category."""

    category_id: str
    subjects: tuple[str, ...]
    places: tuple[str, ...]
    actions: tuple[Action, ...]
    consequences: tuple[str, ...]


def load_grammar_file(path: Path | str | None = None) -> dict[str, Any]:
    """Read a grammar YAML file (``None``: the shipped one) → ``{"groups": {...}, "categories": {...}}``.

    Raises:
        ConfigError: The file is missing, not YAML, or malformed; the message names the file and entry.
    """
    import yaml

    source = SHIPPED_GRAMMAR if path is None else str(path)
    try:
        if path is None:
            text = resources.files("svta").joinpath("resources").joinpath("caption_grammar.yaml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except FileNotFoundError:
        raise ConfigError(f"{source}: grammar file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot read grammar: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'categories'")
    groups = data.get("groups") or {}
    categories = data.get("categories") or {}
    if not isinstance(groups, dict) or not isinstance(categories, dict):
        raise ConfigError(f"{source}: 'groups' and 'categories' must be mappings")
    for key, entry in categories.items():
        _check_entry(source, str(key), entry)
    return {"groups": groups, "categories": categories, "source": source}


def _check_entry(source: str, key: str, entry: Any) -> None:  # noqa: C901 (a flat list of independent checks, one line each)
    def fail(message: str) -> ConfigError:
        return ConfigError(f"{source}: category {key!r}: {message}")

    if not isinstance(entry, dict):
        raise fail("expected a mapping")
    unknown = set(entry) - {"subjects", "places", "actions", "consequences"}
    if unknown:
        raise fail(f"unknown field(s) {sorted(unknown)}")
    for subject in _expand_subjects(entry.get("subjects") or ["adult"], fail):
        if subject not in ACTORS:
            raise fail(f"subject {subject!r} is not an actor of the vocabulary")
    for place in entry.get("places") or []:
        if place not in PLACES:
            raise fail(f"place {place!r} is not in the place vocabulary")
    actions = entry.get("actions") or []
    if not actions:
        raise fail("needs at least one action")
    for item in [*actions, *(entry.get("consequences") or [])]:
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str) or not text.strip():
            raise fail(f"bad phrase {item!r}")
        bad = [slot for slot in _SLOT.findall(text) if slot not in SLOTS]
        if bad:
            raise fail(f"unknown slot {{{bad[0]}}} in {text!r} (slots: {', '.join(SLOTS)})")


def _expand_subjects(names: Any, fail: Any) -> tuple[str, ...]:
    if not isinstance(names, list | tuple):
        raise fail(f"subjects must be a list, got {names!r}")
    out: list[str] = []
    for name in names:
        out.extend(ACTOR_GROUPS.get(name, (name,)))
    return tuple(dict.fromkeys(out))


class GrammarBook:
    """Category grammars for a taxonomy: the shipped file, overridden per category by a user file."""

    def __init__(self, user_file: Path | str | None = None):
        shipped = load_grammar_file(None)
        self.groups: dict[str, list[str]] = dict(shipped["groups"])
        self.entries: dict[str, dict[str, Any]] = dict(shipped["categories"])
        if user_file is not None:
            user = load_grammar_file(user_file)
            self.groups.update(user["groups"])
            self.entries.update(user["categories"])

    def for_category(self, category: Category) -> CategoryGrammar:
        """The grammar of ``category``: its entry by id, else one built from its description and synonyms."""
        entry = self.entries.get(category.id)
        if entry is None:
            return fallback_grammar(category, self.groups.get(category.group))
        subjects = _expand_subjects(entry.get("subjects") or ["adult"], ConfigError)
        actions = tuple(_action(item, subjects) for item in entry["actions"])
        places = tuple(entry.get("places") or self.groups.get(category.group) or FALLBACK_PLACES)
        return CategoryGrammar(category.id, subjects, places, actions, tuple(entry.get("consequences") or ()))


def _action(item: str | dict[str, Any], default_subjects: tuple[str, ...]) -> Action:
    if isinstance(item, dict):
        return Action(item["text"].strip(), _expand_subjects(item.get("subjects") or default_subjects, ConfigError))
    return Action(item.strip(), default_subjects)


def fallback_grammar(category: Category, group_places: list[str] | None = None) -> CategoryGrammar:
    """A grammar built from a category's description and synonyms (for user taxonomies).

    "A person slips, trips or loses their balance and falls to the ground." gives the subjects
    man/woman/person and the action "slips, trips or loses their balance and falls to the ground";
    each synonym gives one more action ("is seen throwing stones", "is stabbed", "is involved in a brawl").
    """
    subjects: tuple[str, ...] = ACTOR_GROUPS["adult"]
    actions: list[str] = []
    match = _HEAD.match(category.description.strip())
    if match:
        subjects = _HEAD_ACTORS[match.group(1).lower()]
        actions.append(match.group(2).rstrip(" ."))
    for label in (category.name, *category.synonyms):
        actions.append(_synonym_phrase(label))
    places = [p for p in (group_places or FALLBACK_PLACES) if p in PLACES] or list(FALLBACK_PLACES)
    unique = tuple(dict.fromkeys(a for a in actions if a))
    return CategoryGrammar(category.id, subjects, tuple(places), tuple(Action(a, subjects) for a in unique), ())


def _synonym_phrase(label: str) -> str:
    label = " ".join(label.replace("_", " ").split()).lower()
    if not label:
        return ""
    first = label.split()[0]
    if first.endswith("ing"):
        return f"is seen {label}"
    if first.endswith("ed"):
        return f"is {label}"
    article = "an" if label[0] in "aeiou" else "a"
    return f"is involved in {article} {label}"
