"""The embedded caption generator (``template``): seeded per-category grammars that write natural one-
or two-sentence captions such as "A man in a red jacket throws a bottle at a passing car on a busy
street at night.", using only the fixed vocabulary of :mod:`svta.captions.vocab`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from svta.captions.base import CAPTION_BACKENDS, CaptionDraft, CaptionSink, CategoryJob
from svta.captions.config import CaptionsConfig
from svta.captions.grammar import Action, CategoryGrammar, GrammarBook
from svta.captions.vocab import COLOURS
from svta.progress import progress, warn

GARMENTS = ("jacket", "hoodie", "coat", "t-shirt", "shirt", "sweater", "raincoat", "tracksuit")
DOG_COLOURS = ("black", "white", "brown", "grey")
PLACE_PHRASES: dict[str, tuple[str, ...]] = {
    "street": ("on a busy street", "on a quiet street", "on a street corner"),
    "park": ("in a park", "in a city park"),
    "supermarket": ("in a supermarket", "in a supermarket aisle"),
    "kitchen": ("in a kitchen", "in a small kitchen"),
    "parking lot": ("in a parking lot", "in an underground parking lot"),
    "train": ("on a train", "inside a crowded train"),
    "office": ("in an office", "in an open-plan office"),
    "school": ("at a school", "in a school hallway"),
    "playground": ("at a playground", "at a busy playground"),
    "beach": ("on a beach", "on a sandy beach"),
    "river": ("by a river", "along a river"),
    "forest": ("in a forest", "on a forest trail"),
    "mountain": ("on a mountain road", "on a mountain trail"),
    "shop": ("in a small shop", "outside a shop"),
    "bank": ("in a bank", "inside a bank lobby"),
    "restaurant": ("in a restaurant", "outside a restaurant"),
    "living room": ("in a living room",),
    "construction site": ("at a construction site",),
    "highway": ("on a highway", "on a busy highway"),
    "subway station": ("in a subway station", "on a subway station platform"),
    "stadium": ("in a stadium", "outside a stadium"),
    "gym": ("in a gym", "in a crowded gym"),
    "farm": ("on a farm",),
    "warehouse": ("in a warehouse", "inside a large warehouse"),
    "gas station": ("at a gas station",),
    "hospital": ("in a hospital corridor", "outside a hospital"),
    "home": ("at home", "in front of a home"),
}
TIME_PHRASES: dict[str, tuple[str, ...]] = {
    "morning": ("in the morning", "early in the morning"),
    "noon": ("at noon", "around noon"),
    "afternoon": ("in the afternoon", "on a sunny afternoon"),
    "evening": ("in the evening", "on a rainy evening"),
    "night": ("at night", "late at night"),
    "dawn": ("at dawn",),
}
_PRONOUNS = {"man": ("his", "him"), "woman": ("her", "her"), "dog": ("its", "it")}
_VEHICLE_NOUNS = {
    "car": ("car", "sports car"),
    "bus": ("bus", "city bus"),
    "truck": ("truck", "delivery truck"),
    "motorcycle": ("motorcycle",),
    "bicycle": ("bicycle",),
}
_OTHERS = {
    "person": ("man", "woman", "elderly person", "child", "person"),
    "adult": ("man", "woman", "person"),
    "vehicle": ("car", "bus", "truck"),
}


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _with_article(phrase: str) -> str:
    return f"{article(phrase)} {phrase}"


def subject_phrase(actor: str, rng: random.Random, colour_rate: float = 0.85) -> tuple[str, str | None]:
    """A noun phrase for ``actor`` with an optional colour ("a man in a red jacket") → (phrase, colour)."""
    colour = rng.choice(COLOURS)
    coloured = rng.random() < colour_rate
    if actor == "crowd":
        return rng.choice(("a crowd of people", "a large crowd", "a crowd")), None
    if actor == "dog":
        colour = rng.choice(DOG_COLOURS)
        size = rng.choice(("", "large ", "small "))
        return (f"a {size}{colour} dog", colour) if coloured else (f"a {size or 'stray '}dog", None)
    if actor in _VEHICLE_NOUNS:
        noun = rng.choice(_VEHICLE_NOUNS[actor])
        return (_with_article(f"{colour} {noun}"), colour) if coloured else (_with_article(noun), None)
    descriptor = {
        "man": ("", "young ", "tall ", "middle-aged "),
        "woman": ("", "young ", "tall ", "middle-aged "),
        "child": ("", "small ", "young "),
    }.get(actor, ("",))
    noun = _with_article(rng.choice(descriptor) + actor)
    if not coloured:
        return noun, None
    garment = rng.choice(GARMENTS)
    linker = rng.choice(("in", "wearing"))
    return f"{noun} {linker} {article(colour)} {colour} {garment}", colour


def fill_slots(text: str, actor: str, rng: random.Random) -> str:
    """Fill ``{person}``, ``{adult}``, ``{vehicle}``, ``{their}``, ``{them}`` and ``{the_subject}``."""
    their, them = _PRONOUNS.get(actor, ("its", "it") if actor in _VEHICLE_NOUNS else ("their", "them"))
    values = {"their": their, "them": them, "the_subject": f"the {actor}"}
    for slot, pool in _OTHERS.items():
        if "{" + slot + "}" in text:
            choices = [a for a in pool if a != actor] or list(pool)
            values[slot] = _with_article(rng.choice(choices))
    return text.format(**values)


def compose_caption(grammar: CategoryGrammar, rng: random.Random, consequence_rate: float = 0.5) -> tuple[str, Action]:
    """One caption of the category: subject, action, place, time of day, and maybe a consequence."""
    action = rng.choice(grammar.actions)
    actor = rng.choice(action.subjects)
    subject, _ = subject_phrase(actor, rng)
    verb_phrase = fill_slots(action.text, actor, rng)
    place = rng.choice(PLACE_PHRASES[rng.choice(grammar.places)])
    when = rng.choice(TIME_PHRASES[rng.choice(tuple(TIME_PHRASES))])
    form = rng.random()
    if form < 0.5:
        sentence = f"{subject} {verb_phrase} {place} {when}"
    elif form < 0.75:
        sentence = f"{when}, {subject} {verb_phrase} {place}"
    else:
        sentence = f"{place}, {subject} {verb_phrase} {when}"
    caption = _capitalise(sentence) + "."
    if grammar.consequences and rng.random() < consequence_rate:
        caption += " " + _capitalise(fill_slots(rng.choice(grammar.consequences), actor, rng))
    return caption, action


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def action_verb(text: str) -> str:
    """The base form of an action's main verb: "throws a bottle" → "throw", "is pinned down" → "pinned"."""
    words = [w.strip(",.") for w in text.split()]
    if words and words[0] in ("is", "gets") and len(words) > 1:
        return words[1]
    verb = words[0] if words else ""
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if verb.endswith(("ches", "shes", "sses", "xes", "zes")):
        return verb[:-2]
    if verb.endswith("s") and not verb.endswith("ss"):
        return verb[:-1]
    return verb


@CAPTION_BACKENDS.register("template", "embedded per-category grammar generator (offline, seeded)")
class TemplateCaptionBackend:
    """Writes captions from per-category grammars; same config and seed → the same captions."""

    source = "template"

    def __init__(self, config: CaptionsConfig, seed: int):
        self.config = config
        self.seed = seed
        self.book = GrammarBook(config.template.grammar)

    def captions_for(self, job: CategoryJob) -> list[CaptionDraft]:
        """``job.target`` distinct drafts of the category, from its own seeded stream."""
        grammar = self.book.for_category(job.category)
        rng = random.Random(f"svta-template:{self.seed}:{job.category.id}")
        drafts: dict[str, CaptionDraft] = {}
        attempts = 0
        while len(drafts) < job.target and attempts < 50 * job.target + 100:
            attempts += 1
            text, action = compose_caption(grammar, rng, self.config.template.consequence_rate)
            tags = (job.category.name, action_verb(action.text))
            drafts.setdefault(text.lower(), CaptionDraft(text, tags, f"template:{self.seed}"))
        return list(drafts.values())

    def generate(self, jobs: Sequence[CategoryJob], sink: CaptionSink) -> dict[str, Any]:
        """Commit each category's drafts (one atomic part per category); skips categories already complete."""
        short: dict[str, int] = {}
        stats: dict[str, Any] = {"duplicates": 0, "invalid": 0, "short": short}
        todo = [j for j in jobs if j.need > 0]
        need = sum(j.need for j in todo)
        for job in progress(todo, description="template captions", total=need, count=lambda j: j.need):
            drafts = self.captions_for(job)
            result = sink.commit(job.category.id, drafts)
            stats["duplicates"] += result.duplicates
            stats["invalid"] += result.invalid
            extra_rng = random.Random(f"svta-template-extra:{self.seed}:{job.category.id}")
            grammar = self.book.for_category(job.category)
            tries = 0
            # Captions already present from another source can collide; top up from a second stream.
            while sink.remaining(job.category.id) > 0 and tries < 20:
                tries += 1
                more = [compose_caption(grammar, extra_rng, self.config.template.consequence_rate) for _ in range(64)]
                tags = [(job.category.name, action_verb(a.text)) for _, a in more]
                sink.commit(
                    job.category.id, [CaptionDraft(t, g, f"template:{self.seed}") for (t, _), g in zip(more, tags)]
                )
            if sink.remaining(job.category.id) > 0:
                short[job.category.id] = sink.remaining(job.category.id)
                warn(f"template: category {job.category.id!r} is short of {sink.remaining(job.category.id)} captions")
        return stats
