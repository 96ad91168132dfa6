"""Read a caption into what the procedural renderer draws: actors with their colours, the place,
the time of day, weather and objects. The caption stage's vocabulary (:mod:`svta.captions.vocab`)
is the core; synonyms here let free-form (LLM or collected) captions map onto it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from svta.captions.vocab import ACTORS, COLOURS, PLACES, TIMES

RGB = tuple[int, int, int]

# Vivid, well-separated values, so a colour stays recognisable at 64x64 pixels.
COLOUR_RGB: dict[str, RGB] = {
    "red": (215, 30, 35),
    "blue": (35, 85, 225),
    "green": (35, 165, 60),
    "yellow": (245, 215, 35),
    "black": (28, 28, 30),
    "white": (242, 242, 238),
    "orange": (250, 135, 20),
    "purple": (135, 50, 185),
    "grey": (128, 128, 132),
    "brown": (125, 78, 38),
    "pink": (245, 125, 185),
    "silver": (188, 194, 204),
    "gold": (212, 168, 42),
    "beige": (222, 203, 160),
    "navy": (22, 32, 100),
}
COLOUR_SYNONYMS: dict[str, str] = {
    "gray": "grey",
    "dark blue": "navy",
    "light blue": "blue",
    "crimson": "red",
    "scarlet": "red",
    "maroon": "red",
    "violet": "purple",
    "tan": "beige",
    "khaki": "beige",
    "golden": "gold",
}

# Internal actor kinds the renderer draws; caption words map onto them.
ACTOR_SYNONYMS: dict[str, str] = {
    "elderly person": "elderly",
    "old man": "elderly",
    "old woman": "elderly",
    "elderly man": "elderly",
    "elderly woman": "elderly",
    "grandmother": "elderly",
    "grandfather": "elderly",
    "senior": "elderly",
    "men": "man",
    "guy": "man",
    "gentleman": "man",
    "boy": "child",
    "girl": "child",
    "kid": "child",
    "kids": "child",
    "children": "child",
    "toddler": "child",
    "baby": "child",
    "lady": "woman",
    "women": "woman",
    "people": "crowd",
    "group": "crowd",
    "mob": "crowd",
    "crowd": "crowd",
    "police officer": "police",
    "policeman": "police",
    "police": "police",
    "cop": "police",
    "officer": "police",
    "security guard": "police",
    "guard": "police",
    "worker": "worker",
    "workers": "worker",
    "firefighter": "worker",
    "builder": "worker",
    "cyclist": "bicycle",
    "bike": "bicycle",
    "motorcyclist": "motorcycle",
    "motorbike": "motorcycle",
    "scooter": "motorcycle",
    "moped": "motorcycle",
    "van": "car",
    "taxi": "car",
    "vehicle": "car",
    "lorry": "truck",
    "forklift": "truck",
    "tram": "train",
    "puppy": "dog",
    "kitten": "cat",
    "cat": "cat",
    "bear": "bear",
    "boar": "bear",
    "cow": "cow",
    "horse": "cow",
    "deer": "deer",
    "monkey": "monkey",
    "snake": "snake",
    "pedestrian": "person",
    "pedestrians": "crowd",
    "passer-by": "person",
    "passerby": "person",
    "someone": "person",
    "thief": "person",
    "robber": "person",
    "burglar": "person",
    "attacker": "person",
    "suspect": "person",
    "teenager": "person",
    "shopper": "person",
    "customer": "person",
    "passenger": "person",
    "passengers": "crowd",
    "athlete": "person",
    "jogger": "person",
    "runner": "person",
    "swimmer": "person",
    "student": "child",
}
PLACE_SYNONYMS: dict[str, str] = {
    "road": "street",
    "avenue": "street",
    "sidewalk": "street",
    "pavement": "street",
    "crosswalk": "street",
    "zebra crossing": "street",
    "intersection": "street",
    "junction": "street",
    "motorway": "highway",
    "freeway": "highway",
    "garden": "park",
    "yard": "park",
    "lawn": "park",
    "field": "park",
    "grocery store": "supermarket",
    "market": "supermarket",
    "store": "shop",
    "mall": "shop",
    "shopping mall": "shop",
    "boutique": "shop",
    "car park": "parking lot",
    "garage": "parking lot",
    "parking garage": "parking lot",
    "subway": "subway station",
    "metro": "subway station",
    "platform": "subway station",
    "station": "subway station",
    "train station": "subway station",
    "carriage": "train",
    "subway car": "train",
    "classroom": "school",
    "corridor": "school",
    "hallway": "school",
    "sea": "beach",
    "shore": "beach",
    "coast": "beach",
    "lake": "river",
    "swimming pool": "pool",
    "pool": "pool",
    "railway": "railway",
    "railroad": "railway",
    "tracks": "railway",
    "level crossing": "railway",
    "rooftop": "rooftop",
    "roof": "rooftop",
    "balcony": "rooftop",
    "alley": "alley",
    "escalator": "escalator",
    "elevator": "escalator",
    "bus stop": "bus stop",
    "airport": "airport",
    "factory": "warehouse",
    "hill": "mountain",
    "hillside": "mountain",
    "slope": "mountain",
    "woods": "forest",
    "house": "home",
    "apartment": "home",
    "bedroom": "home",
    "cafe": "restaurant",
    "bar": "restaurant",
    "diner": "restaurant",
    "clinic": "hospital",
    "court": "stadium",
    "gas station": "gas station",
    "petrol station": "gas station",
    "fire station": "street",
    "cashier": "shop",
    "checkout": "supermarket",
}
TIME_SYNONYMS: dict[str, str] = {
    "midnight": "night",
    "nighttime": "night",
    "tonight": "night",
    "dusk": "evening",
    "sunset": "evening",
    "twilight": "evening",
    "sunrise": "dawn",
    "daybreak": "dawn",
    "midday": "noon",
    "daytime": "noon",
    "daylight": "noon",
}
WEATHER_WORDS: dict[str, str] = {
    "rain": "rain",
    "rainy": "rain",
    "raining": "rain",
    "storm": "rain",
    "downpour": "rain",
    "snow": "snow",
    "snowy": "snow",
    "snowing": "snow",
    "fog": "fog",
    "foggy": "fog",
    "mist": "fog",
    "misty": "fog",
}
OBJECT_WORDS: tuple[str, ...] = (
    "bag",
    "handbag",
    "purse",
    "backpack",
    "suitcase",
    "box",
    "phone",
    "knife",
    "gun",
    "pistol",
    "rifle",
    "bat",
    "stick",
    "stone",
    "rock",
    "bottle",
    "ball",
    "umbrella",
    "cigarette",
    "wallet",
    "book",
    "camera",
    "trolley",
    "cart",
    "ladder",
    "package",
    "flowerpot",
    "brick",
)
NUMBER_WORDS: dict[str, int] = {"two": 2, "three": 3, "four": 4, "five": 5, "several": 3, "a few": 3, "both": 2}
HUMAN_KINDS = frozenset({"man", "woman", "child", "elderly", "person", "police", "worker"})
ANIMAL_KINDS = frozenset({"dog", "cat", "bear", "cow", "deer", "monkey", "snake"})
VEHICLE_KINDS = frozenset({"car", "bus", "truck", "bicycle", "motorcycle", "train"})
MAX_ACTORS = 6


@dataclass(frozen=True)
class ActorSpec:
    """One actor a caption names.

    Attributes:
        kind: What to draw (``man``, ``woman``, ``child``, ``elderly``, ``person``, ``police``,
            ``worker``, an animal, a vehicle, or ``crowd``).
        colour: Clothing (people), coat (animals) or paint (vehicles) colour, if named.
        colour_name: The colour's name.
    """

    kind: str
    colour: RGB | None = None
    colour_name: str | None = None


@dataclass(frozen=True)
class SceneSpec:
    """What a caption says about a scene; ``None`` where it says nothing."""

    actors: tuple[ActorSpec, ...] = ()
    place: str | None = None
    time: str | None = None
    weather: str | None = None
    objects: tuple[str, ...] = field(default_factory=tuple)


def _phrase_table() -> dict[str, tuple[str, str]]:
    """Every phrase the parser knows → (field, canonical value); a later source wins a shared phrase."""
    sources: tuple[tuple[str, Mapping[str, str]], ...] = (
        ("object", {word: word for word in OBJECT_WORDS}),
        ("weather", WEATHER_WORDS),
        ("time", {word: word for word in TIMES}),
        ("time", TIME_SYNONYMS),
        ("place", {word: word for word in PLACES}),
        ("place", PLACE_SYNONYMS),
        ("colour", {word: word for word in (*COLOURS, *COLOUR_RGB)}),
        ("colour", COLOUR_SYNONYMS),
        ("actor", {word: ACTOR_SYNONYMS.get(word, word) for word in ACTORS}),
        ("actor", ACTOR_SYNONYMS),
        ("number", {word: word for word in NUMBER_WORDS}),
    )
    return {word: (name, value) for name, words in sources for word, value in words.items()}


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    table = _phrase_table()
    # longest phrase first, so "parking lot" beats "lot" and "elderly person" beats "person"
    alternatives = "|".join(re.escape(p) for p in sorted(table, key=len, reverse=True))
    return re.compile(rf"\b({alternatives})s?\b"), table


@dataclass
class _Mention:
    kind: str
    start: int
    end: int
    colour: str | None = None


def parse_scene(caption: str) -> SceneSpec:
    """Parse a caption into a :class:`SceneSpec`.

    Colours go to the actor they precede ("a red car") or else to the nearest actor before them
    ("a man in a red jacket"); a number word repeats the actor ("two men"); a kind mentioned again
    without a number is the same actor ("... the man").
    """
    pattern, table = _matcher()
    text = caption.lower().replace("-", " ")
    mentions: list[_Mention] = []
    colours: list[tuple[str, int, int]] = []
    found: dict[str, str] = {}
    objects: list[str] = []
    pending_number = 1
    last_end = -10
    for m in pattern.finditer(text):
        what, value = table[m.group(1)]
        if what == "number":
            pending_number, last_end = NUMBER_WORDS[value], m.end()
            continue
        if what == "actor":
            count = pending_number if m.start() - last_end <= 1 else 1
            repeated = any(x.kind == value for x in mentions) and count == 1
            if not repeated:
                mentions.extend(_Mention(value, m.start(), m.end()) for _ in range(count))
        elif what == "colour":
            colours.append((value, m.start(), m.end()))
        elif what == "object":
            objects.append(value)
        else:
            found.setdefault(what, value)
        pending_number = 1
    _assign_colours(text, mentions, colours)
    actors = tuple(
        ActorSpec(x.kind, COLOUR_RGB[x.colour] if x.colour else None, x.colour) for x in mentions[:MAX_ACTORS]
    )
    return SceneSpec(actors, found.get("place"), found.get("time"), found.get("weather"), tuple(dict.fromkeys(objects)))


_BREAKS = frozenset({"and", "a", "an", "the", "with", "in", "on", "at", "while", "is", "who", "as", "to", "of"})


def _directly_before(text: str, colour_end: int, actor_start: int) -> bool:
    """Whether a colour modifies the actor right after it ("a red car", "a red sports car")."""
    between = text[colour_end:actor_start]
    words = between.split()
    return 0 <= len(words) <= 1 and not (set(words) & _BREAKS) and "," not in between and "." not in between


def _assign_colours(text: str, mentions: list[_Mention], colours: list[tuple[str, int, int]]) -> None:
    for colour, start, end in colours:
        after = [x for x in mentions if x.start >= end and _directly_before(text, end, x.start) and x.colour is None]
        before = [x for x in mentions if x.end <= start and start - x.end <= 40 and x.colour is None]
        target = after[0] if after else (before[-1] if before else None)
        if target is None:
            continue
        # "two men in red": every copy of a counted actor shares the colour
        for x in mentions:
            if x.start == target.start and x.colour is None:
                x.colour = colour
