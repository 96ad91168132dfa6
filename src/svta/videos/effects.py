"""Visual effects of the procedural renderer: fire, smoke, sparks, debris, water, rain, flashes.

Particle systems are stateless: each particle's birth phase and velocity are drawn once per clip,
and its position at time ``t`` is a closed-form function, so any frame renders on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from svta.videos.draw import RGB, Canvas, mix

FIRE_COLOURS: tuple[RGB, ...] = ((255, 245, 150), (255, 190, 40), (245, 110, 20), (200, 40, 15))


@dataclass
class Particles:
    """A seeded particle set: per-particle phase, horizontal offset, speed and size (all in 0..1)."""

    phase: np.ndarray
    offset: np.ndarray
    speed: np.ndarray
    size: np.ndarray

    @classmethod
    def make(cls, rng: np.random.Generator, n: int) -> Particles:
        return cls(rng.random(n), rng.random(n) * 2 - 1, 0.6 + 0.8 * rng.random(n), 0.5 + rng.random(n))


def _blend(canvas: Canvas, mask: Image.Image, colour: RGB) -> None:
    """Paint ``colour`` onto the canvas through an 8-bit opacity mask (C speed, no Python loops)."""
    canvas.image.paste(Image.new("RGB", canvas.image.size, colour), (0, 0), mask)


def _mask(canvas: Canvas) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    mask = Image.new("L", canvas.image.size, 0)
    return mask, ImageDraw.Draw(mask)


def fire(
    canvas: Canvas, p: Particles, x: float, y: float, width: float, height: float, t: float, strength: float = 1.0
) -> None:
    """Flames rising from a base centred at ``(x, y)``; ``strength`` 0..1 grows the fire."""
    if strength <= 0:
        return
    aspect = canvas.H / canvas.W
    age = (p.phase + t * 3.0 * p.speed) % 1.0
    n = max(1, int(len(age) * min(1.0, strength)))
    for i in range(n):
        a = age[i]
        px = x + p.offset[i] * width * aspect * 0.5 * (1 - 0.6 * a) + 0.01 * math.sin(9 * t + i)
        py = y - a * height * strength
        r = max(0.004, 0.05 * p.size[i] * (1 - a) * (0.5 + 0.5 * strength) * max(width, 0.12) * 3)
        colour = FIRE_COLOURS[min(3, int(a * 4))]
        canvas.circle(px, py, r, colour, lit=False)


def smoke(
    canvas: Canvas,
    p: Particles,
    x: float,
    y: float,
    spread: float,
    rise: float,
    t: float,
    colour: RGB = (110, 110, 115),
    opacity: float = 0.75,
    drift: float = 0.15,
) -> None:
    """Translucent billowing smoke (or dust, or gas) from ``(x, y)``, growing as it rises."""
    mask, draw = _mask(canvas)
    aspect = canvas.H / canvas.W
    age = (p.phase + t * 1.2 * p.speed) % 1.0
    for i in range(len(age)):
        a = age[i]
        sx, sy = canvas.px(x + (p.offset[i] * spread * (0.3 + a) + drift * a) * aspect, y - a * rise)
        r = (0.03 + 0.12 * a) * p.size[i] * canvas.H * max(spread, 0.2) * 2
        alpha = int(255 * opacity * (1 - a) ** 0.7)
        draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=alpha)
    _blend(canvas, mask, colour)


def haze(canvas: Canvas, colour: RGB, opacity: float) -> None:
    """A uniform veil over the whole frame (smoke-filled air, fog, dust)."""
    if opacity <= 0:
        return
    canvas.image = Image.blend(canvas.image, Image.new("RGB", canvas.image.size, colour), min(1.0, opacity))
    canvas.draw = ImageDraw.Draw(canvas.image)


def flash(canvas: Canvas, strength: float, colour: RGB = (255, 250, 225)) -> None:
    """Whole-frame flash (gunfire, explosion, lightning, camera flash)."""
    haze(canvas, colour, strength)


def glow(canvas: Canvas, x: float, y: float, radius: float, colour: RGB, strength: float = 1.0) -> None:
    """A soft round light: concentric discs of rising opacity."""
    if strength <= 0 or radius <= 0:
        return
    mask, draw = _mask(canvas)
    cx, cy = canvas.px(x, y)
    for k in range(6, 0, -1):
        r = radius * canvas.H * k / 6
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(255 * strength * (1 - (k - 1) / 6)))
    _blend(canvas, mask, colour)


def burst(canvas: Canvas, x: float, y: float, radius: float, colour: RGB, points: int = 7) -> None:
    """A comic-style star burst marking an impact."""
    aspect = canvas.H / canvas.W
    pts = []
    for k in range(2 * points):
        r = radius if k % 2 == 0 else radius * 0.45
        a = k * math.pi / points
        pts.append((x + math.cos(a) * r * aspect, y + math.sin(a) * r))
    canvas.polygon(pts, colour, lit=False)


def fireball(canvas: Canvas, x: float, y: float, radius: float) -> None:
    """An explosion's fireball: layered discs from dark red outside to white-yellow core."""
    for k, colour in enumerate(((170, 30, 10), (240, 90, 15), (255, 170, 30), (255, 240, 170))):
        canvas.circle(x, y, radius * (1 - k * 0.22), colour, lit=False)


def debris(
    canvas: Canvas,
    p: Particles,
    x: float,
    y: float,
    t: float,
    speed: float,
    colour: RGB,
    gravity: float = 1.2,
    size: float = 0.012,
) -> None:
    """Fragments thrown out from ``(x, y)`` at ``t=0`` and falling under gravity."""
    if t <= 0:
        return
    aspect = canvas.H / canvas.W
    angle = p.phase * math.pi  # upward half-plane
    for i in range(len(angle)):
        v = speed * p.speed[i]
        dx = math.cos(angle[i]) * v * t
        dy = -math.sin(angle[i]) * v * t + 0.5 * gravity * t * t
        canvas.rect(x + dx * aspect - size, y + dy - size, x + dx * aspect + size, y + dy + size, colour)


def sparks(canvas: Canvas, rng_seed: int, x: float, y: float, length: float, count: int, frame: int) -> None:
    """Bright sparks flying from ``(x, y)``, re-drawn at random each frame (seeded by frame)."""
    rng = np.random.default_rng(rng_seed + frame * 7919)
    aspect = canvas.H / canvas.W
    for _ in range(count):
        a = rng.random() * 2 * math.pi
        r0, r1 = rng.random() * length * 0.4, length * (0.5 + rng.random() * 0.5)
        pts = [
            (x + math.cos(a) * r0 * aspect, y + math.sin(a) * r0),
            (x + math.cos(a) * r1 * aspect, y + math.sin(a) * r1),
        ]
        canvas.line(pts, (255, 250, 170) if rng.random() < 0.6 else (120, 200, 255), 0.006, lit=False)


def water(
    canvas: Canvas,
    level: float,
    t: float,
    colour: RGB = (40, 95, 170),
    opacity: float = 0.82,
    wave: float = 0.012,
    x0: float = -0.3,
    x1: float = 1.3,
) -> None:
    """Water filling the frame below ``level`` (scene y), with a moving wave on top."""
    if level >= 1.05:
        return
    mask, draw = _mask(canvas)
    xs = np.linspace(x0, x1, 24)
    top = [canvas.px(x, level + wave * math.sin(12 * x + 9 * t)) for x in xs]
    bottom = [canvas.px(x1, 1.2), canvas.px(x0, 1.2)]
    draw.polygon(top + bottom, fill=int(255 * opacity))
    _blend(canvas, mask, colour)
    crest = [(x, level + wave * math.sin(12 * x + 9 * t)) for x in xs]
    canvas.line(crest, mix(colour, (255, 255, 255), 0.5), 0.006)


def puddle(canvas: Canvas, x: float, y: float, radius: float, colour: RGB, opacity: float = 0.85) -> None:
    """A flat spreading pool of liquid on the ground."""
    mask, draw = _mask(canvas)
    cx, cy = canvas.px(x, y)
    rx, ry = radius * canvas.H, radius * canvas.H * 0.25
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=int(255 * opacity))
    _blend(canvas, mask, colour)


def rain(canvas: Canvas, p: Particles, t: float, slant: float = 0.05, colour: RGB = (190, 200, 220)) -> None:
    """Falling rain streaks (``slant`` > 0.3 reads as a storm wind)."""
    for i in range(len(p.phase)):
        x = (p.offset[i] + 1) / 2 * 1.3 - 0.15
        y = (p.phase[i] + t * 2.5 * p.speed[i]) % 1.0 * 1.1 - 0.05
        canvas.line([(x, y), (x + slant * 0.06, y + 0.06)], colour, 0.004, lit=False)


def snow(canvas: Canvas, p: Particles, t: float) -> None:
    for i in range(len(p.phase)):
        x = (p.offset[i] + 1) / 2 * 1.3 - 0.15 + 0.02 * math.sin(6 * t + i)
        y = (p.phase[i] + t * 0.6 * p.speed[i]) % 1.0
        canvas.circle(x, y, 0.006 * p.size[i], (245, 245, 250), lit=False)


def crack(canvas: Canvas, x: float, y0: float, y1: float, seed: int, width: float = 0.01) -> None:
    """A jagged crack line (walls, ground) from ``y0`` to ``y1``."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(y0, y1, 7)
    pts = [(x + (rng.random() - 0.5) * 0.04, y) for y in ys]
    canvas.line(pts, (25, 20, 20), width)
