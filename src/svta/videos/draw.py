"""Drawing primitives of the procedural renderer: a camera-aware canvas and the figures it draws
(people in poses, animals, vehicles, props). Everything is vector drawing with Pillow; a frame
costs tens of shape calls, never a per-pixel Python loop.

Scene units: ``x`` in [0, 1] spans the frame width when the camera is centred, ``y`` in [0, 1]
runs top to bottom; sizes are fractions of the frame height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
Point = tuple[float, float]

SKIN_TONES: tuple[RGB, ...] = ((241, 200, 170), (224, 172, 128), (190, 135, 95), (141, 90, 60), (98, 62, 40))
HAIR: tuple[RGB, ...] = ((30, 22, 18), (70, 45, 25), (150, 110, 60), (20, 20, 20))
TROUSERS: tuple[RGB, ...] = ((40, 50, 80), (50, 50, 55), (70, 60, 50), (30, 35, 45))


def shade(colour: RGB, factor: float) -> RGB:
    """``colour`` scaled by ``factor`` (darker < 1 < brighter), clipped to 0..255."""
    return tuple(int(max(0, min(255, c * factor))) for c in colour)  # type: ignore[return-value]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours: ``t=0`` gives ``a``, ``t=1`` gives ``b``."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


class Canvas:
    """One frame: a crop of the (wider) background through the camera, drawn on with Pillow.

    Args:
        background: The world image ``[H, W + pan, 3]`` uint8.
        width: Frame width in pixels.
        height: Frame height in pixels.
        camera: Horizontal camera position in pixels into the world (0 .. pan).
        shake: Extra ``(dx, dy)`` offset in pixels (handheld jitter, earthquakes).
        light: Multiplier applied to actor colours (night scenes are darker, effects are not).
    """

    def __init__(self, background: np.ndarray, width: int, height: int, camera: float, shake: Point, light: float):
        self.W, self.H = width, height
        pan = background.shape[1] - width
        left = round(min(max(camera, 0), pan))
        self.image = Image.fromarray(background[:, left : left + width])
        self.draw = ImageDraw.Draw(self.image)
        # scene x = 0.5 sits at the frame centre when the camera is centred
        self.offset_x = (pan / 2 - left) + shake[0]
        self.offset_y = shake[1]
        self.light = light

    def px(self, x: float, y: float) -> Point:
        """Scene → pixel coordinates."""
        return (x * self.W + self.offset_x, y * self.H + self.offset_y)

    def size(self, s: float, minimum: float = 1.0) -> int:
        """A scene length (fraction of frame height) in whole pixels, at least ``minimum``."""
        return int(max(minimum, round(s * self.H)))

    def lit(self, colour: RGB) -> RGB:
        return shade(colour, self.light) if self.light != 1.0 else colour

    def line(self, points: list[Point], colour: RGB, width: float, lit: bool = True) -> None:
        pts = [self.px(x, y) for x, y in points]
        self.draw.line(pts, fill=self.lit(colour) if lit else colour, width=self.size(width), joint="curve")

    def circle(self, x: float, y: float, r: float, colour: RGB, lit: bool = True, outline: RGB | None = None) -> None:
        cx, cy = self.px(x, y)
        rp = max(0.7, r * self.H)
        fill = self.lit(colour) if lit else colour
        self.draw.ellipse((cx - rp, cy - rp, cx + rp, cy + rp), fill=fill, outline=outline)

    def ellipse(self, x: float, y: float, rx: float, ry: float, colour: RGB, lit: bool = True) -> None:
        cx, cy = self.px(x, y)
        rxp, ryp = max(0.7, rx * self.H), max(0.7, ry * self.H)
        self.draw.ellipse((cx - rxp, cy - ryp, cx + rxp, cy + ryp), fill=self.lit(colour) if lit else colour)

    def polygon(self, points: list[Point], colour: RGB, lit: bool = True) -> None:
        self.draw.polygon([self.px(x, y) for x, y in points], fill=self.lit(colour) if lit else colour)

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: RGB, lit: bool = True) -> None:
        (a, b), (c, d) = self.px(x0, y0), self.px(x1, y1)
        self.draw.rectangle((min(a, c), min(b, d), max(a, c), max(b, d)), fill=self.lit(colour) if lit else colour)

    def ring(self, x: float, y: float, r: float, colour: RGB, width: float) -> None:
        cx, cy = self.px(x, y)
        rp = max(1.0, r * self.H)
        self.draw.ellipse((cx - rp, cy - rp, cx + rp, cy + rp), outline=self.lit(colour), width=self.size(width))

    def to_array(self) -> np.ndarray:
        return np.asarray(self.image)


@dataclass
class Pose:
    """A person's pose; angles in radians.

    Attributes:
        phase: Walk-cycle angle (legs and arms swing with ``sin(phase)``).
        stride: 0 standing, ~0.5 walking, 1 running.
        lean: Whole-body rotation about the feet toward the facing side; ±pi/2 is lying down.
        arms: ``swing``, ``down``, ``up``, ``forward``, ``punch``, ``throw``, ``phone``, ``clutch``,
            ``wave``, ``reach`` (one arm out low), ``spread``.
        amount: Progress 0..1 of a punch/throw/wave.
        crouch: 0 upright .. 1 squatting or kneeling.
        sit: Seated (thighs horizontal).
        lift: Raise the figure by this fraction of its height (jumps, being carried).
    """

    phase: float = 0.0
    stride: float = 0.0
    lean: float = 0.0
    arms: str = "swing"
    amount: float = 0.0
    crouch: float = 0.0
    sit: bool = False
    lift: float = 0.0


@dataclass
class Look:
    """How a person looks: the caption's clothing colour and the seeded rest."""

    shirt: RGB
    trousers: RGB
    skin: RGB
    hair: RGB
    kind: str = "person"  # man, woman, child, elderly, person, police, worker
    dress: bool = False

    @property
    def scale(self) -> float:
        return 0.62 if self.kind == "child" else 1.0


def _limb(origin: Point, a1: float, l1: float, a2: float, l2: float) -> tuple[Point, Point]:
    """Two-segment limb from ``origin``; angles from straight down, positive toward the facing side."""
    mid = (origin[0] + l1 * math.sin(a1), origin[1] - l1 * math.cos(a1))
    end = (mid[0] + l2 * math.sin(a2), mid[1] - l2 * math.cos(a2))
    return mid, end


def _arm_angles(pose: Pose, swing: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """(upper, fore) angles of the front and back arm for the pose's arm mode."""
    k = pose.amount
    modes = {
        "swing": ((-swing, -swing + 0.3), (swing, swing + 0.3)),
        "down": ((0.15, 0.2), (-0.1, 0.0)),
        "up": ((2.7, 2.9), (-2.7, -2.9)),
        "forward": ((1.35, 1.5), (1.2, 1.45)),
        "punch": ((0.6 + 1.0 * k, 0.9 + 0.7 * k), (0.9, 2.4)),
        "throw": ((-2.4 + 4.2 * k, -2.0 + 3.8 * k), (0.4, 0.6)),
        "phone": ((0.5, 2.9), (0.1, 0.2)),
        "clutch": ((0.4, 2.2), (0.5, 2.0)),
        "wave": ((2.5 + 0.35 * math.sin(k * 12), 2.8), (0.1, 0.2)),
        "reach": ((1.1 + 0.3 * k, 1.2 + 0.3 * k), (0.2, 0.3)),
        "spread": ((1.7, 1.7), (-1.7, -1.7)),
    }
    return modes.get(pose.arms, modes["down"])


def person_joints(pose: Pose) -> dict[str, Point]:
    """Joint positions of a unit-height person in local coordinates (u toward facing, v up)."""
    swing = pose.stride * 0.55 * math.sin(pose.phase)
    hip_h = 0.5 * (1 - 0.4 * pose.crouch) if not pose.sit else 0.27
    hip = (0.0, hip_h)
    if pose.sit:
        legs = [_limb(hip, math.pi / 2, 0.24, 0.0, 0.24), _limb(hip, math.pi / 2 - 0.15, 0.24, 0.1, 0.24)]
    else:
        bend = 0.9 * pose.crouch
        legs = [
            _limb(hip, swing + bend, 0.26, swing - bend - 0.25 * max(0, -swing), 0.26),
            _limb(hip, -swing + bend, 0.26, -swing - bend - 0.25 * max(0, swing), 0.26),
        ]
    torso_lean = 0.18 * pose.stride + 0.35 * pose.crouch
    shoulder = (hip[0] + 0.3 * math.sin(torso_lean), hip[1] + 0.3 * math.cos(torso_lean))
    head = (shoulder[0] + 0.12 * math.sin(torso_lean), shoulder[1] + 0.12 * math.cos(torso_lean))
    (f1, f2), (b1, b2) = _arm_angles(pose, swing)
    front = _limb(shoulder, f1, 0.17, f2, 0.16)
    back = _limb(shoulder, b1, 0.17, b2, 0.16)
    return {
        "hip": hip,
        "knee_f": legs[0][0],
        "foot_f": legs[0][1],
        "knee_b": legs[1][0],
        "foot_b": legs[1][1],
        "shoulder": shoulder,
        "head": head,
        "elbow_f": front[0],
        "hand_f": front[1],
        "elbow_b": back[0],
        "hand_b": back[1],
    }


def _to_scene(canvas: Canvas, x: float, y: float, h: float, facing: int, lean: float, lift: float):
    cos_l, sin_l = math.cos(lean), math.sin(lean)
    aspect = canvas.H / canvas.W

    def place(p: Point) -> Point:
        u, v = p
        ur, vr = u * cos_l + v * sin_l, -u * sin_l + v * cos_l
        return (x + facing * ur * h * aspect, y - (vr + lift) * h)

    return place


def draw_person(
    canvas: Canvas, x: float, y: float, height: float, look: Look, pose: Pose, facing: int = 1
) -> dict[str, Point]:
    """Draw a person standing (feet) at ``(x, y)``; returns joint positions in scene units.

    Args:
        height: Standing height as a fraction of the frame height (children are drawn smaller).
        facing: +1 faces right, -1 faces left.
    """
    h = height * look.scale
    lean = pose.lean + (0.22 if look.kind == "elderly" and abs(pose.lean) < 0.5 else 0.0)
    j = person_joints(pose)
    place = _to_scene(canvas, x, y, h, facing, lean, pose.lift)
    s = {k: place(v) for k, v in j.items()}
    arm_w, leg_w = 0.07 * h, 0.09 * h
    skin = look.skin
    canvas.line([s["shoulder"], s["elbow_b"], s["hand_b"]], shade(look.shirt, 0.8), arm_w)
    canvas.line([s["hip"], s["knee_b"], s["foot_b"]], shade(look.trousers, 0.8), leg_w)
    canvas.line([s["hip"], s["knee_f"], s["foot_f"]], look.trousers, leg_w)
    _torso(canvas, j, place, look, h)
    canvas.line([s["shoulder"], s["elbow_f"], s["hand_f"]], look.shirt, arm_w)
    hand_x, hand_y = s["hand_f"]
    canvas.circle(hand_x, hand_y, 0.035 * h, skin)
    _head(canvas, s["head"], h, look, place, j["head"])
    if look.kind == "elderly" and pose.arms in ("down", "swing") and abs(pose.lean) < 0.5:
        canvas.line([s["hand_f"], (s["hand_f"][0], y)], (90, 60, 30), 0.03 * h)
    return s


def _torso(canvas: Canvas, j: dict[str, Point], place, look: Look, h: float) -> None:
    hip, sh = j["hip"], j["shoulder"]
    w_top, w_bottom = 0.11, 0.095
    if look.dress:
        pts = [
            (sh[0] - w_top, sh[1]),
            (sh[0] + w_top, sh[1]),
            (hip[0] + 0.16, hip[1] - 0.2),
            (hip[0] - 0.16, hip[1] - 0.2),
        ]
    else:
        pts = [(sh[0] - w_top, sh[1]), (sh[0] + w_top, sh[1]), (hip[0] + w_bottom, hip[1]), (hip[0] - w_bottom, hip[1])]
    canvas.polygon([place(p) for p in pts], look.shirt)
    if look.kind == "worker":  # hi-vis stripe
        mid = (hip[1] + sh[1]) / 2
        band = [
            (sh[0] - w_top, mid + 0.03),
            (sh[0] + w_top, mid + 0.03),
            (sh[0] + w_top, mid - 0.02),
            (sh[0] - w_top, mid - 0.02),
        ]
        canvas.polygon([place(p) for p in band], (235, 235, 90))


def _head(canvas: Canvas, centre: Point, h: float, look: Look, place, local: Point) -> None:
    r = (0.1 if look.kind == "child" else 0.085) * h
    hair = (200, 200, 205) if look.kind == "elderly" else look.hair
    if look.kind == "woman":
        canvas.polygon(
            [
                place((local[0] - 0.1, local[1] + 0.06)),
                place((local[0] + 0.06, local[1] + 0.06)),
                place((local[0] + 0.02, local[1] - 0.17)),
                place((local[0] - 0.12, local[1] - 0.17)),
            ],
            hair,
        )
    canvas.circle(centre[0], centre[1], r, look.skin)
    cap = {"police": (20, 25, 60), "worker": (250, 210, 20)}.get(look.kind)
    top = (centre[0], centre[1] - 0.45 * r / canvas.H * canvas.H)
    canvas.ellipse(top[0], top[1] - 0.35 * r, r * 1.05, r * 0.6, cap or hair)


def draw_dog(
    canvas: Canvas,
    x: float,
    y: float,
    size: float,
    colour: RGB,
    phase: float,
    stride: float,
    facing: int = 1,
    kind: str = "dog",
    lean: float = 0.0,
) -> Point:
    """A four-legged animal standing at ``(x, y)``; ``size`` is its body length. Returns the head position."""
    aspect = canvas.H / canvas.W
    shapes = {
        "dog": (0.32, 0.55, 0.16),
        "cat": (0.26, 0.45, 0.13),
        "bear": (0.5, 0.45, 0.2),
        "cow": (0.45, 0.55, 0.17),
        "deer": (0.35, 0.75, 0.14),
        "monkey": (0.4, 0.5, 0.16),
    }
    body_h, leg_l, head_r = (s * size for s in shapes.get(kind, shapes["dog"]))
    lift = leg_l + body_h / 2
    bx, by = x, y - lift + (0.5 * lift if abs(lean) > 1 else 0)
    legs = [(-0.32, 0.0), (-0.2, math.pi), (0.25, math.pi / 2), (0.35, 3 * math.pi / 2)]
    if abs(lean) < 1:
        for off, ph in legs:
            sw = stride * 0.5 * math.sin(phase + ph)
            top = (bx + facing * off * size * aspect, by)
            canvas.line([top, (top[0] + facing * sw * leg_l * aspect, y)], shade(colour, 0.75), 0.05 * size)
    canvas.ellipse(bx, by, 0.45 * size * aspect, body_h / 2, colour)
    if kind == "cow":
        canvas.circle(bx - 0.1 * size * aspect, by - 0.02 * size, 0.07 * size, (30, 30, 30))
    head = (bx + facing * 0.5 * size * aspect, by - body_h * (0.55 if kind != "bear" else 0.2))
    canvas.circle(*head, head_r, shade(colour, 0.9))
    canvas.circle(head[0] + facing * head_r * 0.8 * aspect, head[1] + head_r * 0.3, head_r * 0.45, shade(colour, 0.6))
    tail_up = 0.3 if kind in ("cat", "monkey") else 0.1
    tail = (bx - facing * 0.65 * size * aspect, by - body_h * tail_up - 0.05 * size * math.sin(phase * 2))
    canvas.line([(bx - facing * 0.42 * size * aspect, by), tail], colour, 0.05 * size)
    if kind == "deer":
        canvas.line([head, (head[0] - 0.05 * size * aspect, head[1] - 0.22 * size)], (110, 80, 50), 0.025 * size)
    return head


def draw_snake(canvas: Canvas, x: float, y: float, length: float, colour: RGB, phase: float, facing: int = 1) -> None:
    aspect = canvas.H / canvas.W
    pts = [
        (x - facing * i / 8 * length * aspect, y - 0.02 * length * (1 + math.sin(phase + i * 0.9))) for i in range(9)
    ]
    canvas.line(pts, colour, 0.06 * length)
    canvas.circle(*pts[0], 0.045 * length, shade(colour, 0.8))


def draw_car(
    canvas: Canvas,
    x: float,
    y: float,
    length: float,
    colour: RGB,
    facing: int = 1,
    kind: str = "car",
    tilt: float = 0.0,
    lights: bool = False,
    crumple: float = 0.0,
) -> None:
    """A side-view vehicle whose wheels rest on ``y``; ``x`` is its centre, ``length`` a fraction of frame height."""
    aspect = canvas.H / canvas.W
    L = length * aspect
    if kind == "bus" or kind == "train":
        height, cabin = 0.42 * length, 0.0
    elif kind == "truck":
        height, cabin = 0.45 * length, 0.0
    else:
        height, cabin = 0.22 * length, 0.16 * length
    wheel_r = 0.1 * length if kind != "train" else 0.05 * length
    base = y - wheel_r - tilt * 0.3 * length
    front = x + facing * L / 2 * (1 - 0.25 * crumple)
    back = x - facing * L / 2
    canvas.polygon([(back, base), (front, base), (front, base - height), (back, base - height)], colour)
    if kind == "car":
        c0, c1 = x - facing * L * 0.28, x + facing * L * 0.18
        canvas.polygon(
            [
                (c0, base - height),
                (c1 + facing * L * 0.08, base - height),
                (c1, base - height - cabin),
                (c0 + facing * L * 0.04, base - height - cabin),
            ],
            colour,
        )
        canvas.polygon(
            [
                (c0 + facing * L * 0.06, base - height - 0.01),
                (c1, base - height - 0.01),
                (c1 - facing * L * 0.02, base - height - cabin * 0.8),
                (c0 + facing * L * 0.08, base - height - cabin * 0.8),
            ],
            (170, 205, 230),
        )
    elif kind == "truck":
        cab_x = x + facing * L * 0.36
        canvas.rect(cab_x - L * 0.14, base - height * 0.7, cab_x + L * 0.14, base - height * 0.3, (170, 205, 230))
        canvas.rect(x - facing * L * 0.5, base - height, x + facing * L * 0.18, base, shade(colour, 0.8))
    else:  # bus / train: a row of windows
        n = 6 if kind == "bus" else 9
        for i in range(n):
            wx = back + facing * L * (0.08 + i * 0.86 / n)
            canvas.rect(
                wx, base - height * 0.85, wx + facing * L * 0.8 / n * 0.75, base - height * 0.5, (170, 205, 230)
            )
    for wx in (
        (x - facing * L * 0.3, x + facing * L * 0.3)
        if kind != "train"
        else (x - L * 0.35, x - L * 0.2, x + L * 0.2, x + L * 0.35)
    ):
        canvas.circle(wx, y - wheel_r, wheel_r, (25, 25, 25))
        canvas.circle(wx, y - wheel_r, wheel_r * 0.45, (150, 150, 150))
    if lights:
        canvas.circle(front, base - height * 0.6, 0.025 * length, (255, 240, 170), lit=False)
        canvas.circle(back, base - height * 0.6, 0.02 * length, (230, 20, 20), lit=False)
    if crumple > 0:
        canvas.line(
            [(front, base - height), (front - facing * L * 0.1, base - height * 0.4)], (40, 40, 40), 0.02 * length
        )


def draw_bike(
    canvas: Canvas,
    x: float,
    y: float,
    size: float,
    colour: RGB,
    look: Look,
    phase: float,
    facing: int = 1,
    motor: bool = False,
    lean: float = 0.0,
) -> dict[str, Point]:
    """A bicycle (or motorcycle) with its rider; ``size`` is the rider's standing height."""
    aspect = canvas.H / canvas.W
    r = size * (0.17 if not motor else 0.19)
    wb = size * 0.55 * aspect
    rear, front = (x - facing * wb / 2, y - r), (x + facing * wb / 2, y - r)
    if abs(lean) < 1.0:
        width = 0.05 * size if not motor else 0.07 * size
        canvas.ring(*rear, r, (30, 30, 30), width)
        canvas.ring(*front, r, (30, 30, 30), width)
    seat = (x - facing * wb * 0.1, y - r - size * 0.32)
    bar = (x + facing * wb * 0.38, y - r - size * 0.38)
    if motor:
        canvas.ellipse(x, y - r - size * 0.2, wb * 0.45 / aspect * 0.9, size * 0.12, colour)
    else:
        canvas.line([rear, seat, (x, y - r), rear], colour, 0.035 * size)
        canvas.line([(x, y - r), bar, front], colour, 0.035 * size)
    pose = Pose(phase=phase, stride=0.0, sit=True, arms="forward", lean=lean)
    joints = draw_person(canvas, seat[0], seat[1] + size * 0.27, size, look, pose, facing)
    return joints


def draw_bag(canvas: Canvas, x: float, y: float, size: float, colour: RGB) -> None:
    """A bag hanging from (or resting at) ``(x, y)``: strap point at the top."""
    aspect = canvas.H / canvas.W
    canvas.rect(x - size * aspect * 0.5, y + size * 0.15, x + size * aspect * 0.5, y + size * 0.95, colour)
    canvas.line(
        [(x - size * aspect * 0.3, y + size * 0.15), (x, y), (x + size * aspect * 0.3, y + size * 0.15)],
        shade(colour, 0.6),
        0.12 * size,
    )


def draw_box(canvas: Canvas, x: float, y: float, size: float, colour: RGB = (160, 115, 60)) -> None:
    """A box standing on ``y`` (its bottom), centred on ``x``."""
    aspect = canvas.H / canvas.W
    canvas.rect(x - size * aspect / 2, y - size, x + size * aspect / 2, y, colour)
    canvas.line(
        [(x - size * aspect / 2, y - size / 2), (x + size * aspect / 2, y - size / 2)], shade(colour, 0.7), 0.08 * size
    )


def draw_weapon(canvas: Canvas, hand: Point, size: float, kind: str, facing: int, colour: RGB | None = None) -> Point:
    """A weapon held in ``hand``: ``knife``, ``gun``, ``bat`` or ``stick``. Returns the tip position."""
    aspect = canvas.H / canvas.W
    length = {"knife": 0.12, "gun": 0.1, "bat": 0.3, "stick": 0.3}.get(kind, 0.12) * size
    tip = (hand[0] + facing * length * aspect, hand[1] - (0.03 * size if kind != "gun" else 0.0))
    col = colour or {"knife": (215, 220, 230), "gun": (25, 25, 25), "bat": (150, 100, 50), "stick": (110, 75, 40)}.get(
        kind, (200, 200, 200)
    )
    canvas.line(
        [hand, tip],
        col,
        {"knife": 0.025, "gun": 0.04, "bat": 0.045, "stick": 0.03}.get(kind, 0.03) * size,
        lit=kind == "gun",
    )
    if kind == "gun":
        canvas.line([hand, (hand[0], hand[1] + 0.05 * size)], col, 0.03 * size)
    return tip


def draw_sign(canvas: Canvas, x: float, y: float, size: float, colour: RGB, symbol: str = "bar") -> None:
    """A round sign on a pole standing on ``y`` (no-smoking, warning, stop)."""
    canvas.line([(x, y), (x, y - size)], (90, 90, 95), 0.06 * size)
    canvas.circle(x, y - size, 0.22 * size, (245, 245, 245))
    canvas.ring(x, y - size, 0.22 * size, colour, 0.06 * size)
    if symbol == "bar":
        aspect = canvas.H / canvas.W
        canvas.line(
            [(x - 0.15 * size * aspect, y - size - 0.15 * size), (x + 0.15 * size * aspect, y - size + 0.15 * size)],
            colour,
            0.05 * size,
        )


def draw_traffic_light(canvas: Canvas, x: float, y: float, size: float, state: str) -> None:
    """A traffic light on a pole at ``(x, y)``; ``state`` is ``red``, ``amber`` or ``green``."""
    aspect = canvas.H / canvas.W
    canvas.line([(x, y), (x, y - size)], (60, 60, 60), 0.05 * size)
    canvas.rect(x - 0.1 * size * aspect, y - size - 0.36 * size, x + 0.1 * size * aspect, y - size, (30, 30, 30))
    on = {"red": 0, "amber": 1, "green": 2}[state]
    colours = [(255, 30, 30), (255, 180, 0), (30, 230, 80)]
    for i, c in enumerate(colours):
        canvas.circle(
            x, y - size - 0.3 * size + i * 0.11 * size, 0.045 * size, c if i == on else shade(c, 0.25), lit=False
        )
