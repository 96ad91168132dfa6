"""Motion programs about the world around people: animals, water and signs (traffic, fire and
disasters have their own modules). Same contract as :mod:`svta.videos.motions_people`.
"""

from __future__ import annotations

import math

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_sign
from svta.videos.motions_people import LIE, program
from svta.videos.stage import MODE_CATALOG, Motion, Stage, draw_actor, ease, seg, walk_pose

MODE_CATALOG["animal"] = ("mode", ("attack", "pet", "intrude", "walk"))
MODE_CATALOG["water"] = ("mode", ("swim", "drown", "child"))


@program("animal")
def animal(stage: Stage) -> Motion:
    """People and animals: ``mode`` attack, pet (fetch a ball), intrude (a wild animal walks in), walk."""
    mode = stage.params.options.get("mode", "pet")
    actors = stage.cast(["animal", "human"])
    if mode == "intrude" and not actors[0].named:
        actors[0].kind = ("bear", "snake", "monkey")[stage.params.variant % 3]
        actors[0].colour = {"bear": (70, 45, 25), "snake": (60, 130, 40), "monkey": (120, 80, 45)}[actors[0].kind]
    g, accent = stage.layout.ground, stage.params.accent
    t0 = 0.4 + 0.1 * stage.rng.random()

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        if mode == "pet":
            throw = seg(t, 0.1, 0.45)
            fetch = math.sin(math.pi * seg(t, 0.1, 0.95))
            draw_actor(canvas, stage, actors[1], stage.x(0.25), g, Pose(arms="throw", amount=throw), stage.facing(1))
            dx = 0.35 + 0.45 * fetch
            draw_actor(
                canvas,
                stage,
                actors[0],
                stage.x(dx),
                g + 0.03,
                walk_pose(t, 0.8, 1.0),
                stage.facing(1 if t < 0.5 else -1),
            )
            bx = 0.3 + 0.5 * ease(throw) if t < 0.55 else dx + 0.03
            canvas.circle(stage.x(bx), g - 0.05 - 0.2 * math.sin(math.pi * throw) * (t < 0.55), 0.018, accent)
            return
        if mode == "attack":
            charge = ease(seg(t, 0.0, t0))
            down = ease(seg(t, t0, t0 + 0.12))
            draw_actor(
                canvas,
                stage,
                actors[1],
                stage.x(0.62 + 0.05 * down),
                g,
                Pose(arms="up" if t > t0 - 0.15 else "down", lean=-LIE * down),
                stage.facing(-1),
            )
            draw_actor(
                canvas,
                stage,
                actors[0],
                stage.x(0.1 + 0.45 * charge),
                g + 0.02,
                walk_pose(t, 0.9, 1.0, lean=0.15 * math.sin(t * 20) * (t > t0)),
                stage.facing(1),
            )
            return
        enter = ease(seg(t, 0.0, 0.7))
        draw_actor(
            canvas, stage, actors[0], stage.x(0.05 + 0.45 * enter), g + 0.03, walk_pose(t, 0.4, 0.6), stage.facing(1)
        )
        back = ease(seg(t, 0.3, 1.0))
        draw_actor(
            canvas,
            stage,
            actors[1],
            stage.x(0.75 + 0.15 * back),
            g,
            walk_pose(t, 0.3, 0.5 * (back > 0), arms="up"),
            stage.facing(1 if back > 0.3 else -1),
        )

    return draw


@program("water")
def water(stage: Stage) -> Motion:
    """People in water: ``mode`` swim (calm laps), drown (struggling, going under), child (a child at the edge)."""
    mode = stage.params.options.get("mode", "swim")
    actors = stage.cast(["human", "human"])
    level = stage.layout.water if stage.layout.water is not None else stage.layout.ground - 0.15
    t0 = 0.5 + 0.1 * stage.rng.random()
    child = actors[0] if actors[0].kind == "child" else stage.cast(["child"])[0]

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        if stage.layout.water is None:
            effects.water(canvas, level, t, (50, 120, 200), 0.9)
        surface = level + 0.1
        if mode == "swim":
            for i, actor in enumerate(actors):
                x = 0.1 + 0.7 * t * stage.params.tempo + 0.3 * i
                draw_actor(
                    canvas,
                    stage,
                    actor,
                    stage.x(x),
                    surface + 0.05 * i,
                    Pose(lean=LIE, arms="up" if (t * 6 + i) % 1 < 0.5 else "forward"),
                    stage.facing(1),
                )
        elif mode == "drown":
            sink = ease(seg(t, t0, 1.0))
            draw_actor(
                canvas,
                stage,
                actors[0],
                stage.x(0.5),
                surface + 0.12 + 0.05 * math.sin(t * 14) + 0.15 * sink,
                Pose(arms="up" if math.sin(t * 16) > 0 else "spread"),
                stage.facing(1),
            )
            canvas.circle(
                stage.x(0.5 + 0.04 * math.sin(t * 11)),
                surface - 0.02,
                0.02 + 0.01 * math.sin(t * 20),
                (230, 240, 250),
                lit=False,
            )
        else:  # a small child wandering to the very edge
            x = 0.2 + 0.35 * ease(seg(t, 0, 0.8))
            draw_actor(
                canvas,
                stage,
                child,
                stage.x(x),
                level - 0.01,
                walk_pose(t, 0.2, 0.4, lean=0.25 * seg(t, 0.7, 1.0)),
                stage.facing(1),
            )
        effects.water(canvas, surface, t, (50, 120, 200), 0.55, x0=-0.3, x1=1.3)

    return draw


@program("signal")
def signal(stage: Stage) -> Motion:
    """A person beside a warning sign or hazard (no-smoking, keep-out): generic fallback for hazards."""
    actors = stage.cast(["human"])
    g, accent = stage.layout.ground, stage.params.accent

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        draw_sign(canvas, stage.x(0.7), g, 0.3, accent, symbol="bar" if stage.params.variant % 2 else "ring")
        draw_actor(canvas, stage, actors[0], stage.x(0.2 + 0.4 * t), g + 0.02, walk_pose(t, 0.3, 0.5), stage.facing(1))

    return draw
