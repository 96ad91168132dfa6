"""Which motion program each category plays: the taxonomy's ``motion`` field where a category has
one (every shipped category does), else a derivation from the category's group and a hash of its id,
so a user taxonomy gets a distinct, stable program and parameter set per category too.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from svta.taxonomy import Category, default_taxonomy
from svta.videos.set_stage import ProgramParams

# For categories without a motion field: candidate programs per group, one chosen by the id's hash.
GROUP_PROGRAMS: dict[str, list[tuple[str, dict]]] = {
    "violence": [("fight", {"mode": m}) for m in ("assault", "brawl", "abuse", "threaten", "harass", "stab")],
    "crime": [("take", {"mode": m}) for m in ("steal", "rob", "snatch", "deal")] + [("act", {"mode": "vandal"})],
    "accident": [
        ("fall", {"mode": "trip"}),
        ("traffic", {"mode": "crash"}),
        ("traffic", {"mode": "hit"}),
        ("fall", {"mode": "height"}),
    ],
    "disaster": [("disaster", {"mode": m}) for m in ("flood", "quake", "storm", "collapse", "landslide")],
    "fire_explosion": [("blaze", {"mode": m}) for m in ("building", "smoke", "explosion", "vehicle")],
    "animal": [("animal", {"mode": m}) for m in ("attack", "intrude", "pet")],
    "health": [("fall", {"mode": m}) for m in ("faint", "medical", "choke")],
    "public_order": [
        ("group", {"formation": "riot", "count": 5}),
        ("stroll", {"pace": "stagger"}),
        ("take", {"mode": "litter"}),
    ],
    "hazard": [("blaze", {"mode": m}) for m in ("electric", "gas", "chemical")] + [("signal", {})],
    "social": [("group", {"formation": f, "count": 2}) for f in ("talk", "greet")] + [("fight", {"mode": "argue"})],
    "daily_life": [("idle", {"gesture": g}) for g in ("stand", "sit", "read", "phone", "clean")]
    + [("stroll", {"pace": "walk"})],
    "sports": [
        ("group", {"formation": "sports", "count": 4}),
        ("idle", {"gesture": "exercise"}),
        ("stroll", {"pace": "run"}),
    ],
    "transport": [("traffic", {"mode": m}) for m in ("drive", "ride", "reckless", "crossing")],
    "work": [("idle", {"gesture": g}) for g in ("desk", "hammer")] + [("stroll", {"pace": "walk", "prop": "box"})],
}
GROUP_PLACES: dict[str, str] = {
    "violence": "street",
    "crime": "shop",
    "accident": "street",
    "disaster": "street",
    "fire_explosion": "street",
    "animal": "park",
    "health": "supermarket",
    "public_order": "street",
    "hazard": "warehouse",
    "social": "park",
    "daily_life": "home",
    "sports": "stadium",
    "transport": "highway",
    "work": "office",
}
ANOMALY_FALLBACK = [p for group in ("violence", "crime", "accident", "fire_explosion") for p in GROUP_PROGRAMS[group]]
NORMAL_FALLBACK = [p for group in ("daily_life", "social", "sports") for p in GROUP_PROGRAMS[group]]
# keys of a taxonomy motion field that are not the program's own settings
MOTION_KEYS = ("program", "place", "time")
PLACES_BY_HASH = ("street", "park", "shop", "office", "parking lot", "subway station", "kitchen", "beach")


@dataclass(frozen=True)
class ProgramChoice:
    """The program a category plays, where (and when) by default, and its parameters."""

    program: str
    place: str
    time: str | None
    params: ProgramParams = field(default_factory=lambda: ProgramParams((200, 60, 60)))


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def category_params(key: str, options: dict) -> ProgramParams:
    """Accent colour, tempo and variant derived from a category key (stable across runs and machines)."""
    h = _digest(key)
    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360.0, 0.75 + 0.25 * ((h >> 9) % 2), 0.85 + 0.15 * ((h >> 10) % 2))
    tempo = 0.8 + 0.45 * ((h >> 12) % 1000) / 1000.0
    return ProgramParams((int(r * 255), int(g * 255), int(b * 255)), tempo, (h >> 24) % 4, dict(options))


def choose_program(category: Category | None) -> ProgramChoice:
    """The motion program, default place/time and parameters of a taxonomy category.

    Args:
        category: A taxonomy category; ``None`` plays a plain walk. A category without a ``motion``
            field whose id the shipped taxonomy knows plays the shipped program; any other gets one
            derived from its group (or, for an unknown group, from its kind).
    """
    if category is None:
        return ProgramChoice("stroll", "street", None, category_params("", {"pace": "walk"}))
    motion = category.motion if category.motion is not None else shipped_motion(category.id)
    if motion is not None:
        return _from_motion(category.id, motion)
    return _derived(category.id, category.group, category.is_anomaly)


def choose_for_label(label: str) -> ProgramChoice:
    """The program for a label outside the taxonomy: the shipped program of that id, else a derived one."""
    motion = shipped_motion(label)
    return _from_motion(label, motion) if motion is not None else _derived(label, None, None)


def shipped_motion(category_id: str) -> Mapping[str, Any] | None:
    """The ``motion`` field of a category of the shipped taxonomy, if it has that id."""
    for category in default_taxonomy():
        if category.id == category_id:
            return category.motion
    return None


def _from_motion(key: str, motion: Mapping[str, Any]) -> ProgramChoice:
    options = {k: v for k, v in motion.items() if k not in MOTION_KEYS}
    return ProgramChoice(
        motion["program"], motion.get("place") or "street", motion.get("time"), category_params(key, options)
    )


def _derived(key: str, group: str | None, is_anomaly: bool | None) -> ProgramChoice:
    h = _digest(key)
    candidates = GROUP_PROGRAMS.get(group or "") or (NORMAL_FALLBACK if is_anomaly is False else ANOMALY_FALLBACK)
    name, options = candidates[h % len(candidates)]
    place = GROUP_PLACES.get(group or "", PLACES_BY_HASH[(h >> 5) % len(PLACES_BY_HASH)])
    return ProgramChoice(name, place, None, category_params(key, options))
