"""The fixed vocabulary the template generator writes with: actors, colours, places and times of day.

The procedural video renderer reads captions back with the same words, so these lists are a
contract: :func:`parse_caption` finds them in any caption (word boundaries, longest phrase first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

ACTORS: tuple[str, ...] = (
    "man",
    "woman",
    "child",
    "elderly person",
    "person",
    "dog",
    "car",
    "bicycle",
    "motorcycle",
    "bus",
    "truck",
    "crowd",
)
COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow", "black", "white", "orange", "purple", "grey", "brown")
PLACES: tuple[str, ...] = (
    "street",
    "park",
    "supermarket",
    "kitchen",
    "parking lot",
    "train",
    "office",
    "school",
    "playground",
    "beach",
    "river",
    "forest",
    "mountain",
    "shop",
    "bank",
    "restaurant",
    "living room",
    "construction site",
    "highway",
    "subway station",
    "stadium",
    "gym",
    "farm",
    "warehouse",
    "gas station",
    "hospital",
    "home",
)
TIMES: tuple[str, ...] = ("morning", "noon", "afternoon", "evening", "night", "dawn")


@dataclass(frozen=True)
class CaptionParse:
    """The vocabulary words found in a caption.

    Attributes:
        actor: The first actor mentioned (the subject in template captions), or ``None``.
        colour: The first colour mentioned (the subject's attire or body colour), or ``None``.
        place: The first place mentioned, or ``None``.
        time: The first time of day mentioned, or ``None``.
        actors: Every actor mentioned, in order of appearance (with repeats removed).
    """

    actor: str | None = None
    colour: str | None = None
    place: str | None = None
    time: str | None = None
    actors: tuple[str, ...] = field(default_factory=tuple)


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so "elderly person" wins over "person" and "subway station" over nothing shorter.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b({alternatives})\b", re.IGNORECASE)


def find_words(text: str, words: tuple[str, ...]) -> list[str]:
    """Every vocabulary word/phrase of ``words`` in ``text``, in order (lower-case)."""
    return [m.group(1).lower() for m in _pattern(words).finditer(text)]


def parse_caption(text: str) -> CaptionParse:
    """Find the subject actor, colour, place and time of day of a caption.

    Example:
        ``parse_caption("A man in a red jacket throws a bottle at a passing car on a busy street at night.")``
        gives actor ``"man"``, colour ``"red"``, place ``"street"``, time ``"night"``, actors ``("man", "car")``.
    """
    actors = tuple(dict.fromkeys(find_words(text, ACTORS)))
    colours = find_words(text, COLOURS)
    places = find_words(text, PLACES)
    times = find_words(text, TIMES)
    return CaptionParse(
        actor=actors[0] if actors else None,
        colour=colours[0] if colours else None,
        place=places[0] if places else None,
        time=times[0] if times else None,
        actors=actors,
    )
