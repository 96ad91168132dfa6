"""Motion programs about the world around people: animals, water and signs (traffic, fire and
disasters have their own modules). Same contract as :mod:`svta.videos.motions_people`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_sign
from svta.videos.motions_people import LIE, program
from svta.videos.set_stage import Actor, Modes, Motion, Placement, Stage, draw_actor, ease, seg, walk_pose


@dataclass(frozen=True)
class Encounter:
    """What an animal or water mode needs for one clip: the stage, its cast (an animal and a person,
    or two people and a child), when the event happens (``t0``) and, for water, the water line."""

    stage: Stage
    cast: tuple[Actor, ...]
    t0: float
    level: float = 0.0

    def at(self, index: int, x: float, y: float, pose: Pose, facing: int = 1) -> Placement:
        return Placement(self.cast[index], x, y, pose, facing)


EncounterMode = Callable[[Canvas, Encounter, float], None]
ANIMALS: Modes[EncounterMode] = Modes("animal", default="pet")
WATERS: Modes[EncounterMode] = Modes("water", default="swim")


@program("animal")
def animal(stage: Stage) -> Motion:
    """People and animals: ``mode`` attack, pet (fetch a ball), intrude (a wild animal walks in), walk."""
    mode = stage.params.options.get("mode", "pet")
    actors = stage.cast(["animal", "human"])
    if mode == "intrude" and not actors[0].named:
        actors[0].kind = ("bear", "snake", "monkey")[stage.params.variant % 3]
        actors[0].colour = {"bear": (70, 45, 25), "snake": (60, 130, 40), "monkey": (120, 80, 45)}[actors[0].kind]
    scene = Encounter(stage, (actors[0], actors[1]), 0.4 + 0.1 * stage.rng.random())
    play = ANIMALS.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        play(canvas, scene, t)

    return draw


@ANIMALS.register("pet")
def _fetch(canvas: Canvas, scene: Encounter, t: float) -> None:
    """A person throws a ball, the pet runs after it and brings it back."""
    stage, g = scene.stage, scene.stage.layout.ground
    throw = seg(t, 0.1, 0.45)
    fetch = math.sin(math.pi * seg(t, 0.1, 0.95))
    scene.at(1, 0.25, g, Pose(arms="throw", amount=throw)).draw(canvas, stage)
    dx = 0.35 + 0.45 * fetch
    scene.at(0, dx, g + 0.03, walk_pose(t, 0.8, 1.0), 1 if t < 0.5 else -1).draw(canvas, stage)
    bx = 0.3 + 0.5 * ease(throw) if t < 0.55 else dx + 0.03
    canvas.circle(stage.x(bx), g - 0.05 - 0.2 * math.sin(math.pi * throw) * (t < 0.55), 0.018, stage.params.accent)


@ANIMALS.register("attack")
def _attack(canvas: Canvas, scene: Encounter, t: float) -> None:
    stage, g, t0 = scene.stage, scene.stage.layout.ground, scene.t0
    charge = ease(seg(t, 0.0, t0))
    down = ease(seg(t, t0, t0 + 0.12))
    victim = Pose(arms="up" if t > t0 - 0.15 else "down", lean=-LIE * down)
    scene.at(1, 0.62 + 0.05 * down, g, victim, -1).draw(canvas, stage)
    pose = walk_pose(t, 0.9, 1.0, lean=0.15 * math.sin(t * 20) * (t > t0))
    scene.at(0, 0.1 + 0.45 * charge, g + 0.02, pose).draw(canvas, stage)


@ANIMALS.register("intrude", "walk")
def _walk_in(canvas: Canvas, scene: Encounter, t: float) -> None:
    """The animal walks in; the person backs away."""
    stage, g = scene.stage, scene.stage.layout.ground
    enter = ease(seg(t, 0.0, 0.7))
    scene.at(0, 0.05 + 0.45 * enter, g + 0.03, walk_pose(t, 0.4, 0.6)).draw(canvas, stage)
    back = ease(seg(t, 0.3, 1.0))
    pose = walk_pose(t, 0.3, 0.5 * (back > 0), arms="up")
    scene.at(1, 0.75 + 0.15 * back, g, pose, 1 if back > 0.3 else -1).draw(canvas, stage)


@program("water")
def water(stage: Stage) -> Motion:
    """People in water: ``mode`` swim (calm laps), drown (struggling, going under), child (a child at the edge)."""
    mode = stage.params.options.get("mode", "swim")
    actors = stage.cast(["human", "human"])
    level = stage.layout.water if stage.layout.water is not None else stage.layout.ground - 0.15
    t0 = 0.5 + 0.1 * stage.rng.random()
    child = actors[0] if actors[0].kind == "child" else stage.cast(["child"])[0]
    scene = Encounter(stage, (actors[0], actors[1], child), t0, level)
    play = WATERS.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        if stage.layout.water is None:  # a place without water gets a pool
            effects.water(canvas, level, t, (50, 120, 200), 0.9)
        play(canvas, scene, t)
        effects.water(canvas, level + 0.1, t, (50, 120, 200), 0.55, x0=-0.3, x1=1.3)

    return draw


@WATERS.register("swim")
def _swim(canvas: Canvas, scene: Encounter, t: float) -> None:
    surface = scene.level + 0.1
    for i in range(2):
        x = 0.1 + 0.7 * t * scene.stage.params.tempo + 0.3 * i
        pose = Pose(lean=LIE, arms="up" if (t * 6 + i) % 1 < 0.5 else "forward")
        scene.at(i, x, surface + 0.05 * i, pose).draw(canvas, scene.stage)


@WATERS.register("drown")
def _drown(canvas: Canvas, scene: Encounter, t: float) -> None:
    stage, surface = scene.stage, scene.level + 0.1
    sink = ease(seg(t, scene.t0, 1.0))
    y = surface + 0.12 + 0.05 * math.sin(t * 14) + 0.15 * sink
    scene.at(0, 0.5, y, Pose(arms="up" if math.sin(t * 16) > 0 else "spread")).draw(canvas, stage)
    splash = (stage.x(0.5 + 0.04 * math.sin(t * 11)), surface - 0.02, 0.02 + 0.01 * math.sin(t * 20))
    canvas.circle(*splash, (230, 240, 250), lit=False)


@WATERS.register("child")
def _child_at_edge(canvas: Canvas, scene: Encounter, t: float) -> None:
    """A small child wandering to the very edge."""
    x = 0.2 + 0.35 * ease(seg(t, 0, 0.8))
    scene.at(2, x, scene.level - 0.01, walk_pose(t, 0.2, 0.4, lean=0.25 * seg(t, 0.7, 1.0))).draw(canvas, scene.stage)


@program("signal")
def signal(stage: Stage) -> Motion:
    """A person beside a warning sign or hazard (no-smoking, keep-out): generic fallback for hazards."""
    actors = stage.cast(["human"])
    g, accent = stage.layout.ground, stage.params.accent

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        draw_sign(canvas, stage.x(0.7), g, 0.3, accent, symbol="bar" if stage.params.variant % 2 else "ring")
        draw_actor(canvas, stage, actors[0], stage.x(0.2 + 0.4 * t), g + 0.02, walk_pose(t, 0.3, 0.5), stage.facing(1))

    return draw
