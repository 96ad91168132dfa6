"""Backgrounds of the procedural renderer: one layout and palette per place, lit by the time of day.
The data (the light of each hour, which painter draws each place with which colours) is
``svta/resources/places.yaml``; the painters are here.

A background is painted once per clip on a canvas wider than the frame (the camera pans over
it); :class:`Layout` tells the motion programs where the ground, the road lanes and water are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from svta.videos.draw import RGB, mix, shade

PLACES_DATA = "places.yaml"  # under svta/resources: the light of each time of day, and each place's painter


def _tuples(value: Any) -> Any:
    """YAML lists as tuples (colours are RGB tuples), recursively."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _load_places() -> dict[str, Any]:
    import yaml

    text = resources.files("svta").joinpath("resources").joinpath(PLACES_DATA).read_text(encoding="utf-8")
    return _tuples(yaml.safe_load(text))


_DATA = _load_places()  # read once, when the renderer is first imported
# time of day → (sky top, sky bottom, ground tint per channel, light on actors)
TIME_LIGHT: dict[str, tuple[RGB, RGB, tuple[float, float, float], float]] = {
    name: (t["sky_top"], t["sky_bottom"], t["tint"], t["light"]) for name, t in _DATA["times"].items()
}
DEFAULT_TIME: str = _DATA["default_time"]
INDOOR = frozenset(name for name, place in _DATA["places"].items() if place.get("indoor"))
LAMP_PLACES = frozenset(name for name, place in _DATA["places"].items() if place.get("lamps"))
PAN = 0.3  # the world is this much wider than the frame


@dataclass(frozen=True)
class Layout:
    """Where things stand in a background (scene y, 0 = top).

    Attributes:
        horizon: Top of the floor/ground; things standing here are far away.
        ground: The main line people walk on.
        lanes: Road lanes for vehicles (far, near), or None where there is no road.
        water: Surface of water in view (beach, river, pool), or None.
        indoor: Whether the place is a room.
        light: Multiplier on actor colours for the time of day.
    """

    horizon: float
    ground: float
    lanes: tuple[float, float] | None
    water: float | None
    indoor: bool
    light: float


class _Paint:
    """Fractional-coordinate drawing on the world image (x over the world width, y over the height)."""

    def __init__(self, w: int, h: int, rng: np.random.Generator):
        self.w, self.h, self.rng = w, h, rng
        self.img = Image.new("RGB", (w, h), (128, 128, 128))
        self.d = ImageDraw.Draw(self.img)

    def rect(self, x0: float, y0: float, x1: float, y1: float, c: RGB) -> None:
        self.d.rectangle((x0 * self.w, y0 * self.h, x1 * self.w, y1 * self.h), fill=c)

    def poly(self, pts: list[tuple[float, float]], c: RGB) -> None:
        self.d.polygon([(x * self.w, y * self.h) for x, y in pts], fill=c)

    def circle(self, x: float, y: float, r: float, c: RGB) -> None:
        cx, cy, rp = x * self.w, y * self.h, r * self.h
        self.d.ellipse((cx - rp, cy - rp, cx + rp, cy + rp), fill=c)

    def line(self, pts: list[tuple[float, float]], c: RGB, width: float) -> None:
        self.d.line([(x * self.w, y * self.h) for x, y in pts], fill=c, width=max(1, int(width * self.h)))

    def spread(self, n: int, jitter: float = 0.3) -> np.ndarray:
        """``n`` positions across the world with seeded jitter."""
        base = (np.arange(n) + 0.5) / n
        return base + (self.rng.random(n) - 0.5) * jitter / n


def _sky(p: _Paint, horizon: float, time: str) -> None:
    top, bottom, _, _ = TIME_LIGHT[time]
    rows = max(1, int(horizon * p.h) + 1)
    ramp = np.linspace(0, 1, rows)[:, None]
    colours = (np.array(top) * (1 - ramp) + np.array(bottom) * ramp).astype(np.uint8)
    sky = np.repeat(colours[:, None, :], p.w, axis=1)
    p.img.paste(Image.fromarray(sky), (0, 0))
    if time == "night":
        for x, y in zip(p.rng.random(25), p.rng.random(25) * horizon * 0.9):
            p.circle(float(x), float(y), 0.004, (230, 230, 255))
        p.circle(0.8, 0.1, 0.04, (240, 240, 215))


def _buildings(p: _Paint, y_top: float, y_base: float, palette: list[RGB]) -> None:
    x = 0.0
    while x < 1.0:
        w = 0.08 + 0.1 * p.rng.random()
        top = y_top + (y_base - y_top) * 0.6 * p.rng.random()
        colour = palette[int(p.rng.integers(len(palette)))]
        p.rect(x, top, x + w, y_base, colour)
        for wy in np.arange(top + 0.03, y_base - 0.04, 0.07):
            for wx in np.arange(x + 0.012, x + w - 0.02, 0.03):
                p.rect(wx, wy, wx + 0.014, wy + 0.035, shade(colour, 0.55))
        x += w + 0.005


def _trees(p: _Paint, y: float, n: int, size: float, green: RGB = (40, 120, 45)) -> None:
    for x in p.spread(n):
        s = size * (0.7 + 0.6 * p.rng.random())
        p.rect(x - 0.006, y - s * 0.9, x + 0.006, y, (95, 65, 35))
        p.circle(x, y - s, s * 0.55, shade(green, 0.8 + 0.4 * p.rng.random()))


def _road(p: _Paint, y0: float, y1: float, dashes: tuple[float, ...]) -> None:
    p.rect(0, y0, 1, y1, (72, 72, 78))
    for dy in dashes:
        for x in np.arange(0, 1, 0.06):
            p.rect(x, dy - 0.004, x + 0.03, dy + 0.004, (235, 235, 225))


def _paint_street(p: _Paint, opts: dict) -> tuple[float, float, tuple[float, float] | None, float | None]:
    _buildings(p, 0.08, 0.55, [(180, 120, 90), (200, 190, 170), (150, 160, 180), (210, 170, 120), (120, 110, 120)])
    p.rect(0, 0.55, 1, 0.72, (175, 175, 170))
    p.rect(0, 0.71, 1, 0.73, (120, 120, 115))
    _road(p, 0.73, 1.0, (0.865,))
    for x in p.spread(4):
        p.line([(x, 0.6), (x, 0.3)], (60, 60, 60), 0.01)
    if opts.get("bus_stop"):
        p.rect(0.45, 0.36, 0.62, 0.39, (40, 110, 160))
        p.rect(0.46, 0.39, 0.61, 0.62, (160, 200, 220))
    return 0.55, 0.69, (0.86, 0.97), None


def _paint_highway(p: _Paint, opts: dict) -> tuple:
    p.poly([(0, 0.42), (0.3, 0.3), (0.55, 0.4), (0.8, 0.28), (1, 0.42)], (90, 130, 90))
    p.rect(0, 0.42, 1, 0.52, (110, 160, 80))
    p.rect(0, 0.5, 1, 0.52, (170, 170, 175))
    _road(p, 0.52, 1.0, (0.68, 0.84))
    return 0.5, 0.56, (0.76, 0.93), None


def _paint_park(p: _Paint, opts: dict) -> tuple:
    p.rect(0, 0.38, 1, 1, (95, 170, 75))
    _trees(p, 0.5, 8, 0.14)
    p.poly([(0, 0.72), (1, 0.7), (1, 0.82), (0, 0.84)], (215, 195, 150))
    if opts.get("playground"):
        p.rect(0.1, 0.6, 0.3, 0.68, (230, 200, 120))
        p.line([(0.62, 0.66), (0.7, 0.45), (0.74, 0.45), (0.82, 0.66)], (220, 50, 50), 0.015)
        p.line([(0.2, 0.45), (0.2, 0.65)], (50, 80, 200), 0.012)
        p.line([(0.3, 0.45), (0.3, 0.65)], (50, 80, 200), 0.012)
        p.line([(0.2, 0.45), (0.3, 0.45)], (50, 80, 200), 0.012)
    else:
        p.rect(0.3, 0.62, 0.38, 0.64, (120, 80, 40))
    return 0.42, 0.78, None, None


def _paint_nature(p: _Paint, opts: dict) -> tuple:
    kind = opts["kind"]
    if kind == "forest":
        p.rect(0, 0.3, 1, 1, (70, 105, 50))
        _trees(p, 0.55, 14, 0.2, (30, 90, 35))
        _trees(p, 0.7, 7, 0.18, (25, 80, 30))
        return 0.5, 0.85, None, None
    if kind == "mountain":
        p.poly([(0, 0.65), (0.25, 0.15), (0.5, 0.5), (0.75, 0.1), (1, 0.6), (1, 1), (0, 1)], (120, 105, 90))
        p.poly([(0.2, 0.22), (0.25, 0.15), (0.3, 0.22)], (240, 240, 245))
        p.poly([(0.7, 0.17), (0.75, 0.1), (0.8, 0.17)], (240, 240, 245))
        p.rect(0, 0.7, 1, 1, (110, 140, 70))
        return 0.66, 0.86, None, None
    if kind == "farm":
        for i, y in enumerate(np.arange(0.45, 1.0, 0.07)):
            p.rect(0, y, 1, y + 0.07, (200, 180, 80) if i % 2 else (120, 160, 60))
        p.rect(0.7, 0.25, 0.9, 0.48, (170, 40, 35))
        p.poly([(0.68, 0.25), (0.8, 0.15), (0.92, 0.25)], (120, 30, 25))
        for x in np.arange(0, 1, 0.04):
            p.line([(x, 0.62), (x, 0.7)], (150, 110, 70), 0.006)
        p.line([(0, 0.65), (1, 0.65)], (150, 110, 70), 0.006)
        return 0.45, 0.8, None, None
    return _paint_water(p, {"kind": kind})


def _paint_water(p: _Paint, opts: dict) -> tuple:
    kind = opts["kind"]
    if kind == "beach":
        p.rect(0, 0.4, 1, 0.62, (40, 120, 190))
        p.rect(0, 0.62, 1, 1, (235, 215, 160))
        for x in np.arange(0, 1, 0.05):
            p.line([(x, 0.62), (x + 0.03, 0.615)], (245, 245, 245), 0.006)
        return 0.62, 0.82, None, 0.6
    if kind == "river":
        p.rect(0, 0.36, 1, 0.5, (90, 150, 70))
        _trees(p, 0.45, 9, 0.1)
        p.rect(0, 0.5, 1, 0.72, (50, 105, 165))
        p.rect(0, 0.72, 1, 1, (110, 160, 80))
        return 0.72, 0.88, None, 0.5
    # pool: blue tiles, lane ropes, deck
    p.rect(0, 0, 1, 0.45, (225, 230, 235))
    p.rect(0, 0.45, 1, 0.55, (200, 195, 185))
    p.rect(0, 0.55, 1, 1, (60, 160, 215))
    for y in (0.68, 0.82):
        p.line([(0, y), (1, y)], (240, 60, 60), 0.006)
    return 0.55, 0.53, None, 0.56


def _paint_room(p: _Paint, opts: dict) -> tuple:
    wall, floor, furniture = (
        opts.get("wall", (220, 215, 200)),
        opts.get("floor", (170, 150, 120)),
        opts.get("furniture"),
    )
    p.rect(0, 0, 1, 0.62, wall)
    p.rect(0, 0.62, 1, 1, floor)
    p.rect(0, 0.6, 1, 0.63, shade(wall, 0.7))
    for x in np.arange(0, 1, 0.08):  # floor boards / tiles
        p.line([(x, 0.63), (x - 0.05, 1)], shade(floor, 0.88), 0.004)
    window = opts.get("window", True)
    if window:
        for x in p.spread(2, 0.6):
            p.rect(x - 0.06, 0.12, x + 0.06, 0.4, (160, 200, 235))
            p.line([(x, 0.12), (x, 0.4)], shade(wall, 0.6), 0.01)
    _FURNITURE.get(furniture or "", _no_furniture)(p)
    return 0.62, 0.86, None, None


def _furnish_shelves(p: _Paint, rows: int = 4) -> None:
    for x in p.spread(5, 0.1):
        p.rect(x - 0.07, 0.15, x + 0.07, 0.66, (150, 130, 110))
        for i in range(rows):
            y = 0.2 + i * 0.45 / rows
            for k in range(5):
                colour = tuple(int(c) for c in p.rng.integers(60, 250, 3))
                p.rect(x - 0.065 + k * 0.027, y, x - 0.043 + k * 0.027, y + 0.06, colour)  # type: ignore[arg-type]


def _furnish_kitchen(p: _Paint) -> None:
    p.rect(0, 0.45, 1, 0.66, (235, 235, 240))
    p.rect(0, 0.43, 1, 0.46, (90, 90, 95))
    p.rect(0.55, 0.38, 0.7, 0.43, (40, 40, 45))
    for x in (0.58, 0.66):
        p.circle(x, 0.4, 0.015, (200, 60, 30))
    for x in np.arange(0.02, 1, 0.1):
        p.rect(x, 0.08, x + 0.08, 0.25, (230, 225, 215))


def _furnish_tables(p: _Paint) -> None:
    for x in p.spread(4):
        p.rect(x - 0.06, 0.58, x + 0.06, 0.61, (200, 40, 40))
        p.rect(x - 0.005, 0.61, x + 0.005, 0.7, (80, 50, 30))


def _furnish_desks(p: _Paint) -> None:
    for x in p.spread(4):
        p.rect(x - 0.07, 0.56, x + 0.07, 0.59, (150, 120, 90))
        p.rect(x - 0.03, 0.45, x + 0.03, 0.53, (30, 30, 35))
        p.rect(x - 0.026, 0.46, x + 0.026, 0.52, (90, 160, 220))
        p.rect(x - 0.065, 0.59, x - 0.055, 0.7, (90, 70, 50))


def _furnish_home(p: _Paint, sofa: bool = False) -> None:
    if sofa:
        p.rect(0.15, 0.5, 0.45, 0.66, (110, 60, 120))
        p.rect(0.15, 0.45, 0.45, 0.52, (95, 50, 105))
        p.rect(0.65, 0.35, 0.85, 0.5, (20, 20, 25))
    else:
        p.rect(0.7, 0.2, 0.8, 0.62, (120, 80, 45))
        p.rect(0.2, 0.5, 0.35, 0.65, (150, 110, 70))


def _furnish_lockers(p: _Paint) -> None:
    for x in np.arange(0, 1, 0.05):
        p.rect(x, 0.2, x + 0.045, 0.6, (70, 120, 170))


def _furnish_beds(p: _Paint) -> None:
    for x in p.spread(3):
        p.rect(x - 0.09, 0.52, x + 0.09, 0.62, (250, 250, 250))
    p.rect(0.48, 0.1, 0.52, 0.22, (220, 40, 40))  # a red cross
    p.rect(0.44, 0.14, 0.56, 0.18, (220, 40, 40))


def _furnish_counter(p: _Paint) -> None:
    p.rect(0, 0.45, 1, 0.66, (170, 140, 100))
    for x in np.arange(0.05, 1, 0.18):
        p.rect(x, 0.2, x + 0.12, 0.45, (200, 225, 235))


def _furnish_gym(p: _Paint) -> None:
    for x in p.spread(4):  # barbells
        p.rect(x - 0.05, 0.55, x + 0.05, 0.58, (40, 40, 40))
        p.circle(x - 0.05, 0.565, 0.03, (30, 30, 30))
        p.circle(x + 0.05, 0.565, 0.03, (30, 30, 30))


def _furnish_racks(p: _Paint) -> None:
    for x in p.spread(4, 0.1):
        p.rect(x - 0.09, 0.1, x + 0.09, 0.64, (60, 90, 160))
        for y in (0.2, 0.35, 0.5):
            p.rect(x - 0.08, y, x + 0.08, y + 0.1, (170, 125, 70))


def _furnish_escalator(p: _Paint) -> None:
    p.poly([(0.3, 0.66), (0.45, 0.66), (0.85, 0.15), (0.7, 0.15)], (120, 125, 135))
    for k in range(12):
        y = 0.66 - k * 0.042
        x = 0.3 + k * 0.0333
        p.line([(x, y), (x + 0.15, y)], (80, 80, 90), 0.005)


def _furnish_airport(p: _Paint) -> None:
    p.rect(0, 0.1, 1, 0.5, (160, 200, 235))  # the terminal's glass wall
    for x in np.arange(0, 1, 0.1):
        p.line([(x, 0.1), (x, 0.5)], (90, 100, 110), 0.008)
    p.poly([(0.3, 0.4), (0.6, 0.38), (0.62, 0.42), (0.3, 0.43)], (240, 240, 240))


def _no_furniture(p: _Paint) -> None:
    return None


_FURNITURE: dict[str, Callable[[_Paint], None]] = {
    "shelves": lambda p: _furnish_shelves(p, 4),
    "racks_few": lambda p: _furnish_shelves(p, 2),
    "kitchen": _furnish_kitchen,
    "tables": _furnish_tables,
    "desks": _furnish_desks,
    "home": lambda p: _furnish_home(p, False),
    "sofa": lambda p: _furnish_home(p, True),
    "lockers": _furnish_lockers,
    "beds": _furnish_beds,
    "counter": _furnish_counter,
    "gym": _furnish_gym,
    "racks": _furnish_racks,
    "escalator": _furnish_escalator,
    "airport": _furnish_airport,
}


def _paint_transit(p: _Paint, opts: dict) -> tuple:
    kind = opts["kind"]
    if kind == "train":
        p.rect(0, 0, 1, 1, (200, 205, 200))
        for x in np.arange(0.02, 1, 0.16):
            p.rect(x, 0.15, x + 0.12, 0.42, (120, 170, 120))
        p.rect(0, 0.5, 1, 0.62, (40, 90, 160))
        p.rect(0, 0.62, 1, 1, (110, 110, 115))
        for x in np.arange(0.08, 1, 0.16):
            p.line([(x, 0.0), (x, 0.62)], (190, 190, 80), 0.01)
        return 0.62, 0.88, None, None
    if kind == "station":
        p.rect(0, 0, 1, 0.55, (225, 225, 215))
        for x in np.arange(0, 1, 0.04):
            p.line([(x, 0), (x, 0.55)], (200, 200, 190), 0.003)
        p.rect(0.3, 0.15, 0.45, 0.22, (30, 80, 160))
        p.rect(0, 0.55, 1, 0.8, (150, 150, 150))
        p.rect(0, 0.8, 1, 0.82, (245, 210, 30))
        p.rect(0, 0.82, 1, 1, (60, 55, 50))
        for y in (0.88, 0.96):
            p.line([(0, y), (1, y)], (170, 170, 175), 0.008)
        return 0.55, 0.76, (0.95, 0.95), None
    # railway: tracks across the ground with sleepers, a crossing barrier
    p.rect(0, 0.42, 1, 1, (125, 150, 85))
    p.rect(0, 0.7, 1, 0.9, (120, 110, 100))
    for x in np.arange(0, 1, 0.025):
        p.rect(x, 0.74, x + 0.01, 0.88, (100, 70, 40))
    for y in (0.76, 0.86):
        p.line([(0, y), (1, y)], (185, 185, 190), 0.008)
    p.line([(0.42, 0.7), (0.42, 0.5)], (60, 60, 60), 0.01)
    p.line([(0.42, 0.52), (0.6, 0.52)], (230, 30, 30), 0.012)
    return 0.42, 0.66, (0.86, 0.86), None


def _paint_parking(p: _Paint) -> tuple:
    _buildings(p, 0.15, 0.42, [(150, 150, 160), (120, 130, 140)])
    p.rect(0, 0.42, 1, 1, (85, 85, 90))
    for x in np.arange(0, 1, 0.07):
        p.line([(x, 0.5), (x - 0.03, 0.62)], (235, 235, 230), 0.006)
    for x in p.spread(5, 0.4):
        p.rect(x - 0.03, 0.5, x + 0.03, 0.58, tuple(int(c) for c in p.rng.integers(60, 230, 3)))  # type: ignore[arg-type]
    return 0.5, 0.74, (0.88, 0.97), None


def _paint_gas_station(p: _Paint) -> tuple:
    p.rect(0, 0.42, 1, 1, (150, 150, 150))
    p.rect(0.1, 0.18, 0.9, 0.25, (220, 40, 40))
    for x in (0.25, 0.5, 0.75):
        p.line([(x, 0.25), (x, 0.6)], (200, 200, 200), 0.012)
        p.rect(x - 0.03, 0.48, x + 0.03, 0.62, (235, 235, 235))
    return 0.42, 0.72, (0.86, 0.96), None


def _paint_construction(p: _Paint) -> tuple:
    p.rect(0, 0.45, 1, 1, (170, 135, 90))
    for x in np.arange(0.05, 0.4, 0.06):
        p.line([(x, 0.15), (x, 0.55)], (150, 150, 155), 0.008)
    for y in np.arange(0.2, 0.55, 0.1):
        p.line([(0.05, y), (0.35, y)], (150, 150, 155), 0.008)
    p.line([(0.75, 0.6), (0.75, 0.08), (0.98, 0.08)], (240, 190, 20), 0.014)
    for x in np.arange(0.4, 0.7, 0.04):
        p.rect(x, 0.58, x + 0.02, 0.62, (240, 140, 0))
    return 0.45, 0.8, None, None


def _paint_stadium(p: _Paint) -> tuple:
    p.rect(0, 0.05, 1, 0.4, (110, 110, 120))
    for y in np.arange(0.08, 0.38, 0.04):
        for x in np.arange(0.0, 1, 0.015):
            p.circle(x, y, 0.006, tuple(int(c) for c in p.rng.integers(60, 255, 3)))  # type: ignore[arg-type]
    p.rect(0, 0.4, 1, 1, (60, 150, 60))
    p.line([(0, 0.55), (1, 0.55)], (240, 240, 240), 0.006)
    p.line([(0.5, 0.4), (0.5, 1)], (240, 240, 240), 0.006)
    return 0.45, 0.78, None, None


def _paint_rooftop(p: _Paint) -> tuple:
    _buildings(p, 0.45, 0.75, [(120, 120, 140), (100, 110, 120), (140, 130, 120)])
    p.rect(0, 0.75, 1, 1, (150, 145, 140))
    p.rect(0, 0.74, 1, 0.76, (90, 90, 90))
    return 0.75, 0.76, None, None


def _paint_alley(p: _Paint) -> tuple:
    """Brick walls close on both sides, a dumpster."""
    p.rect(0, 0, 1, 0.7, (140, 70, 50))
    for y in np.arange(0, 0.7, 0.035):
        p.line([(0, y), (1, y)], (110, 55, 40), 0.004)
    p.rect(0.6, 0.5, 0.75, 0.7, (40, 90, 60))
    p.rect(0, 0.7, 1, 1, (70, 70, 72))
    return 0.7, 0.88, None, None


_LOTS = {
    "parking": _paint_parking,
    "gas": _paint_gas_station,
    "construction": _paint_construction,
    "stadium": _paint_stadium,
    "rooftop": _paint_rooftop,
}


def _paint_lot(p: _Paint, opts: dict) -> tuple:
    """Open-air places of one kind (``opts["kind"]``); anything else is an alley."""
    return _LOTS.get(opts["kind"], _paint_alley)(p)


_PAINTERS = {
    "street": _paint_street,
    "highway": _paint_highway,
    "park": _paint_park,
    "nature": _paint_nature,
    "water": _paint_water,
    "room": _paint_room,
    "transit": _paint_transit,
    "lot": _paint_lot,
}
_PLACE_KEYS = ("painter", "indoor", "lamps")  # the rest of a place's entry are its painter's options
# place → (painter, options), from the data file
PLACE_STYLES: dict[str, tuple] = {
    name: (_PAINTERS[place["painter"]], {k: v for k, v in place.items() if k not in _PLACE_KEYS})
    for name, place in _DATA["places"].items()
}


def paint_place(
    place: str, time: str | None, width: int, height: int, rng: np.random.Generator
) -> tuple[np.ndarray, Layout]:
    """Paint the background of ``place`` at ``time`` of day.

    Returns:
        The world image ``[height, width * (1 + PAN), 3]`` uint8 and its :class:`Layout`.
    """
    time = time if time in TIME_LIGHT else DEFAULT_TIME
    painter, opts = PLACE_STYLES.get(place, PLACE_STYLES["street"])
    p = _Paint(round(width * (1 + PAN)), height, rng)
    _sky(p, 0.7, time)
    sky_only = np.asarray(p.img).copy()
    horizon, ground, lanes, water = painter(p, opts)
    indoor = place in INDOOR
    arr = np.asarray(p.img).astype(np.float32)
    _, _, tint, light = TIME_LIGHT[time]
    if indoor:  # rooms are lit; only the windows and a little of the mood follow the time of day
        tint = tuple(0.55 + 0.45 * t for t in tint)  # type: ignore[assignment]
        light = 0.5 + 0.5 * light
        arr *= np.array(tint, dtype=np.float32)
    else:  # the sky keeps its own colours; everything painted over it takes the light of the hour
        painted = np.any(arr != sky_only, axis=2)
        arr[painted] *= np.array(tint, dtype=np.float32)
    image = np.clip(arr, 0, 255).astype(np.uint8)
    if time in ("night", "evening") and place in LAMP_PLACES:
        image = _lamps(image, rng, horizon)
    return image, Layout(horizon, ground, lanes, water, indoor, light)


def _lamps(image: np.ndarray, rng: np.random.Generator, horizon: float) -> np.ndarray:
    """Street lamps and lit windows after dark."""
    img = Image.fromarray(image)
    d = ImageDraw.Draw(img)
    h, w = image.shape[:2]
    for x in (np.arange(4) + 0.5) / 4 * w:
        y = horizon * h * 0.55
        for k, colour in enumerate(((120, 100, 40), (200, 170, 80), (255, 235, 160))):
            r = h * (0.05 - k * 0.015)
            d.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    for _ in range(14):
        x, y = rng.random() * w, rng.random() * horizon * h * 0.9 + 0.1 * h
        d.rectangle((x, y, x + 0.012 * w, y + 0.03 * h), fill=mix((255, 220, 120), (255, 255, 200), rng.random()))
    return np.asarray(img)
