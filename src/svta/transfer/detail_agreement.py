"""A second signal for near-duplicate captions: do two captions agree on the details that tell one
recorded event from another — colours, counts, left/right, day/night, the people's gender, the
vehicles, animals and weapons involved? Sentence embeddings score "a white car hit the black car
turning left" and "a black car on the right turns right" as close (generic traffic wording); the
details disagree, so the pair is not the same event.

Two captions *conflict* on a slot when both mention it and each names a value the other lacks
(``{left}`` vs ``{right}``); one naming a detail the other leaves out is no conflict (paraphrases
drop details).
"""

from __future__ import annotations

import re
from functools import lru_cache

# word → (slot, canonical value); plural and synonym spellings point at one value.
_LEXICON: dict[str, tuple[str, str]] = {}
_SLOTS = {
    "colour": {
        "white": "white",
        "black": "black",
        "red": "red",
        "blue": "blue",
        "green": "green",
        "yellow": "yellow",
        "grey": "grey",
        "gray": "grey",
        "silver": "silver",
        "brown": "brown",
        "orange": "orange",
        "pink": "pink",
        "purple": "purple",
    },
    "count": {
        "one": "1",
        "two": "2",
        "three": "3",
        "four": "4",
        "five": "5",
        "six": "6",
        "seven": "7",
        "eight": "8",
        "nine": "9",
        "ten": "10",
        "both": "2",
        "pair": "2",
        "couple": "2",
    },
    "side": {"left": "left", "right": "right"},
    "time": {
        "night": "night",
        "evening": "night",
        "dark": "night",
        "midnight": "night",
        "day": "day",
        "daytime": "day",
        "morning": "day",
        "afternoon": "day",
        "noon": "day",
    },
    "gender": {
        "man": "male",
        "men": "male",
        "boy": "male",
        "boys": "male",
        "guy": "male",
        "he": "male",
        "his": "male",
        "him": "male",
        "father": "male",
        "husband": "male",
        "gentleman": "male",
        "woman": "female",
        "women": "female",
        "girl": "female",
        "girls": "female",
        "lady": "female",
        "she": "female",
        "her": "female",
        "mother": "female",
        "wife": "female",
    },
    "vehicle": {
        "car": "car",
        "cars": "car",
        "suv": "suv",
        "truck": "truck",
        "trucks": "truck",
        "lorry": "truck",
        "bus": "bus",
        "buses": "bus",
        "van": "van",
        "taxi": "taxi",
        "cab": "taxi",
        "motorcycle": "motorcycle",
        "motorbike": "motorcycle",
        "motorcyclist": "motorcycle",
        "bicycle": "bicycle",
        "bike": "bicycle",
        "cyclist": "bicycle",
        "scooter": "scooter",
        "train": "train",
        "tram": "tram",
    },
    "animal": {
        "dog": "dog",
        "dogs": "dog",
        "puppy": "dog",
        "cat": "cat",
        "cats": "cat",
        "cow": "cow",
        "horse": "horse",
        "bird": "bird",
        "sheep": "sheep",
    },
    "weapon": {
        "gun": "gun",
        "guns": "gun",
        "pistol": "gun",
        "handgun": "gun",
        "rifle": "gun",
        "gunpoint": "gun",
        "knife": "knife",
        "knives": "knife",
        "stick": "stick",
        "sticks": "stick",
        "bat": "stick",
        "hammer": "hammer",
    },
}
for _slot, _words in _SLOTS.items():
    for _word, _value in _words.items():
        _LEXICON[_word] = (_slot, _value)
_WORD = re.compile(r"[a-z]+|\d+")


@lru_cache(maxsize=200_000)
def details(caption: str) -> dict[str, frozenset[str]]:
    """``{slot: values}`` a caption mentions (``{"colour": {"white", "black"}, "side": {"left"}}``)."""
    found: dict[str, set[str]] = {}
    for word in _WORD.findall(caption.lower().replace("'s", "")):
        slot_value = ("count", str(int(word))) if word.isdigit() else _LEXICON.get(word)
        if slot_value is not None:
            found.setdefault(slot_value[0], set()).add(slot_value[1])
    return {slot: frozenset(values) for slot, values in found.items()}


def conflicts(a: str, b: str) -> list[str]:
    """The slots two captions disagree on (empty: they agree, as paraphrases of one event do)."""
    left, right = details(a), details(b)
    return [
        slot
        for slot in sorted(left.keys() & right.keys())
        if not (left[slot] <= right[slot] or right[slot] <= left[slot])
    ]


def agree(a: str, b: str) -> bool:
    """Whether two captions agree on every detail both mention."""
    return not conflicts(a, b)


# Event words → event class: what happens, as opposed to the scene. Normal-activity verbs are left out on
# purpose, so "a car turns at the crossing" names no event and "a car crashes into a turning car" does.
_EVENTS = {
    # physical force against a person, an animal, a vehicle or a thing (a crash, a beating, a smashed window)
    "force": "hit hits hitting struck strike strikes crash crashes crashed crashing collide collides collided "
    "collision ram rams rammed slam slams slammed knock knocks knocked clip clips clipped rear ended brushes "
    "brushed scrape scrapes scraped accident pushes pushed shunting shunt shoves shove shoved punch punches "
    "punched kick kicks kicked kicking slap slaps slapped beat beats beating beaten fight fights fighting fought "
    "brawl attack attacks attacked whip whips whipped smashes smash smashed yanks drags dragged seizes pins "
    "tackle tackles throws threw hurls breaks broke broken shatters shattered pry prises crowbar forces spray "
    "vandal",
    "theft": "steal steals stole stolen stealing rob robs robbed robbery snatch snatches snatched grab grabs "
    "grabbed stuff stuffs stuffed pocket pockets pocketed hides loot empties paying rips shoplifting thief",
    "weapon": "gun guns pistol handgun shoots shot shots fires fired knife threatens threatened aims gunpoint weapon",
    "fire": "fire burning burn burns fireball flames flame alight ablaze explodes explosion blast blows smoke smoking",
    "fall": "fall falls fell falling thrown flung tumble tumbles collapses lies lying slides sliding spins "
    "skids overturns",
    "arrest": "arrest arrested handcuff handcuffs handcuffed cuff cuffs police officers cops",
    "flee": "flees fled escape escapes runs speeds disappears vanishes",
}
_EVENT_WORDS = {word: event for event, words in _EVENTS.items() for word in words.split()}


@lru_cache(maxsize=200_000)
def events(caption: str) -> frozenset[str]:
    """The event classes a caption names (``{"impact", "fall"}``); empty for a scene where nothing happens."""
    return frozenset(_EVENT_WORDS[w] for w in _WORD.findall(caption.lower()) if w in _EVENT_WORDS)


def event_agreement(a: str, b: str) -> float:
    """How far two captions name the same events: the share of the shorter list of event classes that the
    other names too (a terse annotator names fewer), 0.5 when neither names one (two uneventful scenes), 0
    when only one does (an event against a normal scene)."""
    ea, eb = events(a), events(b)
    if not ea and not eb:
        return 0.5
    return len(ea & eb) / max(1, min(len(ea), len(eb)))
