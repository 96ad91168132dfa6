"""Which motion program each category plays: a hand-made map for the shipped taxonomy and a
derivation from the category's group and a hash of its id for any other, so a user taxonomy gets
a distinct, stable program and parameter set per category too.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field

from svta.videos.stage import ProgramParams

# category id → (program, options, default place, default time or None)
CATEGORY_PROGRAMS: dict[str, tuple[str, dict, str, str | None]] = {
    # violence
    "abuse": ("fight", {"mode": "abuse"}, "home", None),
    "assault": ("fight", {"mode": "assault"}, "street", None),
    "fighting": ("fight", {"mode": "brawl"}, "parking lot", None),
    "shooting": ("fight", {"mode": "shoot"}, "street", None),
    "stabbing": ("fight", {"mode": "stab"}, "alley", None),
    "throwing_objects": ("act", {"mode": "throw"}, "street", None),
    "kidnapping": ("fight", {"mode": "kidnap"}, "parking lot", None),
    "bullying": ("group", {"formation": "bully", "count": 4}, "school", None),
    "harassment": ("fight", {"mode": "harass"}, "subway station", None),
    "weapon_threat": ("fight", {"mode": "threaten"}, "shop", None),
    # crime
    "arrest": ("fight", {"mode": "arrest"}, "street", None),
    "arson": ("blaze", {"mode": "arson"}, "street", "night"),
    "burglary": ("act", {"mode": "burgle"}, "home", "night"),
    "robbery": ("take", {"mode": "rob"}, "shop", None),
    "shoplifting": ("take", {"mode": "shoplift"}, "supermarket", None),
    "stealing": ("take", {"mode": "steal"}, "park", None),
    "pickpocketing": ("take", {"mode": "pickpocket"}, "subway station", None),
    "purse_snatching": ("take", {"mode": "snatch"}, "street", None),
    "vandalism": ("act", {"mode": "vandal"}, "street", None),
    "trespassing": ("act", {"mode": "trespass"}, "construction site", None),
    "drug_dealing": ("take", {"mode": "deal"}, "alley", "evening"),
    # accidents
    "road_accident": ("traffic", {"mode": "crash"}, "highway", None),
    "pedestrian_hit": ("traffic", {"mode": "hit"}, "street", None),
    "bike_crash": ("traffic", {"mode": "bike_crash"}, "street", None),
    "falls": ("fall", {"mode": "trip"}, "street", None),
    "fall_from_height": ("fall", {"mode": "height"}, "construction site", None),
    "drowning": ("water", {"mode": "drown"}, "river", None),
    "escalator_accident": ("fall", {"mode": "escalator"}, "escalator", None),
    "workplace_accident": ("disaster", {"mode": "work"}, "warehouse", None),
    "railway_accident": ("traffic", {"mode": "train"}, "railway", None),
    "sports_injury": ("fall", {"mode": "injury"}, "stadium", None),
    # disasters
    "natural_disaster": ("disaster", {"mode": "storm"}, "park", None),
    "flood": ("disaster", {"mode": "flood"}, "street", None),
    "earthquake": ("disaster", {"mode": "quake"}, "office", None),
    "landslide": ("disaster", {"mode": "landslide"}, "mountain", None),
    "building_collapse": ("disaster", {"mode": "collapse"}, "street", None),
    # fire and explosion
    "fire": ("blaze", {"mode": "building"}, "street", None),
    "smoke": ("blaze", {"mode": "smoke"}, "warehouse", None),
    "explosion": ("blaze", {"mode": "explosion"}, "gas station", None),
    "wildfire": ("blaze", {"mode": "wildfire"}, "forest", None),
    "vehicle_fire": ("blaze", {"mode": "vehicle"}, "parking lot", None),
    # animals
    "animal_attack": ("animal", {"mode": "attack"}, "park", None),
    "animal_on_road": ("traffic", {"mode": "animal"}, "highway", None),
    "wild_animal_intrusion": ("animal", {"mode": "intrude"}, "home", None),
    # health
    "fainting": ("fall", {"mode": "faint"}, "supermarket", None),
    "medical_emergency": ("fall", {"mode": "medical"}, "subway station", None),
    "choking": ("fall", {"mode": "choke"}, "restaurant", None),
    # public order
    "riot": ("group", {"formation": "riot", "count": 5}, "street", None),
    "crowd_stampede": ("group", {"formation": "stampede", "count": 7}, "stadium", None),
    "loitering": ("stroll", {"pace": "pace"}, "parking lot", "evening"),
    "littering": ("take", {"mode": "litter"}, "park", None),
    "public_intoxication": ("fall", {"mode": "drunk"}, "street", "night"),
    "abandoned_object": ("take", {"mode": "abandon"}, "airport", None),
    "smoking_prohibited": ("idle", {"gesture": "smoke"}, "gas station", None),
    # social
    "startle_events": ("fall", {"mode": "startle"}, "park", None),
    "argument": ("fight", {"mode": "argue"}, "restaurant", None),
    "lost_child": ("stroll", {"pace": "wander", "role": "child", "arms": "clutch"}, "shop", None),
    # hazards
    "electrical_hazard": ("blaze", {"mode": "electric"}, "street", None),
    "falling_objects": ("disaster", {"mode": "falling"}, "street", None),
    "gas_leak": ("blaze", {"mode": "gas"}, "kitchen", None),
    "chemical_spill": ("blaze", {"mode": "chemical"}, "warehouse", None),
    "child_in_danger": ("water", {"mode": "child"}, "pool", None),
    "dangerous_stunt": ("act", {"mode": "stunt"}, "rooftop", None),
    # transport anomalies
    "jaywalking": ("traffic", {"mode": "jaywalk"}, "street", None),
    "wrong_way_driving": ("traffic", {"mode": "wrong_way"}, "highway", None),
    "dangerous_driving": ("traffic", {"mode": "reckless"}, "highway", None),
    "running_red_light": ("traffic", {"mode": "red_light"}, "street", None),
    "illegal_parking": ("traffic", {"mode": "parked"}, "street", None),
    # normal: daily life
    "standing": ("idle", {"gesture": "stand", "look_around": True}, "street", None),
    "walking": ("stroll", {"pace": "walk", "count": 2}, "park", None),
    "sitting": ("idle", {"gesture": "sit"}, "park", None),
    "eating": ("idle", {"gesture": "eat"}, "restaurant", None),
    "cooking": ("idle", {"gesture": "cook"}, "kitchen", None),
    "cleaning": ("idle", {"gesture": "clean"}, "living room", None),
    "reading": ("idle", {"gesture": "read"}, "home", None),
    "gardening": ("idle", {"gesture": "garden"}, "farm", None),
    "taking_photos": ("idle", {"gesture": "photo"}, "beach", None),
    "playing_with_pet": ("animal", {"mode": "pet"}, "park", None),
    "shopping": ("stroll", {"pace": "walk", "prop": "bag"}, "supermarket", None),
    # normal: social
    "talking": ("group", {"formation": "talk", "count": 2}, "office", None),
    "phone_call": ("idle", {"gesture": "phone"}, "street", None),
    "greeting": ("group", {"formation": "greet", "count": 2}, "airport", None),
    "queueing": ("group", {"formation": "queue", "count": 4}, "bank", None),
    "children_playing": ("group", {"formation": "play", "count": 4, "role": "child"}, "playground", None),
    "dancing": ("group", {"formation": "dance", "count": 3}, "living room", None),
    # normal: sports
    "playing_sports": ("group", {"formation": "sports", "count": 4}, "stadium", None),
    "exercising": ("idle", {"gesture": "exercise"}, "gym", None),
    "swimming": ("water", {"mode": "swim"}, "pool", None),
    "running": ("stroll", {"pace": "run"}, "park", "morning"),
    # normal: transport
    "cycling": ("traffic", {"mode": "ride", "kind": "bicycle"}, "street", None),
    "riding_motorcycle": ("traffic", {"mode": "ride", "kind": "motorcycle"}, "street", None),
    "driving": ("traffic", {"mode": "drive"}, "highway", None),
    "waiting_at_bus_stop": ("traffic", {"mode": "wait"}, "bus stop", None),
    "crossing_street": ("traffic", {"mode": "crossing"}, "street", None),
    "boarding_transit": ("traffic", {"mode": "board"}, "subway station", None),
    # normal: work
    "desk_work": ("idle", {"gesture": "desk"}, "office", None),
    "construction_work": ("idle", {"gesture": "hammer", "count": 2}, "construction site", None),
    "carrying_goods": ("stroll", {"pace": "walk", "prop": "box", "arms": "forward"}, "warehouse", None),
}

# For categories outside the map: candidate programs per group, one chosen by the id's hash.
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
    "violence": "street", "crime": "shop", "accident": "street", "disaster": "street", "fire_explosion": "street",
    "animal": "park", "health": "supermarket", "public_order": "street", "hazard": "warehouse", "social": "park",
    "daily_life": "home", "sports": "stadium", "transport": "highway", "work": "office",
}  # fmt: skip
ANOMALY_FALLBACK = [p for group in ("violence", "crime", "accident", "fire_explosion") for p in GROUP_PROGRAMS[group]]
NORMAL_FALLBACK = [p for group in ("daily_life", "social", "sports") for p in GROUP_PROGRAMS[group]]
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


def choose_program(category_id: str | None, group: str | None = None, is_anomaly: bool | None = None) -> ProgramChoice:
    """The motion program, default place/time and parameters of a category.

    Args:
        category_id: A taxonomy id (or any label); ``None`` plays a plain walk.
        group: The category's group, used for categories outside the built-in map.
        is_anomaly: Used when the group is unknown too, to stay on the right side of normal/anomaly.
    """
    if category_id is None:
        return ProgramChoice("stroll", "street", None, category_params("", {"pace": "walk"}))
    if category_id in CATEGORY_PROGRAMS:
        name, options, place, time = CATEGORY_PROGRAMS[category_id]
        return ProgramChoice(name, place, time, category_params(category_id, options))
    h = _digest(category_id)
    candidates = GROUP_PROGRAMS.get(group or "") or (NORMAL_FALLBACK if is_anomaly is False else ANOMALY_FALLBACK)
    name, options = candidates[h % len(candidates)]
    place = GROUP_PLACES.get(group or "", PLACES_BY_HASH[(h >> 5) % len(PLACES_BY_HASH)])
    return ProgramChoice(name, place, None, category_params(category_id, options))
