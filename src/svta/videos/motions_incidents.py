"""Motion programs of incidents between people: fights and threats, falls and collapses, thefts
and hand-overs (acts against property are in :mod:`svta.videos.motions_acts`). Same contract as
:mod:`svta.videos.motions_people`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_bag, draw_weapon, shade
from svta.videos.motions_people import LIE, draw_prop, program
from svta.videos.set_stage import Actor, Modes, Motion, Placement, Stage, bob, draw_actor, ease, seg, walk_pose


@program("fight")
def fight(stage: Stage) -> Motion:
    """Two people in a violent exchange; ``mode`` brawl, assault, abuse, stab, shoot, threaten, harass, argue, arrest, kidnap."""
    mode = stage.params.options.get("mode", "brawl")
    roles = {"abuse": ["human", "any"], "arrest": ["police", "human"], "kidnap": ["human", "human", "vehicle"]}
    actors = stage.cast(roles.get(mode, ["human", "human"]))
    if mode == "abuse" and actors[1].kind not in ("child", "dog", "cat", "elderly"):
        actors[1] = stage.cast(["child"])[0]
    g, tempo = stage.layout.ground, stage.params.tempo
    t_hit = 0.35 + 0.15 * stage.rng.random()
    weapon = stage.params.options.get("weapon", {"stab": "knife", "shoot": "gun", "threaten": "bat"}.get(mode))
    bout, moves = Bout((actors[0], actors[1]), t_hit, tempo, g), FIGHTS.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        a, b = moves(bout, t)
        if mode == "kidnap":
            van_x = 0.85 + (0.8 * ease(seg(t, 0.75, 1.0)))
            draw_actor(canvas, stage, actors[2], stage.x(van_x), g + 0.08, Pose(), stage.facing(1))
            if t > 0.72:
                return
        if mode == "stab" and t > t_hit:
            effects.puddle(canvas, stage.x(b.x), g + 0.01, 0.04 + 0.12 * seg(t, t_hit, 1.0), (150, 10, 15))
        if mode == "arrest" and t > 0.6:
            canvas.circle(stage.x(0.9), g - 0.3, 0.02, (40, 80, 255) if frame % 2 else (255, 30, 30), lit=False)
        ja = a.draw(canvas, stage)
        b.draw(canvas, stage)
        if _impact(mode, t, t_hit, tempo):  # a burst where a blow lands, in the category's colour
            effects.burst(canvas, stage.x((a.x + b.x) / 2), g - 0.6 * stage.height_at(g), 0.07, stage.params.accent)
        if weapon and "hand_f" in ja:
            tip = draw_weapon(canvas, ja["hand_f"], stage.height_at(g), weapon, stage.facing(a.facing))
            if mode == "shoot" and (t * tempo * 5) % 1 < 0.25 and t > t_hit - 0.1:
                effects.glow(canvas, tip[0], tip[1], 0.07, (255, 230, 120))
                effects.flash(canvas, 0.25)

    return draw


def _impact(mode: str, t: float, t_hit: float, tempo: float) -> bool:
    """Whether a blow lands at time ``t``."""
    if mode in ("brawl", "abuse"):
        return abs(math.sin(t * tempo * 14)) > 0.9
    return mode in ("assault", "stab", "kidnap") and t_hit <= t < t_hit + 0.12


@dataclass(frozen=True)
class Bout:
    """What a fight mode needs: the aggressor and the other person, when the blow lands, the tempo
    and the ground line (the aggressor stands on it, the other just in front)."""

    cast: tuple[Actor, Actor]
    t_hit: float
    tempo: float
    ground: float

    def pair(self, a: tuple[float, Pose, int], b: tuple[float, Pose, int]) -> tuple[Placement, Placement]:
        """Placements from the aggressor's and the other's ``(x, pose, facing)``."""
        return (
            Placement(self.cast[0], a[0], self.ground, a[1], a[2]),
            Placement(self.cast[1], b[0], self.ground + 0.01, b[1], b[2]),
        )

    def down(self, t: float) -> float:
        """Eased progress of the victim going down after the blow."""
        return ease(seg(t, self.t_hit, self.t_hit + 0.15))

    def jab(self, t: float) -> float:
        return abs(math.sin(t * self.tempo * 14))


FightMode = Callable[[Bout, float], tuple[Placement, Placement]]
FIGHTS: Modes[FightMode] = Modes("fight", default="brawl")


@FIGHTS.register("brawl")
def _brawl(bout: Bout, t: float) -> tuple[Placement, Placement]:
    jab = bout.jab(t)
    a = (0.42 + 0.03 * math.sin(t * 7), Pose(arms="punch", amount=jab, lean=0.15 * jab), 1)
    lean = 0.15 * (1 - jab) - LIE * ease(seg(t, 0.8, 0.95))
    return bout.pair(a, (0.58 - 0.03 * math.sin(t * 7 + 1), Pose(arms="punch", amount=1 - jab, lean=lean), -1))


@FIGHTS.register("assault", "stab")
def _assault(bout: Bout, t: float) -> tuple[Placement, Placement]:
    t_hit, down = bout.t_hit, bout.down(t)
    approach = ease(seg(t, 0.0, t_hit))
    pa = walk_pose(t, 0.4, 0.5 * (approach < 1), arms="punch", amount=seg(t, t_hit - 0.08, t_hit))
    pb = Pose(arms="clutch" if t > t_hit else "down", lean=-LIE * down)
    return bout.pair((0.15 + 0.3 * approach, pa, 1), (0.6 + 0.1 * down, pb, -1))


@FIGHTS.register("abuse")
def _abuse(bout: Bout, t: float) -> tuple[Placement, Placement]:
    jab = bout.jab(t)
    pa = Pose(arms="punch", amount=jab, lean=0.3 * jab)
    return bout.pair((0.44, pa, 1), (0.58, Pose(arms="clutch", crouch=0.7, lean=-0.2 * jab, stride=0.0), -1))


@FIGHTS.register("shoot")
def _shoot(bout: Bout, t: float) -> tuple[Placement, Placement]:
    t_hit = bout.t_hit
    fleeing = walk_pose(t, 0.6, 1.0 * (t < t_hit), arms="up", lean=-LIE * bout.down(t))
    return bout.pair((0.2, Pose(arms="forward"), 1), (0.75 + 0.2 * ease(seg(t, 0.2, t_hit)), fleeing, 1))


@FIGHTS.register("threaten")
def _threaten(bout: Bout, t: float) -> tuple[Placement, Placement]:
    a = (0.35, Pose(arms="forward", lean=0.1 * math.sin(t * 8)), 1)
    return bout.pair(a, (0.6 + 0.1 * seg(t, 0.2, 0.9), Pose(arms="up"), -1))


@FIGHTS.register("harass")
def _harass(bout: Bout, t: float) -> tuple[Placement, Placement]:
    xb = 0.35 + 0.45 * t * bout.tempo + 0.15 * ease(seg(t, 0.5, 1.0))
    a = (xb - 0.12 - 0.05 * seg(t, 0.5, 1.0), walk_pose(t, 0.5, 0.5, arms="reach", amount=t), 1)
    return bout.pair(a, (xb, walk_pose(t, 0.6, 0.5 + 0.5 * seg(t, 0.5, 0.6)), 1))


@FIGHTS.register("argue")
def _argue(bout: Bout, t: float) -> tuple[Placement, Placement]:
    lean = 0.15 * math.sin(t * bout.tempo * 10)
    a = (0.42, Pose(arms="wave" if lean > 0 else "forward", amount=t, lean=lean), 1)
    return bout.pair(a, (0.58, Pose(arms="wave" if lean < 0 else "spread", amount=t, lean=-lean), -1))


@FIGHTS.register("arrest")
def _arrest(bout: Bout, t: float) -> tuple[Placement, Placement]:
    catch = seg(t, 0.0, 0.55)
    xb = 0.4 + 0.25 * catch
    xa = 0.05 + 0.55 * catch
    pb = walk_pose(t, 0.8, 1.0 * (catch < 1), lean=LIE * ease(seg(t, 0.55, 0.7)), arms="up")
    pa = walk_pose(t, 0.8, 1.0 * (catch < 1), arms="forward", crouch=0.6 * seg(t, 0.6, 0.75))
    return bout.pair((xa, pa, 1), (xb, pb, 1))


@FIGHTS.register("kidnap")
def _kidnap(bout: Bout, t: float) -> tuple[Placement, Placement]:
    """Grab the victim and drag them to a van on the right."""
    drag = ease(seg(t, bout.t_hit, 0.72))
    xa = 0.35 + 0.2 * seg(t, 0.0, bout.t_hit) + 0.25 * drag
    a = (xa, walk_pose(t, 0.5, 0.5, arms="reach", amount=1.0), 1)
    return bout.pair(a, (0.55 + 0.25 * drag, Pose(arms="up", lean=-0.4 * drag), -1))


@program("fall")
def fall(stage: Stage) -> Motion:
    """Someone loses their footing or consciousness: ``mode`` trip, faint, height, injury, drunk, medical, choke, startle, escalator."""
    mode = stage.params.options.get("mode", "trip")
    actors = stage.cast(["human", "human"])
    g, tempo = stage.layout.ground, stage.params.tempo
    t0 = 0.35 + 0.2 * stage.rng.random()
    helper = mode in ("medical", "choke")
    slip, falling = Slip(actors[0], t0, tempo, g), FALLS.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        faller = falling(slip, t)
        x = faller.x
        if mode == "height":
            aspect = canvas.H / canvas.W
            canvas.line([(stage.x(0.33), g), (stage.x(0.42), g - 0.45)], (170, 170, 175), 0.012)
            canvas.line(
                [(stage.x(0.38) - 0.02 * aspect, g), (stage.x(0.47) - 0.02 * aspect, g - 0.45)], (170, 170, 175), 0.012
            )
            canvas.rect(stage.x(0.3), g - 0.47, stage.x(0.52), g - 0.44, shade(stage.params.accent, 0.8))
        if mode == "startle" and t0 < t < t0 + 0.15:
            effects.flash(canvas, 0.5 * (1 - seg(t, t0, t0 + 0.15)), stage.params.accent)
            canvas.circle(stage.x(x + 0.15), g - 0.15, 0.06, stage.params.accent)
        if mode == "escalator" and stage.place != "escalator":
            canvas.polygon(
                [(stage.x(0.2), g), (stage.x(0.35), g), (stage.x(0.8), g - 0.5), (stage.x(0.65), g - 0.5)],
                (120, 125, 135),
            )
        joints = faller.draw(canvas, stage)
        if mode == "drunk":
            draw_prop(canvas, stage, "bottle", joints, stage.facing(1), stage.height_at(g), t)
        if helper:
            arrive = ease(seg(t, t0 + 0.1, t0 + 0.4))
            hx = 0.95 - 0.3 * arrive if mode == "medical" else x - 0.08
            hp = walk_pose(
                t, 0.5, 0.5 * (arrive < 1), arms="forward", crouch=0.7 * (arrive >= 1) * (mode == "medical"), amount=t
            )
            draw_actor(
                canvas, stage, actors[1], stage.x(hx), g + 0.01, hp, stage.facing(-1 if mode == "medical" else 1)
            )

    return draw


@dataclass(frozen=True)
class Slip:
    """What a fall mode needs: the person who falls, when it happens (``t0``), the tempo, the ground line."""

    person: Actor
    t0: float
    tempo: float
    ground: float

    def at(self, x: float, y: float, pose: Pose) -> Placement:
        return Placement(self.person, x, y, pose, 1)

    def down(self, t: float) -> float:
        """Eased progress of going down at ``t0``."""
        return ease(seg(t, self.t0, self.t0 + 0.12))


FallMode = Callable[[Slip, float], Placement]
FALLS: Modes[FallMode] = Modes("fall", default="trip")


@FALLS.register("trip")
def _trip(slip: Slip, t: float) -> Placement:
    t0, down = slip.t0, slip.down(t)
    x = 0.2 + 0.35 * min(t, t0) + 0.05 * down
    return slip.at(
        x, slip.ground, walk_pose(t, 0.35, 0.5 * (t < t0), lean=LIE * down, arms="up" if t > t0 else "swing")
    )


@FALLS.register("faint")
def _faint(slip: Slip, t: float) -> Placement:
    t0 = slip.t0
    slow = ease(seg(t, t0, t0 + 0.3))
    pose = Pose(lean=0.12 * math.sin(t * 10) * (t < t0) - LIE * slow, arms="clutch" if t < t0 + 0.1 else "down")
    return slip.at(0.5, slip.ground, pose)


@FALLS.register("height")
def _from_height(slip: Slip, t: float) -> Placement:
    t0 = slip.t0
    drop = seg(t, t0, t0 + 0.2) ** 2
    pose = Pose(arms="up", lean=LIE * ease(seg(t, t0 + 0.1, t0 + 0.25)))
    return slip.at(0.45 + 0.08 * drop, slip.ground - 0.45 * (1 - drop), pose)


@FALLS.register("injury")
def _injury(slip: Slip, t: float) -> Placement:
    t0, down = slip.t0, slip.down(t)
    x = 0.1 + 0.6 * min(t, t0) * 1.4
    pose = walk_pose(t, 0.75, 1.0 * (t < t0), lean=LIE * down, arms="clutch" if t > t0 else "swing", crouch=0.3 * down)
    return slip.at(x, slip.ground, pose)


@FALLS.register("drunk")
def _drunk(slip: Slip, t: float) -> Placement:
    x = 0.25 + 0.3 * t + 0.04 * math.sin(t * 8)
    lean = 0.4 * math.sin(t * 6) * (t < 0.75) + LIE * ease(seg(t, 0.75, 0.85))
    return slip.at(x, slip.ground + 0.02 * math.sin(t * 5), walk_pose(t, 0.2, 0.4, lean=lean, arms="spread"))


@FALLS.register("medical")
def _collapse(slip: Slip, t: float) -> Placement:
    t0 = slip.t0
    pose = Pose(arms="clutch", crouch=0.8 * seg(t, t0 - 0.1, t0), lean=-LIE * ease(seg(t, t0 + 0.05, t0 + 0.2)))
    return slip.at(0.45, slip.ground, pose)


@FALLS.register("choke")
def _choke(slip: Slip, t: float) -> Placement:
    return slip.at(0.5, slip.ground, Pose(arms="clutch", lean=0.2 + 0.1 * math.sin(t * 14), crouch=0.2))


@FALLS.register("startle")
def _startle(slip: Slip, t: float) -> Placement:
    t0 = slip.t0
    jump = bob(seg(t, t0, t0 + 0.1), 1, 0.15)
    back = ease(seg(t, t0, 1.0))
    pose = walk_pose(t, 0.3 + 0.6 * (t > t0), 0.5 + 0.5 * (t > t0), arms="up" if t > t0 else "swing", lift=jump)
    return slip.at(0.45 - 0.3 * back, slip.ground, pose)


@FALLS.register("escalator")
def _escalator(slip: Slip, t: float) -> Placement:
    """Riding up the slope, then tumbling back down."""
    u = seg(t, 0.0, slip.t0)
    tumble = seg(t, slip.t0, slip.t0 + 0.3)
    pos = 0.3 + 0.4 * u - 0.35 * tumble
    return slip.at(pos, slip.ground - (pos - 0.27) * 1.1, Pose(lean=tumble * 6.0, arms="up" if tumble else "down"))


@program("take")
def take(stage: Stage) -> Motion:
    """Something changes hands or is left: ``mode`` rob, steal, shoplift, pickpocket, snatch, deal, litter, abandon."""
    mode = stage.params.options.get("mode", "steal")
    actors = stage.cast(["bike" if mode == "snatch" else "human", "human"])
    g, accent, tempo = stage.layout.ground, stage.params.accent, stage.params.tempo
    t0 = 0.4 + 0.15 * stage.rng.random()
    exchange = TAKES.get(mode)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        grab = seg(t, t0, t0 + 0.08)
        flee = ease(seg(t, t0 + 0.08, 1.0))
        handover = exchange(Timing(t, t0, grab, flee, tempo))
        xa, xb, item = handover.taker, handover.other, handover.item
        pa = walk_pose(t, 0.5 + 0.6 * flee, 0.5 + 0.5 * (flee > 0), arms="reach" if grab < 1 else "swing", amount=grab)
        pb = Pose(arms="up" if mode in ("rob", "snatch") and t > t0 else "down")
        if mode in ("deal",):
            pa = Pose(arms="forward" if abs(t - t0) < 0.15 else "down", lean=0.05 * math.sin(t * 12))
            pb = Pose(arms="forward" if abs(t - t0) < 0.15 else "down")
        if xb is not None:
            draw_actor(
                canvas, stage, actors[1], stage.x(xb), g + 0.01, pb, stage.facing(-1 if mode in ("rob", "deal") else 1)
            )
        ja = draw_actor(
            canvas, stage, actors[0], stage.x(xa), g, pa, stage.facing(-1 if mode == "deal" and t < t0 else 1)
        )
        if mode == "rob" and "hand_f" in ja:
            draw_weapon(
                canvas,
                ja["hand_f"],
                stage.height_at(g),
                "knife" if stage.params.variant % 2 else "gun",
                stage.facing(1),
            )
        if item is not None:
            ix, on_ground = item
            size = 0.09 if mode != "pickpocket" else 0.045
            iy = g - (0.0 if on_ground else 0.2)
            draw_bag(canvas, stage.x(ix), iy - (size if on_ground else 0), size, accent)

    return draw


@dataclass(frozen=True)
class Timing:
    """The clock of a take: the time ``t``, the moment of the grab ``t0``, the grab's progress (0..1),
    the eased flight after it (0..1) and the category's tempo."""

    t: float
    t0: float
    grab: float
    flee: float
    tempo: float


@dataclass(frozen=True)
class Handover:
    """x of the taker, x of the other person (``None``: nobody), and the item's ``(x, on_ground)`` (``None``: gone)."""

    taker: float
    other: float | None
    item: tuple[float, bool] | None


TakeMode = Callable[[Timing], Handover]
TAKES: Modes[TakeMode] = Modes("take", default="steal")


@TAKES.register("rob")
def _rob(c: Timing) -> Handover:
    xa = 0.2 + 0.3 * seg(c.t, 0, c.t0) + 0.6 * c.flee
    return Handover(xa, 0.6, (xa + 0.04 if c.grab >= 1 else 0.58, False))


@TAKES.register("snatch")
def _snatch(c: Timing) -> Handover:
    xa = -0.1 + 1.1 * c.t * c.tempo
    xb = 0.45 + 0.1 * c.t
    return Handover(xa, xb, ((xa if xa > xb else xb + 0.03), False))


@TAKES.register("pickpocket")
def _pickpocket(c: Timing) -> Handover:
    xb = 0.3 + 0.25 * c.t
    xa = xb - 0.1 + 0.03 * c.grab - 0.4 * c.flee
    return Handover(xa, xb, ((xa + 0.03) if c.grab >= 1 else xb - 0.02, False))


@TAKES.register("deal")
def _deal(c: Timing) -> Handover:
    return Handover(0.42, 0.58, (0.5 + 0.08 * math.cos(seg(c.t, c.t0 - 0.1, c.t0 + 0.1) * math.pi), False))


@TAKES.register("litter", "abandon")
def _leave(c: Timing) -> Handover:
    xa = 0.15 + 0.7 * c.t * c.tempo
    drop_x = 0.15 + 0.7 * c.t0 * c.tempo
    return Handover(xa, None, (xa + 0.03, False) if c.t < c.t0 else (drop_x, True))


@TAKES.register("shoplift")
def _shoplift(c: Timing) -> Handover:
    """Take from a shelf, hide it, walk out."""
    xa = 0.25 + 0.2 * seg(c.t, 0, c.t0) + 0.5 * c.flee
    return Handover(xa, None, (0.5, True) if c.t < c.t0 else None)


@TAKES.register("steal")
def _steal(c: Timing) -> Handover:
    """Steal an unattended bag."""
    xa = 0.1 + 0.5 * seg(c.t, 0, c.t0) + 0.45 * c.flee
    return Handover(xa, 0.9, ((xa + 0.04, False) if c.grab >= 1 else (0.62, True)))
