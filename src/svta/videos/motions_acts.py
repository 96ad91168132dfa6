"""The ``act`` motion program: a person acting on the scene (vandalism, burglary, trespass, a stunt,
a throw). Each ``mode`` is a small registered function drawing its frame around the person's path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_weapon
from svta.videos.motions_people import program
from svta.videos.set_stage import Actor, Modes, Motion, Placement, Stage, ease, seg, walk_pose


@dataclass(frozen=True)
class Act:
    """What an act mode needs for one clip: the stage, the cast (the person acting and someone or
    something else), when the act happens (``t0``) and the glass or debris particles."""

    stage: Stage
    cast: tuple[Actor, Actor]
    t0: float
    shards: effects.Particles

    @property
    def ground(self) -> float:
        return self.stage.layout.ground

    def person(self, canvas: Canvas, x: float, y: float, pose: Pose) -> dict:
        """Draw the person acting at ``(x, y)``, facing right; returns the joints."""
        return Placement(self.cast[0], x, y, pose, 1).draw(canvas, self.stage)


ActMode = Callable[[Canvas, Act, float, int], None]
ACTS: Modes[ActMode] = Modes("act", default="throw")


@program("act")
def act(stage: Stage) -> Motion:
    """A person acting on the scene: ``mode`` vandal, trespass, stunt, burgle, throw (see :data:`ACTS`)."""
    mode = stage.params.options.get("mode", "throw")
    actors = stage.cast(["human", "any"])
    shards = effects.Particles.make(stage.rng, 12)
    scene = Act(stage, (actors[0], actors[1]), 0.4 + 0.1 * stage.rng.random(), shards)
    frame_of = ACTS.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        frame_of(canvas, scene, t, frame)

    return draw


def _window(canvas: Canvas, scene: Act, t: float) -> float:
    """A shop or house window, dark once broken at ``t0``; returns its mirrored x."""
    g, aspect = scene.ground, canvas.H / canvas.W
    wx = scene.stage.x(0.62)
    colour = (40, 40, 50) if t > scene.t0 else (170, 205, 235)
    canvas.rect(wx - 0.08 * aspect, g - 0.42, wx + 0.08 * aspect, g - 0.2, colour)
    return wx


def _bat(canvas: Canvas, scene: Act, joints: dict, t: float) -> None:
    """The bat that breaks the window, until just after the blow."""
    if "hand_f" in joints and t < scene.t0 + 0.1:
        draw_weapon(canvas, joints["hand_f"], scene.stage.height_at(scene.ground), "bat", scene.stage.facing(1))


@ACTS.register("vandal")
def _vandal(canvas: Canvas, scene: Act, t: float, frame: int) -> None:
    stage, g, t0 = scene.stage, scene.ground, scene.t0
    wx = _window(canvas, scene, t)
    for k in range(int(6 * seg(t, 0.1, 0.9))):  # graffiti strokes, one more every few frames
        stroke = [(stage.x(0.2 + 0.05 * k), g - 0.3 - 0.04 * (k % 2)), (stage.x(0.24 + 0.05 * k), g - 0.22)]
        canvas.line(stroke, stage.params.accent, 0.015)
    effects.debris(canvas, scene.shards, wx, g - 0.3, t - t0, 0.6, (200, 230, 250), size=0.006)
    pose = walk_pose(t, 0.3, 0.5 * (t < t0), arms="throw" if t < t0 + 0.1 else "swing", amount=seg(t, t0 - 0.15, t0))
    joints = scene.person(canvas, 0.2 + 0.32 * seg(t, 0, t0), g, pose)
    _bat(canvas, scene, joints, t)


@ACTS.register("burgle")
def _burgle(canvas: Canvas, scene: Act, t: float, frame: int) -> None:
    g, t0 = scene.ground, scene.t0
    wx = _window(canvas, scene, t)
    effects.debris(canvas, scene.shards, wx, g - 0.3, t - t0, 0.6, (200, 230, 250), size=0.006)
    climb = ease(seg(t, t0 + 0.1, t0 + 0.4))  # in through the broken window
    pose = walk_pose(t, 0.3, 0.5 * (t < t0), arms="punch" if t < t0 + 0.1 else "up", amount=seg(t, t0 - 0.1, t0))
    joints = scene.person(canvas, 0.3 + 0.3 * seg(t, 0, t0) + 0.02 * climb, g - 0.2 * climb, pose)
    _bat(canvas, scene, joints, t)


@ACTS.register("trespass")
def _trespass(canvas: Canvas, scene: Act, t: float, frame: int) -> None:
    stage, g, t0 = scene.stage, scene.ground, scene.t0
    for k in range(12):  # a fence
        fx = stage.x(0.3 + 0.04 * k)
        canvas.line([(fx, g), (fx, g - 0.3)], (110, 110, 115), 0.008)
    canvas.line([(stage.x(0.28), g - 0.28), (stage.x(0.78), g - 0.28)], (110, 110, 115), 0.008)
    climb = seg(t, t0 - 0.15, t0 + 0.15)
    x = 0.15 + 0.35 * seg(t, 0, t0 - 0.15) + 0.3 * ease(seg(t, t0 + 0.15, 1.0))
    pose = walk_pose(t, 0.3, 0.5, arms="up" if 0 < climb < 1 else "swing")
    scene.person(canvas, x + 0.05 * climb, g - 0.3 * math.sin(climb * math.pi), pose)


@ACTS.register("stunt")
def _stunt(canvas: Canvas, scene: Act, t: float, frame: int) -> None:
    """Balance along a roof edge, then leap a gap."""
    t0 = scene.t0
    leap = seg(t, t0, t0 + 0.2)
    x = 0.1 + 0.35 * seg(t, 0, t0) + 0.3 * leap + 0.2 * seg(t, t0 + 0.2, 1.0)
    pose = walk_pose(t, 0.3, 0.4, arms="spread", lean=0.15 * math.sin(t * 9))
    scene.person(canvas, x, scene.ground - 0.18 * math.sin(leap * math.pi), pose)


@ACTS.register("throw")
def _throw(canvas: Canvas, scene: Act, t: float, frame: int) -> None:
    stage, g, t0, accent = scene.stage, scene.ground, scene.t0, scene.stage.params.accent
    x = 0.2
    scene.person(canvas, x, g, Pose(arms="throw", amount=seg(t, t0 - 0.15, t0) if t < t0 + 0.2 else 1.0))
    if t > t0:  # the projectile's arc, then its pieces where it lands
        u = seg(t, t0, t0 + 0.35)
        canvas.circle(stage.x(x + 0.05 + 0.5 * u), g - 0.3 - 0.2 * math.sin(u * math.pi) + 0.25 * u * u, 0.02, accent)
        if u >= 1:
            effects.debris(canvas, scene.shards, stage.x(x + 0.55), g - 0.05, t - t0 - 0.35, 0.4, accent, size=0.008)
    target = Pose(arms="up" if t > t0 + 0.3 else "down", crouch=0.4 * (t > t0 + 0.3))
    Placement(scene.cast[1], 0.78, g + 0.02, target, -1).draw(canvas, stage)
