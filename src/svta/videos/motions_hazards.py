"""Motion programs of fire and whole-scene events: ``blaze`` (fire, smoke, fumes, sparks, an
explosion) and ``disaster`` (flood, quake, landslide, collapse, storm, falling objects). Each ``mode``
is a small registered function drawing its scenery; people are placed with :class:`Placement`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from svta.videos import effects
from svta.videos.draw import RGB, Canvas, Pose, draw_box, shade
from svta.videos.motions_people import LIE, program
from svta.videos.set_stage import Actor, Modes, Motion, Placement, Stage, draw_actor, ease, seg, walk_pose


@dataclass(frozen=True)
class Fire:
    """What a blaze mode needs for one clip: the stage, the cast (a person, a vehicle or a second
    person), when the fire starts or the blast goes off (``t0``) and the particle sets."""

    stage: Stage
    cast: tuple[Actor, Actor]
    t0: float
    flames: effects.Particles
    smoke: effects.Particles

    @property
    def source(self) -> tuple[float, float]:
        """Where the fire or leak is (mirrored x, y)."""
        return self.stage.x(0.62), self.stage.layout.ground - 0.02


BlazeScenery = Callable[[Canvas, Fire, float, int], None]
BlazeReaction = Callable[[float, float], tuple[float, Pose]]
BLAZE: Modes[BlazeScenery] = Modes("blaze", default="building")
BLAZE_REACTIONS: Modes[BlazeReaction] = Modes("blaze", default="building", catalog=False)


@program("blaze")
def blaze(stage: Stage) -> Motion:
    """Fire, smoke and sparks: ``mode`` building, arson, wildfire, smoke, vehicle, explosion, gas, chemical, electric."""
    mode = stage.params.options.get("mode", "building")
    actors = stage.cast(["human", "vehicle" if mode == "vehicle" else "human"])
    g = stage.layout.ground
    flames, smoke = effects.Particles.make(stage.rng, 40), effects.Particles.make(stage.rng, 16)
    t0 = 0.3 + 0.15 * stage.rng.random()
    fire = Fire(stage, (actors[0], actors[1]), t0, flames, smoke)
    if mode == "explosion":
        stage.shake = lambda t: 0.03 * max(0.0, 1 - abs(t - t0) * 6) if t >= t0 else 0.0
    scenery, reaction = BLAZE.get(mode), BLAZE_REACTIONS.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        scenery(canvas, fire, t, frame)
        x, pose = reaction(t, t0)
        joints = draw_actor(canvas, stage, actors[0], stage.x(x), g + 0.03, pose, stage.facing(1 if x < 0.55 else -1))
        if mode == "arson" and t < t0 and "hand_f" in joints:  # the lighter in the arsonist's hand
            canvas.circle(joints["hand_f"][0], joints["hand_f"][1], 0.012, (255, 200, 50), lit=False)

    return draw


def _flames(canvas: Canvas, fire: Fire, t: float, grow: float, x: float, width: float, height: float) -> None:
    """Smoke over a fire at ``x`` of ``width`` and ``height`` that has grown to ``grow`` (0..1)."""
    src = fire.source
    effects.smoke(canvas, fire.smoke, src[0], src[1] - 0.2, 0.3, 0.6, t, (70, 70, 72), 0.7 * grow)
    effects.fire(canvas, fire.flames, x, fire.stage.layout.ground + 0.02, width, height, t, grow)


@BLAZE.register("building", "arson")
def _spreading_fire(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    _flames(canvas, fire, t, seg(t, fire.t0, 1.0), fire.source[0], 0.2, 0.35)


@BLAZE.register("wildfire")
def _wildfire(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    _flames(canvas, fire, t, 1.0, fire.stage.x(0.5), 0.9, 0.35)
    effects.haze(canvas, (255, 120, 30), 0.2)


@BLAZE.register("vehicle")
def _vehicle_fire(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    stage, src = fire.stage, fire.source
    draw_actor(canvas, stage, fire.cast[1], src[0], stage.layout.ground + 0.04, Pose(), stage.facing(1))
    _flames(canvas, fire, t, 1.0, src[0], 0.2, 0.2)


def _fumes(canvas: Canvas, fire: Fire, t: float, colour: RGB, haze: RGB) -> None:
    src = fire.source
    effects.smoke(canvas, fire.smoke, src[0], src[1] - 0.05, 0.25 + 0.3 * t, 0.6, t, colour, 0.7)
    effects.haze(canvas, haze, 0.25 * t)


@BLAZE.register("smoke")
def _smoke(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    _fumes(canvas, fire, t, (95, 95, 100), (90, 90, 90))


@BLAZE.register("gas")
def _gas(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    colour = shade(fire.stage.params.accent, 1.2)
    _fumes(canvas, fire, t, colour, colour)


@BLAZE.register("chemical")
def _chemical(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    src, g, accent = fire.source, fire.stage.layout.ground, fire.stage.params.accent
    canvas.rect(src[0] - 0.03, g - 0.09, src[0] + 0.03, g, shade(accent, 0.6))
    effects.puddle(canvas, src[0] + 0.05, g + 0.01, 0.04 + 0.25 * seg(t, 0.1, 1.0), accent)
    _fumes(canvas, fire, t, accent, accent)


@BLAZE.register("electric")
def _electric(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    if (t * 7) % 1 < 0.5:  # a flickering live wire
        stage, g = fire.stage, fire.stage.layout.ground
        canvas.line([(stage.x(0.7), g - 0.6), (stage.x(0.7), g)], (60, 60, 60), 0.015)
        effects.sparks(canvas, stage.seed, stage.x(0.7), g - 0.45, 0.15, 10, frame)


@BLAZE.register("explosion")
def _explosion(canvas: Canvas, fire: Fire, t: float, frame: int) -> None:
    t0, src, g = fire.t0, fire.source, fire.stage.layout.ground
    if t < t0:
        return
    u = seg(t, t0, t0 + 0.25)
    effects.flash(canvas, 0.8 * (1 - u))
    radius = 0.05 + 0.3 * math.sin(u * math.pi / 2) * (1 - 0.6 * seg(t, t0 + 0.3, 1.0))
    effects.fireball(canvas, src[0], g - 0.15, radius)
    effects.smoke(canvas, fire.smoke, src[0], g - 0.2, 0.4, 0.5, t, (60, 55, 50), 0.7 * seg(t, t0 + 0.1, t0 + 0.4))


@BLAZE_REACTIONS.register("building", "wildfire", "vehicle")
def _flee_fire(t: float, t0: float) -> tuple[float, Pose]:
    return 0.4 - 0.35 * ease(seg(t, t0, 1.0)), walk_pose(t, 0.7, 1.0, arms="up")


@BLAZE_REACTIONS.register("arson")
def _arsonist(t: float, t0: float) -> tuple[float, Pose]:
    flee = ease(seg(t, t0, 1.0))
    return 0.5 - 0.45 * flee, walk_pose(
        t, 0.3 + 0.5 * (t > t0), 0.5 + 0.5 * (t > t0), arms="reach" if t < t0 else "up", crouch=0.4 * (t < t0)
    )


@BLAZE_REACTIONS.register("explosion")
def _blown_over(t: float, t0: float) -> tuple[float, Pose]:
    return 0.25 - 0.1 * ease(seg(t, t0, 1.0)), Pose(lean=-LIE * ease(seg(t, t0, t0 + 0.1)), arms="up")


@BLAZE_REACTIONS.register("gas", "chemical", "smoke")
def _choking(t: float, t0: float) -> tuple[float, Pose]:
    return 0.35 - 0.3 * ease(seg(t, t0, 1.0)), walk_pose(t, 0.5, 0.8 * (t > t0), arms="clutch")


@BLAZE_REACTIONS.register("electric")
def _shocked(t: float, t0: float) -> tuple[float, Pose]:
    return 0.55, Pose(arms="up", lean=-0.3 * seg(t, t0, t0 + 0.1) - (LIE - 0.3) * ease(seg(t, t0 + 0.3, t0 + 0.45)))


@dataclass(frozen=True)
class Disaster:
    """What a disaster mode needs for one clip: the stage, the cast (two people and one more actor),
    when the event strikes (``t0``) and the particle sets (rain, dust, rocks)."""

    stage: Stage
    cast: tuple[Actor, Actor, Actor]
    t0: float
    rain: effects.Particles
    dust: effects.Particles
    rocks: effects.Particles

    @property
    def ground(self) -> float:
        return self.stage.layout.ground

    def people(self, canvas: Canvas, first: Placement, second: Placement | None = None) -> None:
        first.draw(canvas, self.stage)
        if second is not None:
            second.draw(canvas, self.stage)

    def person(self, x: float, y: float, pose: Pose, second: bool = False) -> Placement:
        """The first person (facing right) or the second (facing left)."""
        return Placement(self.cast[2], x, y, pose, -1) if second else Placement(self.cast[0], x, y, pose, 1)


DisasterMode = Callable[[Canvas, Disaster, float, int], None]
DISASTER: Modes[DisasterMode] = Modes("disaster", default="flood")


@program("disaster")
def disaster(stage: Stage) -> Motion:
    """Whole-scene events: ``mode`` flood, quake, landslide, collapse, storm, falling, work."""
    mode = stage.params.options.get("mode", "flood")
    actors = stage.cast(["human", "any", "human"])
    rain_p, dust_p, rock_p = (
        effects.Particles.make(stage.rng, 40),
        effects.Particles.make(stage.rng, 14),
        effects.Particles.make(stage.rng, 10),
    )
    event = Disaster(stage, (actors[0], actors[1], actors[2]), 0.35 + 0.15 * stage.rng.random(), rain_p, dust_p, rock_p)
    if mode == "quake":
        stage.shake = lambda t: 0.035 * seg(t, 0.1, 0.25) * (1 - 0.5 * seg(t, 0.8, 1.0))
    scene = DISASTER.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        scene(canvas, event, t, frame)

    return draw


def _escape(event: Disaster, t: float) -> Placement:
    """A person running off once the event strikes."""
    t0, g = event.t0, event.ground
    return event.person(
        0.3 - 0.25 * ease(seg(t, t0, 1.0)), g + 0.02, walk_pose(t, 0.8, 1.0 * (t > t0 - 0.1), arms="up")
    )


@DISASTER.register("collapse")
def _collapse(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    stage, g, t0 = event.stage, event.ground, event.t0
    drop = seg(t, t0, t0 + 0.3) ** 2
    top = g - 0.55 + 0.5 * drop
    canvas.rect(stage.x(0.55), top, stage.x(0.85), g, (165, 158, 148))
    canvas.rect(stage.x(0.6), top + 0.05, stage.x(0.8), top + 0.09, shade(stage.params.accent, 0.8))
    for k in range(3):
        effects.crack(canvas, stage.x(0.6 + 0.1 * k), top, g, stage.seed + k)
    effects.smoke(canvas, event.dust, stage.x(0.7), g - 0.05, 0.5, 0.4, t, (160, 145, 120), 0.85 * seg(t, t0, t0 + 0.3))
    event.people(canvas, _escape(event, t))


@DISASTER.register("landslide")
def _landslide(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    stage, g = event.stage, event.ground
    front = ease(seg(t, 0.1, 0.9))
    mud = [
        (stage.x(-0.3), 0.0),
        (stage.x(-0.3 + 1.0 * front), 0.0),
        (stage.x(-0.1 + 1.1 * front), g + 0.1),
        (stage.x(-0.3), g + 0.1),
    ]
    canvas.polygon(mud, (115, 80, 45))
    effects.debris(canvas, event.rocks, stage.x(-0.1 + 1.1 * front), g - 0.1, 0.3, 0.4, (90, 80, 70), size=0.02)
    event.people(canvas, _escape(event, t))


def _falling_box(canvas: Canvas, event: Disaster, t: float, x: float, lift: float) -> float:
    """A box dropping to the ground at ``x`` (mirrored), landing at ``t0``; returns its top's height."""
    g, t0, accent = event.ground, event.t0, event.stage.params.accent
    fall_t = seg(t, t0 - 0.25, t0) ** 2
    draw_box(canvas, x, g - 0.75 * (1 - fall_t) - lift, 0.08, accent)
    if t > t0:
        effects.debris(canvas, event.rocks, x, g - 0.03, t - t0, 0.5, accent, size=0.008)
    return g - 0.75 * (1 - fall_t)


def _struck(event: Disaster, t: float) -> Placement:
    """A person walking under a falling load, knocked down when it lands."""
    t0, struck = event.t0, t > event.t0
    pose = walk_pose(
        t, 0.3, 0.5 * (not struck), lean=LIE * ease(seg(t, t0, t0 + 0.1)), arms="up" if struck else "swing"
    )
    return event.person(0.22 + 0.25 * min(t, t0), event.ground + 0.01, pose)


@DISASTER.register("falling")
def _falling(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    event.people(canvas, _struck(event, t), event.person(0.8, event.ground, Pose(), second=True))
    _falling_box(canvas, event, t, event.stage.x(0.5), 0.0)


@DISASTER.register("work")
def _work(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    event.people(canvas, _struck(event, t))
    x = event.stage.x(0.5)
    top = _falling_box(canvas, event, t, x, 0.05)  # a load on a crane's cable
    canvas.line([(x, 0.0), (x, top - 0.13)], (60, 60, 60), 0.006)


@DISASTER.register("quake")
def _quake(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    g = event.ground
    first = event.person(0.3 - 0.2 * t, g, walk_pose(t, 0.6, 1.0, arms="up", crouch=0.3))
    event.people(canvas, first, event.person(0.6 + 0.3 * t, g + 0.04, walk_pose(t, 0.6, 1.0, arms="up"), second=True))
    _falling_box(canvas, event, t, event.stage.x(0.7), 0.0)


@DISASTER.register("storm")
def _storm(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    stage, g = event.stage, event.ground
    event.people(canvas, event.person(0.2 + 0.2 * t, g, walk_pose(t, 0.2, 0.5, lean=-0.35, arms="up")))
    effects.rain(canvas, event.rain, t, slant=0.8)
    effects.debris(
        canvas, event.rocks, stage.x(-0.1), g - 0.4, (t * 2) % 1, 1.2, stage.params.accent, gravity=0.2, size=0.012
    )
    if (t * 5) % 1 < 0.1:  # lightning
        effects.flash(canvas, 0.5, (230, 235, 255))


@DISASTER.register("flood")
def _flood(canvas: Canvas, event: Disaster, t: float, frame: int) -> None:
    g = event.ground
    first = event.person(0.3 + 0.2 * t, g + 0.02, walk_pose(t, 0.15, 0.3, arms="up"))
    event.people(canvas, first, event.person(0.7 - 0.1 * t, g + 0.04, Pose(arms="up"), second=True))
    effects.rain(canvas, event.rain, t)
    effects.water(canvas, 1.02 - (1.02 - g + 0.12) * ease(seg(t, 0.0, 0.85)), t, (95, 80, 55))
