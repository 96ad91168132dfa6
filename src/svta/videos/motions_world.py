"""Motion programs about the world around people: fire and smoke, hazards, disasters, animals and
water (traffic is in :mod:`svta.videos.motions_traffic`). Same contract as :mod:`svta.videos.motions_people`.
"""

from __future__ import annotations

import math

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_box, draw_sign, shade
from svta.videos.motions_people import LIE, program
from svta.videos.stage import Motion, Stage, draw_actor, ease, seg, walk_pose


@program("blaze")
def blaze(stage: Stage) -> Motion:
    """Fire, smoke and sparks: ``mode`` building, arson, wildfire, smoke, vehicle, explosion, gas, chemical, electric."""
    mode = stage.params.options.get("mode", "building")
    actors = stage.cast(["human", "vehicle" if mode == "vehicle" else "human"])
    g, accent = stage.layout.ground, stage.params.accent
    fire_p = effects.Particles.make(stage.rng, 40)
    smoke_p = effects.Particles.make(stage.rng, 16)
    t0 = 0.3 + 0.15 * stage.rng.random()
    if mode == "explosion":
        stage.shake = lambda t: 0.03 * max(0.0, 1 - abs(t - t0) * 6) if t >= t0 else 0.0

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        grow = seg(t, t0, 1.0) if mode in ("arson", "building") else 1.0
        src = stage.x(0.62), g - 0.02
        if mode == "vehicle":
            draw_actor(canvas, stage, actors[1], src[0], g + 0.04, Pose(), stage.facing(1))
        if mode == "chemical":
            canvas.rect(src[0] - 0.03, g - 0.09, src[0] + 0.03, g, shade(accent, 0.6))
            effects.puddle(canvas, src[0] + 0.05, g + 0.01, 0.04 + 0.25 * seg(t, 0.1, 1.0), accent)
        if mode in ("gas", "chemical", "smoke"):
            colour = {"gas": shade(accent, 1.2), "chemical": accent}.get(mode, (95, 95, 100))
            effects.smoke(canvas, smoke_p, src[0], src[1] - 0.05, 0.25 + 0.3 * t, 0.6, t, colour, 0.7)
            effects.haze(canvas, colour if mode != "smoke" else (90, 90, 90), 0.25 * t)
        if mode in ("building", "arson", "wildfire", "vehicle"):
            width = 0.9 if mode == "wildfire" else 0.2
            effects.smoke(canvas, smoke_p, src[0], src[1] - 0.2, 0.3, 0.6, t, (70, 70, 72), 0.7 * grow)
            effects.fire(
                canvas,
                fire_p,
                stage.x(0.5) if mode == "wildfire" else src[0],
                g + 0.02,
                width,
                0.35 if mode != "vehicle" else 0.2,
                t,
                grow,
            )
            if mode == "wildfire":
                effects.haze(canvas, (255, 120, 30), 0.2)
        if mode == "electric" and (t * 7) % 1 < 0.5:
            canvas.line([(stage.x(0.7), g - 0.6), (stage.x(0.7), g)], (60, 60, 60), 0.015)
            effects.sparks(canvas, stage.seed, stage.x(0.7), g - 0.45, 0.15, 10, frame)
        if mode == "explosion" and t >= t0:
            u = seg(t, t0, t0 + 0.25)
            effects.flash(canvas, 0.8 * (1 - u))
            effects.fireball(
                canvas, src[0], g - 0.15, 0.05 + 0.3 * math.sin(u * math.pi / 2) * (1 - 0.6 * seg(t, t0 + 0.3, 1.0))
            )
            effects.smoke(canvas, smoke_p, src[0], g - 0.2, 0.4, 0.5, t, (60, 55, 50), 0.7 * seg(t, t0 + 0.1, t0 + 0.4))
        person = actors[0]
        x, pose = _reaction(mode, t, t0)
        joints = draw_actor(canvas, stage, person, stage.x(x), g + 0.03, pose, stage.facing(1 if x < 0.55 else -1))
        if mode == "arson" and t < t0 and "hand_f" in joints:
            canvas.circle(joints["hand_f"][0], joints["hand_f"][1], 0.012, (255, 200, 50), lit=False)

    return draw


def _reaction(mode: str, t: float, t0: float) -> tuple[float, Pose]:
    """Where the person near a fire/hazard is and how they react."""
    flee = ease(seg(t, t0, 1.0))
    if mode == "arson":
        return 0.5 - 0.45 * flee, walk_pose(
            t, 0.3 + 0.5 * (t > t0), 0.5 + 0.5 * (t > t0), arms="reach" if t < t0 else "up", crouch=0.4 * (t < t0)
        )
    if mode == "explosion":
        return 0.25 - 0.1 * flee, Pose(lean=-LIE * ease(seg(t, t0, t0 + 0.1)), arms="up")
    if mode in ("gas", "chemical", "smoke"):
        return 0.35 - 0.3 * flee, walk_pose(t, 0.5, 0.8 * (t > t0), arms="clutch")
    if mode == "electric":
        return 0.55, Pose(arms="up", lean=-0.3 * seg(t, t0, t0 + 0.1) - (LIE - 0.3) * ease(seg(t, t0 + 0.3, t0 + 0.45)))
    return 0.4 - 0.35 * flee, walk_pose(t, 0.7, 1.0, arms="up")


@program("disaster")
def disaster(stage: Stage) -> Motion:
    """Whole-scene events: ``mode`` flood, quake, landslide, collapse, storm, falling, work."""
    mode = stage.params.options.get("mode", "flood")
    actors = stage.cast(["human", "any", "human"])
    g, accent = stage.layout.ground, stage.params.accent
    rain_p, dust_p, rock_p = (
        effects.Particles.make(stage.rng, 40),
        effects.Particles.make(stage.rng, 14),
        effects.Particles.make(stage.rng, 10),
    )
    t0 = 0.35 + 0.15 * stage.rng.random()
    if mode == "quake":
        stage.shake = lambda t: 0.035 * seg(t, 0.1, 0.25) * (1 - 0.5 * seg(t, 0.8, 1.0))

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        if mode == "collapse":
            drop = seg(t, t0, t0 + 0.3) ** 2
            top = g - 0.55 + 0.5 * drop
            canvas.rect(stage.x(0.55), top, stage.x(0.85), g, (165, 158, 148))
            canvas.rect(stage.x(0.6), top + 0.05, stage.x(0.8), top + 0.09, shade(accent, 0.8))
            for k in range(3):
                effects.crack(canvas, stage.x(0.6 + 0.1 * k), top, g, stage.seed + k)
            effects.smoke(
                canvas, dust_p, stage.x(0.7), g - 0.05, 0.5, 0.4, t, (160, 145, 120), 0.85 * seg(t, t0, t0 + 0.3)
            )
        if mode == "landslide":
            front = ease(seg(t, 0.1, 0.9))
            canvas.polygon(
                [
                    (stage.x(-0.3), 0.0),
                    (stage.x(-0.3 + 1.0 * front), 0.0),
                    (stage.x(-0.1 + 1.1 * front), g + 0.1),
                    (stage.x(-0.3), g + 0.1),
                ],
                (115, 80, 45),
            )
            effects.debris(canvas, rock_p, stage.x(-0.1 + 1.1 * front), g - 0.1, 0.3, 0.4, (90, 80, 70), size=0.02)
        for i, (x, y, pose) in enumerate(_disaster_people(mode, t, t0, g)):
            if mode == "work" and i == 1:
                continue
            draw_actor(canvas, stage, actors[i * 2 if i else 0], stage.x(x), y, pose, stage.facing(1 if i == 0 else -1))
        if mode in ("falling", "work", "quake"):
            fall_t = seg(t, t0 - 0.25, t0) ** 2
            fx = stage.x(0.5 if mode != "quake" else 0.7)
            draw_box(canvas, fx, g - 0.75 * (1 - fall_t) - 0.05 * (mode == "work"), 0.08, accent)
            if t > t0:
                effects.debris(canvas, rock_p, fx, g - 0.03, t - t0, 0.5, accent, size=0.008)
            if mode == "work":
                canvas.line([(fx, 0.0), (fx, g - 0.75 * (1 - fall_t) - 0.13)], (60, 60, 60), 0.006)
        if mode == "storm":
            effects.rain(canvas, rain_p, t, slant=0.8)
            effects.debris(canvas, rock_p, stage.x(-0.1), g - 0.4, (t * 2) % 1, 1.2, accent, gravity=0.2, size=0.012)
            if (t * 5) % 1 < 0.1:
                effects.flash(canvas, 0.5, (230, 235, 255))
        if mode == "flood":
            effects.rain(canvas, rain_p, t)
            effects.water(canvas, 1.02 - (1.02 - g + 0.12) * ease(seg(t, 0.0, 0.85)), t, (95, 80, 55))

    return draw


def _disaster_people(mode: str, t: float, t0: float, g: float) -> list[tuple[float, float, Pose]]:
    if mode == "flood":
        return [
            (0.3 + 0.2 * t, g + 0.02, walk_pose(t, 0.15, 0.3, arms="up")),
            (0.7 - 0.1 * t, g + 0.04, Pose(arms="up")),
        ]
    if mode == "quake":
        return [
            (0.3 - 0.2 * t, g, walk_pose(t, 0.6, 1.0, arms="up", crouch=0.3)),
            (0.6 + 0.3 * t, g + 0.04, walk_pose(t, 0.6, 1.0, arms="up")),
        ]
    if mode in ("falling", "work"):
        struck = t > t0
        return [
            (
                0.22 + 0.25 * min(t, t0),
                g + 0.01,
                walk_pose(
                    t, 0.3, 0.5 * (not struck), lean=LIE * ease(seg(t, t0, t0 + 0.1)), arms="up" if struck else "swing"
                ),
            ),
            (0.8, g, Pose()),
        ]
    if mode == "storm":
        return [(0.2 + 0.2 * t, g, walk_pose(t, 0.2, 0.5, lean=-0.35, arms="up"))]
    return [(0.3 - 0.25 * ease(seg(t, t0, 1.0)), g + 0.02, walk_pose(t, 0.8, 1.0 * (t > t0 - 0.1), arms="up"))]


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
