"""Motion programs about people going about their day: walking and running, everyday activities and
groups. Each program takes a :class:`Stage` and returns a per-frame draw function;
a category's `motion` field in the taxonomy (read by :mod:`svta.videos.programs`) picks the program and its mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from svta.videos import effects
from svta.videos.draw import RGB, Canvas, Pose, draw_bag, draw_box, draw_weapon
from svta.videos.set_stage import (
    MODE_CATALOG,
    Actor,
    Modes,
    Motion,
    Placement,
    Stage,
    bob,
    draw_actor,
    ease,
    seg,
    walk_pose,
)

PROGRAMS: dict[str, Callable[[Stage], Motion]] = {}
LIE = math.pi / 2  # lean of a body lying on the ground


def program(name: str) -> Callable[[Callable[[Stage], Motion]], Callable[[Stage], Motion]]:
    """Register a motion program under ``name``."""

    def decorate(fn: Callable[[Stage], Motion]) -> Callable[[Stage], Motion]:
        PROGRAMS[name] = fn
        return fn

    return decorate


@dataclass(frozen=True)
class Grip:
    """A prop in a person's hand: its name, the joints of the person holding it (from
    :func:`draw_person`), the facing, the person's height ``h``, the time ``t`` and the category's accent."""

    name: str
    joints: dict
    facing: int
    h: float
    t: float
    accent: RGB
    aspect: float

    @property
    def hand(self) -> tuple[float, float]:
        return self.joints["hand_f"]


PropDrawer = Callable[[Canvas, Grip], None]
PROPS: dict[str, PropDrawer] = {}


def prop(*names: str) -> Callable[[PropDrawer], PropDrawer]:
    """Register a drawer of a held prop under each of ``names``."""

    def decorate(fn: PropDrawer) -> PropDrawer:
        for name in names:
            PROPS[name] = fn
        return fn

    return decorate


def draw_prop(canvas: Canvas, stage: Stage, prop: str | None, joints: dict, facing: int, h: float, t: float) -> None:
    """A small object held by a person (``joints`` from :func:`draw_person`); unknown props are not drawn."""
    if not prop or "hand_f" not in joints or prop not in PROPS:
        return
    PROPS[prop](canvas, Grip(prop, joints, facing, h, t, stage.params.accent, canvas.H / canvas.W))


@prop("phone")
def _phone(canvas: Canvas, grip: Grip) -> None:
    hand, aspect = grip.hand, grip.aspect
    canvas.rect(hand[0] - 0.012 * aspect, hand[1] - 0.03, hand[0] + 0.012 * aspect, hand[1] + 0.005, (20, 20, 25))


@prop("bag")
def _bag(canvas: Canvas, grip: Grip) -> None:
    draw_bag(canvas, grip.joints["hand_b"][0], grip.joints["hand_b"][1], 0.12 * grip.h / 0.36, grip.accent)


@prop("box")
def _box(canvas: Canvas, grip: Grip) -> None:
    draw_box(canvas, grip.hand[0], grip.hand[1] + 0.04, 0.1 * grip.h / 0.36, grip.accent)


@prop("camera")
def _camera(canvas: Canvas, grip: Grip) -> None:
    hand, aspect = grip.hand, grip.aspect
    canvas.rect(hand[0] - 0.02 * aspect, hand[1] - 0.03, hand[0] + 0.02 * aspect, hand[1], (30, 30, 35))
    if math.sin(grip.t * 25) > 0.93:  # the flash, now and then
        effects.glow(canvas, hand[0], hand[1] - 0.015, 0.06, (255, 255, 240))


@prop("knife", "gun", "bat", "stick")
def _weapon(canvas: Canvas, grip: Grip) -> None:
    draw_weapon(canvas, grip.hand, grip.h, grip.name, grip.facing)


@prop("cigarette")
def _cigarette(canvas: Canvas, grip: Grip) -> None:
    hand = grip.hand
    canvas.line([hand, (hand[0] + grip.facing * 0.02 * grip.aspect, hand[1] - 0.005)], (245, 245, 245), 0.006)


@prop("bottle")
def _bottle(canvas: Canvas, grip: Grip) -> None:
    canvas.line([grip.hand, (grip.hand[0], grip.hand[1] - 0.05 * grip.h / 0.36)], (60, 130, 60), 0.015)


@prop("book")
def _book(canvas: Canvas, grip: Grip) -> None:
    hand, aspect = grip.hand, grip.aspect
    canvas.rect(hand[0] - 0.03 * aspect, hand[1] - 0.035, hand[0] + 0.03 * aspect, hand[1], grip.accent)


@prop("broom")
def _broom(canvas: Canvas, grip: Grip) -> None:
    hand, aspect = grip.hand, grip.aspect
    foot = (hand[0] + grip.facing * 0.08 * aspect * math.sin(grip.t * 20), grip.joints["foot_f"][1])
    canvas.line([hand, foot], (150, 110, 60), 0.01)
    canvas.line([(foot[0] - 0.03 * aspect, foot[1]), (foot[0] + 0.03 * aspect, foot[1])], (200, 170, 80), 0.02)


@prop("ball")
def _ball(canvas: Canvas, grip: Grip) -> None:
    canvas.circle(grip.hand[0], grip.hand[1], 0.02, grip.accent)


PACE_SPEED = {"walk": 0.32, "run": 0.75, "wander": 0.12, "pace": 0.3, "stagger": 0.18}  # scene widths per clip
MODE_CATALOG["stroll"] = ("pace", PACE_SPEED)


@program("stroll")
def stroll(stage: Stage) -> Motion:
    """People moving across: ``pace`` walk, run, wander, pace (back and forth), stagger."""
    o = stage.params.options
    pace, arms, prop = o.get("pace", "walk"), o.get("arms", "swing"), o.get("prop")
    actors = stage.cast([o.get("role", "human")] * o.get("count", 1))
    speed = PACE_SPEED[pace] * stage.params.tempo
    stride = {"run": 1.0, "wander": 0.35}.get(pace, 0.5)
    g = stage.layout.ground
    starts = [0.12 + 0.14 * i + 0.06 * stage.rng.random() for i in range(len(actors))]
    if pace == "run":
        starts = [s - 0.15 for s in starts]

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        for i, actor in enumerate(actors):
            y, facing, lean = g + 0.05 * i, 1, 0.0
            if pace == "pace":
                x = starts[i] + 0.25 + 0.22 * math.sin(t * 2 * math.pi * stage.params.tempo)
                facing = 1 if math.cos(t * 2 * math.pi * stage.params.tempo) >= 0 else -1
            elif pace == "wander":
                x = starts[i] + 0.2 + 0.12 * math.sin(t * 5)
                facing = 1 if math.cos(t * 5) >= 0 else -1
            elif pace == "stagger":
                x, lean = starts[i] + speed * t + 0.03 * math.sin(t * 9), 0.35 * math.sin(t * 7)
                y += 0.03 * math.sin(t * 4)
            else:
                x = starts[i] + speed * t
            pose = walk_pose(t, speed, stride, arms=arms, lean=lean, amount=t)
            joints = draw_actor(canvas, stage, actor, stage.x(x), y, pose, stage.facing(facing))
            draw_prop(canvas, stage, prop, joints, stage.facing(facing), stage.height_at(y), t)

    return draw


# gesture → (posture, arms, prop, furniture)
GESTURES: dict[str, tuple[str, str, str | None, str | None]] = {
    "stand": ("stand", "down", None, None),
    "sit": ("sit", "down", None, "bench"),
    "eat": ("sit", "eat", None, "table"),
    "cook": ("stand", "stir", None, "stove"),
    "clean": ("stand", "forward", "broom", None),
    "read": ("sit", "forward", "book", "bench"),
    "garden": ("crouch", "reach", None, "plants"),
    "desk": ("sit", "type", None, "desk"),
    "exercise": ("stand", "jacks", None, None),
    "dance": ("stand", "dance", None, None),
    "phone": ("stand", "phone", "phone", None),
    "photo": ("stand", "forward", "camera", None),
    "smoke": ("stand", "phone", "cigarette", "no_smoking"),
    "clutch": ("stand", "clutch", None, None),
    "lift": ("stand", "up", None, None),
    "hammer": ("crouch", "punch", "stick", "bricks"),
}


MODE_CATALOG["idle"] = ("gesture", GESTURES)


def _gesture_pose(posture: str, arms: str, t: float, tempo: float) -> Pose:
    cyc = t * tempo * 10
    pose = Pose(sit=posture == "sit", crouch=0.7 if posture == "crouch" else 0.0, arms="down")
    if arms == "eat":
        pose.arms, pose.amount = "punch", 0.6 + 0.4 * math.sin(cyc)
        pose.arms = "clutch" if math.sin(cyc) > 0.3 else "forward"
    elif arms == "stir":
        pose.arms, pose.amount = "reach", 0.5 + 0.5 * math.sin(cyc * 1.5)
    elif arms == "type":
        pose.arms, pose.amount = "reach", 0.5 + 0.2 * math.sin(cyc * 3)
    elif arms == "jacks":
        up = math.sin(cyc * 1.2) > 0
        pose.arms, pose.lift = ("up" if up else "down"), 0.06 * abs(math.sin(cyc * 1.2))
    elif arms == "dance":
        pose.arms, pose.amount, pose.lift = ("up" if math.sin(cyc) > 0 else "spread"), t, bob(t, tempo * 6, 0.05)
        pose.lean = 0.2 * math.sin(cyc * 0.5)
    elif arms == "punch":
        pose.arms, pose.amount = "punch", abs(math.sin(cyc * 1.5))
    else:
        pose.arms = arms
    return pose


def _furniture(canvas: Canvas, stage: Stage, kind: str | None, x: float, y: float, h: float) -> None:
    """The furniture of a gesture (a table to eat at, a stove, ...) beside a person at ``x`` (mirrored)."""
    if kind in FURNITURE:
        FURNITURE[kind](canvas, Spot(x, y, h, stage.mirror, canvas.H / canvas.W, stage.params.accent))


@dataclass(frozen=True)
class Spot:
    """Where furniture goes: the person's mirrored x and feet y, their height, the mirror sign, the
    frame's aspect ratio and the category's accent colour."""

    x: float
    y: float
    h: float
    mirror: int
    aspect: float
    accent: RGB


def _table(canvas: Canvas, s: Spot) -> None:
    cx = s.x + s.mirror * 0.1 * s.aspect
    canvas.rect(cx - 0.08 * s.aspect, s.y - 0.45 * s.h, cx + 0.08 * s.aspect, s.y - 0.41 * s.h, (150, 100, 60))
    canvas.circle(cx, s.y - 0.47 * s.h, 0.025, s.accent)


def _stove(canvas: Canvas, s: Spot) -> None:
    sx = s.x + s.mirror * 0.09 * s.aspect
    canvas.rect(sx - 0.07 * s.aspect, s.y - 0.5 * s.h, sx + 0.07 * s.aspect, s.y, (70, 70, 75))
    canvas.ellipse(sx, s.y - 0.54 * s.h, 0.05, 0.02, s.accent)


def _bench(canvas: Canvas, s: Spot) -> None:
    canvas.rect(s.x - 0.1 * s.aspect, s.y - 0.28 * s.h, s.x + 0.06 * s.aspect, s.y - 0.24 * s.h, (120, 80, 40))


def _desk(canvas: Canvas, s: Spot) -> None:
    dx = s.x + s.mirror * 0.09 * s.aspect
    canvas.rect(dx - 0.07 * s.aspect, s.y - 0.45 * s.h, dx + 0.07 * s.aspect, s.y - 0.41 * s.h, (140, 110, 80))
    canvas.rect(dx - 0.035 * s.aspect, s.y - 0.62 * s.h, dx + 0.035 * s.aspect, s.y - 0.46 * s.h, (40, 120, 200))


def _plants(canvas: Canvas, s: Spot) -> None:
    for k in range(4):
        px = s.x + s.mirror * (0.06 + 0.05 * k) * s.aspect
        canvas.line([(px, s.y), (px, s.y - 0.12 * s.h)], (40, 140, 40), 0.012)
        canvas.circle(px, s.y - 0.13 * s.h, 0.02, s.accent)


def _bricks(canvas: Canvas, s: Spot) -> None:
    for k in range(3):
        bx = s.x + s.mirror * (0.08 + 0.05 * k) * s.aspect
        canvas.rect(bx - 0.02 * s.aspect, s.y - 0.06, bx + 0.02 * s.aspect, s.y, (170, 70, 50))


FURNITURE: dict[str, Callable[[Canvas, Spot], None]] = {
    "table": _table,
    "stove": _stove,
    "bench": _bench,
    "desk": _desk,
    "plants": _plants,
    "bricks": _bricks,
}


@program("idle")
def idle(stage: Stage) -> Motion:
    """One or two people doing something in place (``gesture``: eat, cook, read, dance, ...)."""
    from svta.videos.draw import draw_sign

    o = stage.params.options
    posture, arms, prop, furniture = GESTURES[o.get("gesture", "stand")]
    actors = stage.cast(["human"] * o.get("count", 1))
    g = stage.layout.ground
    xs = [0.42 + 0.22 * i + 0.06 * (stage.rng.random() - 0.5) for i in range(len(actors))]
    wisp = effects.Particles.make(stage.rng, 6)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        if furniture == "no_smoking":
            draw_sign(canvas, stage.x(xs[0] + 0.18), g - 0.02, 0.3, (220, 30, 30))
        for i, actor in enumerate(actors):
            h = stage.height_at(g)
            x = stage.x(xs[i])
            _furniture(canvas, stage, furniture if furniture != "no_smoking" else None, x, g, h)
            pose = _gesture_pose(posture, arms, t + 0.3 * i, stage.params.tempo)
            if posture == "stand" and o.get("look_around"):
                pose.lean = 0.05 * math.sin(t * 6)
            joints = draw_actor(canvas, stage, actor, x, g, pose, stage.facing(1 if i % 2 == 0 else -1))
            draw_prop(canvas, stage, prop, joints, stage.facing(1), h, t)
            if prop == "cigarette" and "hand_f" in joints:
                effects.smoke(
                    canvas, wisp, joints["hand_f"][0], joints["hand_f"][1], 0.05, 0.15, t, (200, 200, 205), 0.6
                )

    return draw


@program("group")
def group(stage: Stage) -> Motion:
    """Several people together: ``formation`` queue, talk, greet, play, sports, stampede, riot, bully."""
    o = stage.params.options
    formation = o.get("formation", "talk")
    n = o.get("count", 3)
    actors = stage.cast([o.get("role", "human")] * n)
    g = stage.layout.ground
    tempo = stage.params.tempo
    jitter = [stage.rng.random() for _ in range(n)]
    particles = effects.Particles.make(stage.rng, 10)
    members = [Member(actor, i, n, jitter[i], jitter[i] < 0.3, tempo, g) for i, actor in enumerate(actors)]
    place = FORMATIONS.get(formation)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        for i, member in enumerate(members):
            joints = place(member, t).draw(canvas, stage)
            if formation == "sports" and i == int(t * tempo * 4) % n and "hand_f" in joints:
                canvas.circle(joints["hand_f"][0], joints["hand_f"][1] - 0.02, 0.025, stage.params.accent)
        if formation == "riot":
            effects.fire(canvas, particles, stage.x(0.5), g + 0.06, 0.15, 0.2, t, 0.8)
            for k in range(3):
                u = (t * tempo * 1.5 + k / 3) % 1
                canvas.circle(
                    stage.x(0.2 + 0.6 * u), g - 0.25 - 0.25 * math.sin(u * math.pi), 0.015, stage.params.accent
                )

    return draw


@dataclass(frozen=True)
class Member:
    """Member ``i`` of a group of ``n``: its actor, a seeded jitter ``r`` (0..1), whether it falls
    (in a stampede), the category's tempo and the ground line."""

    actor: Actor
    i: int
    n: int
    r: float
    faller: bool
    tempo: float
    ground: float

    def at(self, x: float, y: float, facing: int, pose: Pose) -> Placement:
        return Placement(self.actor, x, y, pose, facing)


Formation = Callable[[Member, float], Placement]
FORMATIONS: Modes[Formation] = Modes("group", default="talk", option="formation")


@FORMATIONS.register("queue")
def _queue(m: Member, t: float) -> Placement:
    """A line shuffling toward a counter on the right."""
    step = math.floor(t * m.tempo * 3 + m.r) / 3 * 0.08
    return m.at(
        0.2 + m.i * 0.12 + step, m.ground, 1, walk_pose(t, 0.1, 0.2 if (t * 3 + m.r) % 1 < 0.3 else 0.0, arms="down")
    )


@FORMATIONS.register("talk")
def _talk(m: Member, t: float) -> Placement:
    side = 1 if m.i % 2 == 0 else -1
    pose = Pose(arms="wave" if math.sin(t * 8 + m.i) > 0.4 else "down", amount=t)
    return m.at(0.5 - side * 0.1 - 0.15 * (m.i // 2), m.ground + 0.02 * (m.i // 2), side, pose)


@FORMATIONS.register("greet")
def _greet(m: Member, t: float) -> Placement:
    """Approach, then embrace or shake hands."""
    side = 1 if m.i % 2 == 0 else -1
    u = ease(seg(t, 0.0, 0.55))
    x = 0.5 - side * (0.35 - 0.28 * u) - 0.1 * (m.i // 2)
    arms = "forward" if u >= 1 else ("wave" if u > 0.6 else "swing")
    return m.at(x, m.ground, side, walk_pose(t, 0.3 * (1 - u >= 0), 0.5 if u < 1 else 0.0, arms=arms, amount=t))


@FORMATIONS.register("play")
def _play(m: Member, t: float) -> Placement:
    """Children running in a loop."""
    a = t * m.tempo * 6 + m.i * 2 * math.pi / m.n
    pose = walk_pose(t, 0.8, 1.0, lift=bob(t, 6 + m.i, 0.05))
    return m.at(0.5 + 0.28 * math.cos(a), m.ground + 0.06 * math.sin(a), -1 if math.sin(a) > 0 else 1, pose)


@FORMATIONS.register("sports")
def _sports(m: Member, t: float) -> Placement:
    x = 0.2 + 0.6 * (m.i / max(1, m.n - 1)) + 0.08 * math.sin(t * 7 + m.i)
    pose = walk_pose(t, 0.6, 0.9, arms="up" if (t * 4 + m.i) % 1 < 0.2 else "swing")
    return m.at(x, m.ground + 0.05 * (m.i % 2), 1 if m.i % 2 else -1, pose)


@FORMATIONS.register("stampede")
def _stampede(m: Member, t: float) -> Placement:
    x = -0.1 + m.i * 0.11 + (0.9 * t * m.tempo) + 0.05 * m.r
    fall = m.faller and t > 0.4 + 0.3 * m.r
    pose = walk_pose(t, 0.9, 1.0, arms="up", lean=LIE if fall else 0.25)
    return m.at((x - (t - 0.4) * 0.7 if fall else x), m.ground + 0.05 * (m.i % 3), 1, pose)


@FORMATIONS.register("riot")
def _riot(m: Member, t: float) -> Placement:
    x = 0.15 + 0.1 * m.i + 0.05 * math.sin(t * 5 + m.i)
    throwing = (t * m.tempo * 2 + m.r) % 1
    return m.at(x, m.ground + 0.04 * (m.i % 2), 1, Pose(arms="throw", amount=throwing, lean=0.1))


@FORMATIONS.register("bully")
def _bully(m: Member, t: float) -> Placement:
    """A victim in the middle, pushed around by the others."""
    if m.i == 0:
        return m.at(
            0.5 + 0.05 * math.sin(t * 9), m.ground, 1, Pose(arms="clutch", lean=0.3 * math.sin(t * 9), crouch=0.3)
        )
    a = m.i * 2 * math.pi / (m.n - 1) + 0.3 * math.sin(t * 3)
    x = 0.5 + 0.2 * math.cos(a)
    pose = Pose(arms="punch", amount=abs(math.sin(t * 9 + m.i)), lean=0.2)
    return m.at(x, m.ground + 0.04 * math.sin(a), 1 if x < 0.5 else -1, pose)


@FORMATIONS.register("dance")
def _dance(m: Member, t: float) -> Placement:
    return m.at(
        0.3 + 0.2 * m.i, m.ground, 1 if m.i % 2 else -1, _gesture_pose("stand", "dance", t + m.i * 0.2, m.tempo)
    )
