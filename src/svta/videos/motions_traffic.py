"""The ``traffic`` motion program: vehicles, riders and pedestrians on a road. Each ``mode`` (drive,
crash, jaywalk, ...) is a small registered function giving every moving actor's :class:`Placement`
at time ``t``; the program adds the road furniture and the collision effects around them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_traffic_light
from svta.videos.motions_people import LIE, program
from svta.videos.set_stage import Actor, Modes, Motion, Placement, Stage, ease, seg, walk_pose


@dataclass(frozen=True)
class Road:
    """What a traffic mode needs for one clip.

    Attributes:
        cast: The first, second and third actor (a vehicle or rider, whoever it meets, a bystander).
        t0: When the event (a crash, a hit) happens, 0..1.
        tempo: The category's speed factor.
        ground: y of the pavement edge.
        lanes: y of the far and the near lane.
    """

    cast: tuple[Actor, Actor, Actor]
    t0: float
    tempo: float
    ground: float
    lanes: tuple[float, float]

    def hit(self, t: float) -> float:
        """Eased progress of the impact (0 before ``t0``, 1 a tenth of the clip after)."""
        return ease(seg(t, self.t0, self.t0 + 0.1))


TrafficMode = Callable[[Road, float], list[Placement]]
TRAFFIC: Modes[TrafficMode] = Modes("traffic", default="cruise")
# the role of the first and the second actor, by mode (else a vehicle)
FIRST_ROLE = {
    "ride": "bike",
    "bike_crash": "bike",
    "animal": "animal",
    "board": "human",
    "wait": "human",
    "jaywalk": "human",
    "crossing": "human",
}
SECOND_ROLE = {"hit": "human", "train": "vehicle", "board": "vehicle", "wait": "vehicle"}
COLLISIONS = ("crash", "hit", "bike_crash", "train")


@program("traffic")
def traffic(stage: Stage) -> Motion:
    """Vehicles on a road: ``mode`` drive, ride, crash, hit, bike_crash, wrong_way, reckless, red_light,
    parked, jaywalk, crossing, animal, train, board, wait (see :data:`TRAFFIC`)."""
    mode = stage.params.options.get("mode", "drive")
    lanes = stage.layout.lanes or (stage.layout.ground + 0.1, min(0.97, stage.layout.ground + 0.2))
    g = stage.layout.ground
    actors = _traffic_cast(stage, mode)
    debris = effects.Particles.make(stage.rng, 14)
    smoke_p = effects.Particles.make(stage.rng, 12)
    road = Road((actors[0], actors[1], actors[2]), 0.45 + 0.1 * stage.rng.random(), stage.params.tempo, g, lanes)
    positions = TRAFFIC.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        _road_furniture(canvas, stage, mode, lanes, g)
        for placement in positions(road, t):
            placement.draw(canvas, stage)
        if mode in COLLISIONS and t > road.t0:
            effects.debris(canvas, debris, stage.x(0.5), lanes[0] - 0.05, t - road.t0, 0.8, (200, 200, 205), size=0.007)
        if mode == "crash" and t > road.t0:
            fade = 0.6 * seg(t, road.t0, road.t0 + 0.2)
            effects.smoke(canvas, smoke_p, stage.x(0.5), lanes[0] - 0.05, 0.2, 0.4, t, (90, 90, 95), fade)

    return draw


def _traffic_cast(stage: Stage, mode: str) -> list[Actor]:
    """The three actors of a traffic ``mode``, their kinds adjusted to it (a bus stop gets a bus)."""
    actors = stage.cast([FIRST_ROLE.get(mode, "vehicle"), SECOND_ROLE.get(mode, "vehicle"), "human"])
    if mode in ("board", "wait"):
        actors[1].kind = "train" if stage.layout.lanes and stage.layout.lanes[0] == stage.layout.lanes[1] else "bus"
    if mode == "train":
        actors[0].kind = "train"
    named_kinds = {a.kind for a in stage.scene.actors}
    wanted = stage.params.options.get("kind")
    if wanted and actors[0].kind in ("bicycle", "motorcycle") and not named_kinds & {"bicycle", "motorcycle"}:
        actors[0].kind = wanted
    return actors


def _road_furniture(canvas: Canvas, stage: Stage, mode: str, lanes: tuple[float, float], g: float) -> None:
    """A traffic light at a red-light or crossing scene, and the zebra stripes of a crossing."""
    if mode in ("red_light", "crossing"):
        draw_traffic_light(canvas, stage.x(0.5), g - 0.02, 0.3, "red" if mode == "red_light" else "green")
    if mode == "crossing":
        for k in range(6):
            canvas.rect(stage.x(0.4 + 0.035 * k), lanes[0] - 0.07, stage.x(0.42 + 0.035 * k), lanes[1], (235, 235, 230))


@TRAFFIC.register("cruise")
def _cruise(road: Road, t: float) -> list[Placement]:
    """One vehicle passing by."""
    return [Placement(road.cast[0], -0.2 + 1.3 * t, road.lanes[1], Pose(), 1)]


@TRAFFIC.register("drive")
def _drive(road: Road, t: float) -> list[Placement]:
    a, b, _ = road.cast
    far, near = road.lanes
    drive = Pose()
    return [
        Placement(a, -0.2 + 1.3 * t * road.tempo, near, drive, 1),
        Placement(b, 1.2 - 1.1 * t * road.tempo, far, drive, -1),
    ]


@TRAFFIC.register("ride")
def _ride(road: Road, t: float) -> list[Placement]:
    return [Placement(road.cast[0], -0.1 + 1.0 * t * road.tempo, road.lanes[1], Pose(phase=t * 40), 1)]


@TRAFFIC.register("crash")
def _crash(road: Road, t: float) -> list[Placement]:
    a, b, _ = road.cast
    far = road.lanes[0]
    xa, xb = min(0.42, -0.3 + 1.6 * t), max(0.58, 1.3 - 1.6 * t)
    crumple = Pose(arms="crumple", amount=1.0 if t > road.t0 else 0.0, lean=0.1 * road.hit(t))
    return [Placement(a, xa, far, crumple, 1), Placement(b, xb, far, crumple, -1)]


@TRAFFIC.register("hit")
def _hit(road: Road, t: float) -> list[Placement]:
    a, b, _ = road.cast
    near, t0, hit = road.lanes[1], road.t0, road.hit(t)
    px = 0.5 + 0.04 * hit
    lift = 0.3 * math.sin(math.pi * seg(t, t0, t0 + 0.2))
    person = Placement(
        b,
        px + 0.25 * hit,
        near - 0.12 + 0.1 * seg(t, 0, t0),
        walk_pose(t, 0.2, 0.5 * (t < t0), lean=LIE * hit, lift=lift),
        1,
    )
    car_x = min(-0.3 + 1.7 * t, 0.45 + 0.1 * t)
    return [Placement(a, car_x, near, Pose(), 1), person]


@TRAFFIC.register("bike_crash")
def _bike_crash(road: Road, t: float) -> list[Placement]:
    a, _, c = road.cast
    near, hit = road.lanes[1], road.hit(t)
    xa = -0.1 + 1.2 * min(t, road.t0) + 0.1 * hit
    rider = [Placement(a, xa, near, Pose(phase=t * 40, lean=1.2 * hit), 1)]
    return rider + ([Placement(c, xa + 0.15 * hit, near, Pose(lean=LIE), 1)] if t > road.t0 else [])


@TRAFFIC.register("wrong_way")
def _wrong_way(road: Road, t: float) -> list[Placement]:
    a, b, _ = road.cast
    near = road.lanes[1]
    swerve = 0.12 * math.sin(math.pi * seg(t, 0.3, 0.7))
    return [
        Placement(b, -0.2 + 1.2 * t, near - swerve, Pose(lean=-0.05 * (swerve > 0)), 1),
        Placement(a, 1.2 - 1.4 * t * road.tempo, near, Pose(), -1),
    ]


@TRAFFIC.register("reckless")
def _reckless(road: Road, t: float) -> list[Placement]:
    a, b, _ = road.cast
    far, near = road.lanes
    weave = (far + near) / 2 + (near - far) / 2 * math.sin(t * 14)
    return [
        Placement(a, -0.3 + 1.8 * t * road.tempo, weave, Pose(lean=0.08 * math.cos(t * 14)), 1),
        Placement(b, 0.2 + 0.3 * t, far, Pose(), 1),
    ]


@TRAFFIC.register("red_light")
def _red_light(road: Road, t: float) -> list[Placement]:
    a, b, c = road.cast
    far, near = road.lanes
    brake = 1.0 - 0.7 * seg(t, 0.3, 0.6)
    drive = Pose()
    return [
        Placement(b, 0.3, far, drive, 1),
        Placement(a, -0.3 + 1.7 * t * road.tempo, near, drive, 1),
        Placement(c, 0.5 + 0.6 * (1 - brake), road.ground, walk_pose(t, 0.3, 0.5), 1),
    ]


@TRAFFIC.register("parked")
def _parked(road: Road, t: float) -> list[Placement]:
    a, _, c = road.cast
    g = road.ground
    detour = 0.08 * math.sin(math.pi * seg(t, 0.2, 0.8))
    return [
        Placement(a, 0.5, g + 0.03, Pose(), 1),
        Placement(c, 0.1 + 0.8 * t, g + 0.05 + detour, walk_pose(t, 0.4, 0.5), 1),
    ]


def _walker(road: Road, t: float, stride: float) -> Placement:
    """The first actor crossing the road from the pavement to the near lane."""
    g, near = road.ground, road.lanes[1]
    cross = seg(t, 0.1, 0.9)
    return Placement(
        road.cast[0], 0.5 + 0.03 * math.sin(t * 6), g + (near - g + 0.05) * cross, walk_pose(t, 0.3, stride), 1
    )


@TRAFFIC.register("crossing")
def _crossing(road: Road, t: float) -> list[Placement]:
    _, b, c = road.cast
    far, near, g = road.lanes[0], road.lanes[1], road.ground
    return [
        Placement(b, 0.2, far, Pose(), 1),
        _walker(road, t, 0.5),
        Placement(c, 0.58, g + (near - g) * seg(t, 0.2, 1.0), walk_pose(t, 0.3, 0.5), -1),
    ]


@TRAFFIC.register("jaywalk")
def _jaywalk(road: Road, t: float) -> list[Placement]:
    car = Placement(road.cast[1], -0.3 + 1.6 * t + 0.2 * math.sin(t * 3), road.lanes[0], Pose(), 1)
    return [car, _walker(road, t, 0.5)]


@TRAFFIC.register("animal")
def _animal(road: Road, t: float) -> list[Placement]:
    car = Placement(road.cast[1], -0.3 + 0.6 * t + 0.2 * math.sin(t * 3), road.lanes[1] + 0.02, Pose(), 1)
    return [car, _walker(road, t, 0.7)]


@TRAFFIC.register("train")
def _train(road: Road, t: float) -> list[Placement]:
    a, b, _ = road.cast
    far, hit = road.lanes[0], road.hit(t)
    return [
        Placement(b, 0.55, far - 0.02 - 0.25 * hit, Pose(lean=0.8 * hit), 1),
        Placement(a, -1.2 + 2.0 * t * road.tempo, far, Pose(), 1),
    ]


def _at_the_stop(road: Road, t: float, arrive: float, walk: float) -> list[Placement]:
    """A bus (or train) pulling in and two people waiting, who walk to it as ``walk`` goes 0 → 1."""
    a, b, c = road.cast
    bus = Placement(b, 1.5 - 1.0 * arrive, road.lanes[1], Pose(), -1)
    people = [
        Placement(p, 0.2 + 0.12 * i + 0.25 * walk, road.ground + 0.02 * i, walk_pose(t, 0.3, 0.5 * (walk > 0)), 1)
        for i, p in enumerate((a, c))
    ]
    return [bus] + (people if walk < 0.9 else [])


@TRAFFIC.register("board")
def _board(road: Road, t: float) -> list[Placement]:
    return _at_the_stop(road, t, ease(seg(t, 0.0, 0.4)), seg(t, 0.4, 1.0))


@TRAFFIC.register("wait")
def _wait(road: Road, t: float) -> list[Placement]:
    return _at_the_stop(road, t, ease(seg(t, 0.55, 0.95)), 0.0)
