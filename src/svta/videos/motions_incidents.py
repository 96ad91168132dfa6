"""Motion programs of incidents between people: fights and threats, falls and collapses, thefts
and hand-overs (acts against property are in :mod:`svta.videos.motions_acts`). Same contract as
:mod:`svta.videos.motions_people`.
"""

from __future__ import annotations

import math

from svta.videos import effects
from svta.videos.draw import Canvas, Pose, draw_bag, draw_weapon, shade
from svta.videos.motions_people import LIE, draw_prop, program
from svta.videos.stage import Motion, Stage, bob, draw_actor, ease, seg, walk_pose


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

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        (xa, pa, fa), (xb, pb, fb) = _fighters(mode, t, t_hit, tempo)
        if mode == "kidnap":
            van_x = 0.85 + (0.8 * ease(seg(t, 0.75, 1.0)))
            draw_actor(canvas, stage, actors[2], stage.x(van_x), g + 0.08, Pose(), stage.facing(1))
            if t > 0.72:
                return
        if mode == "stab" and t > t_hit:
            effects.puddle(canvas, stage.x(xb), g + 0.01, 0.04 + 0.12 * seg(t, t_hit, 1.0), (150, 10, 15))
        if mode == "arrest" and t > 0.6:
            canvas.circle(stage.x(0.9), g - 0.3, 0.02, (40, 80, 255) if frame % 2 else (255, 30, 30), lit=False)
        ja = draw_actor(canvas, stage, actors[0], stage.x(xa), g, pa, stage.facing(fa))
        draw_actor(canvas, stage, actors[1], stage.x(xb), g + 0.01, pb, stage.facing(fb))
        if _impact(mode, t, t_hit, tempo):  # a burst where a blow lands, in the category's colour
            effects.burst(canvas, stage.x((xa + xb) / 2), g - 0.6 * stage.height_at(g), 0.07, stage.params.accent)
        if weapon and "hand_f" in ja:
            tip = draw_weapon(canvas, ja["hand_f"], stage.height_at(g), weapon, stage.facing(fa))
            if mode == "shoot" and (t * tempo * 5) % 1 < 0.25 and t > t_hit - 0.1:
                effects.glow(canvas, tip[0], tip[1], 0.07, (255, 230, 120))
                effects.flash(canvas, 0.25)

    return draw


def _impact(mode: str, t: float, t_hit: float, tempo: float) -> bool:
    """Whether a blow lands at time ``t``."""
    if mode in ("brawl", "abuse"):
        return abs(math.sin(t * tempo * 14)) > 0.9
    return mode in ("assault", "stab", "kidnap") and t_hit <= t < t_hit + 0.12


def _fighters(
    mode: str, t: float, t_hit: float, tempo: float
) -> tuple[tuple[float, Pose, int], tuple[float, Pose, int]]:
    """(x, pose, facing) of the aggressor and the other person for a fight ``mode``."""
    down = ease(seg(t, t_hit, t_hit + 0.15))
    jab = abs(math.sin(t * tempo * 14))
    if mode == "brawl":
        a = (0.42 + 0.03 * math.sin(t * 7), Pose(arms="punch", amount=jab, lean=0.15 * jab), 1)
        b = (
            0.58 - 0.03 * math.sin(t * 7 + 1),
            Pose(arms="punch", amount=1 - jab, lean=0.15 * (1 - jab) - LIE * ease(seg(t, 0.8, 0.95))),
            -1,
        )
        return a, b
    if mode in ("assault", "stab"):
        approach = ease(seg(t, 0.0, t_hit))
        xa = 0.15 + 0.3 * approach
        pa = walk_pose(t, 0.4, 0.5 * (approach < 1), arms="punch", amount=seg(t, t_hit - 0.08, t_hit))
        pb = Pose(arms="clutch" if t > t_hit else "down", lean=-LIE * down)
        return (xa, pa, 1), (0.6 + 0.1 * down, pb, -1)
    if mode == "abuse":
        pa = Pose(arms="punch", amount=jab, lean=0.3 * jab)
        return (0.44, pa, 1), (0.58, Pose(arms="clutch", crouch=0.7, lean=-0.2 * jab, stride=0.0), -1)
    if mode == "shoot":
        pa = Pose(arms="forward")
        return (0.2, pa, 1), (
            0.75 + 0.2 * ease(seg(t, 0.2, t_hit)),
            walk_pose(t, 0.6, 1.0 * (t < t_hit), arms="up", lean=-LIE * down),
            1,
        )
    if mode == "threaten":
        return (0.35, Pose(arms="forward", lean=0.1 * math.sin(t * 8)), 1), (
            0.6 + 0.1 * seg(t, 0.2, 0.9),
            Pose(arms="up"),
            -1,
        )
    if mode == "harass":
        xb = 0.35 + 0.45 * t * tempo + 0.15 * ease(seg(t, 0.5, 1.0))
        return (xb - 0.12 - 0.05 * seg(t, 0.5, 1.0), walk_pose(t, 0.5, 0.5, arms="reach", amount=t), 1), (
            xb,
            walk_pose(t, 0.6, 0.5 + 0.5 * seg(t, 0.5, 0.6)),
            1,
        )
    if mode == "argue":
        lean = 0.15 * math.sin(t * tempo * 10)
        return (0.42, Pose(arms="wave" if lean > 0 else "forward", amount=t, lean=lean), 1), (
            0.58,
            Pose(arms="wave" if lean < 0 else "spread", amount=t, lean=-lean),
            -1,
        )
    if mode == "arrest":
        catch = seg(t, 0.0, 0.55)
        xb = 0.4 + 0.25 * catch
        xa = 0.05 + 0.55 * catch
        pb = walk_pose(t, 0.8, 1.0 * (catch < 1), lean=LIE * ease(seg(t, 0.55, 0.7)), arms="up")
        pa = walk_pose(t, 0.8, 1.0 * (catch < 1), arms="forward", crouch=0.6 * seg(t, 0.6, 0.75))
        return (xa, pa, 1), (xb, pb, 1)
    # kidnap: grab the victim and drag them to a van on the right
    drag = ease(seg(t, t_hit, 0.72))
    xb = 0.55 + 0.25 * drag
    return (0.35 + 0.2 * seg(t, 0.0, t_hit) + 0.25 * drag, walk_pose(t, 0.5, 0.5, arms="reach", amount=1.0), 1), (
        xb,
        Pose(arms="up", lean=-0.4 * drag),
        -1,
    )


@program("fall")
def fall(stage: Stage) -> Motion:
    """Someone loses their footing or consciousness: ``mode`` trip, faint, height, injury, drunk, medical, choke, startle, escalator."""
    mode = stage.params.options.get("mode", "trip")
    actors = stage.cast(["human", "human"])
    g, tempo = stage.layout.ground, stage.params.tempo
    t0 = 0.35 + 0.2 * stage.rng.random()
    helper = mode in ("medical", "choke")

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        x, y, pose = _faller(mode, t, t0, tempo, g)
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
        joints = draw_actor(canvas, stage, actors[0], stage.x(x), y, pose, stage.facing(1))
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


def _faller(mode: str, t: float, t0: float, tempo: float, g: float) -> tuple[float, float, Pose]:
    """Position and pose of the person who falls."""
    down = ease(seg(t, t0, t0 + 0.12))
    if mode == "trip":
        x = 0.2 + 0.35 * min(t, t0) + 0.05 * down
        return x, g, walk_pose(t, 0.35, 0.5 * (t < t0), lean=LIE * down, arms="up" if t > t0 else "swing")
    if mode == "faint":
        slow = ease(seg(t, t0, t0 + 0.3))
        return (
            0.5,
            g,
            Pose(lean=0.12 * math.sin(t * 10) * (t < t0) - LIE * slow, arms="clutch" if t < t0 + 0.1 else "down"),
        )
    if mode == "height":
        drop = seg(t, t0, t0 + 0.2) ** 2
        return 0.45 + 0.08 * drop, g - 0.45 * (1 - drop), Pose(arms="up", lean=LIE * ease(seg(t, t0 + 0.1, t0 + 0.25)))
    if mode == "injury":
        x = 0.1 + 0.6 * min(t, t0) * 1.4
        return (
            x,
            g,
            walk_pose(
                t, 0.75, 1.0 * (t < t0), lean=LIE * down, arms="clutch" if t > t0 else "swing", crouch=0.3 * down
            ),
        )
    if mode == "drunk":
        x = 0.25 + 0.3 * t + 0.04 * math.sin(t * 8)
        return (
            x,
            g + 0.02 * math.sin(t * 5),
            walk_pose(
                t, 0.2, 0.4, lean=0.4 * math.sin(t * 6) * (t < 0.75) + LIE * ease(seg(t, 0.75, 0.85)), arms="spread"
            ),
        )
    if mode == "medical":
        return (
            0.45,
            g,
            Pose(arms="clutch", crouch=0.8 * seg(t, t0 - 0.1, t0), lean=-LIE * ease(seg(t, t0 + 0.05, t0 + 0.2))),
        )
    if mode == "choke":
        return 0.5, g, Pose(arms="clutch", lean=0.2 + 0.1 * math.sin(t * 14), crouch=0.2)
    if mode == "startle":
        jump = bob(seg(t, t0, t0 + 0.1), 1, 0.15)
        back = ease(seg(t, t0, 1.0))
        return (
            0.45 - 0.3 * back,
            g,
            walk_pose(t, 0.3 + 0.6 * (t > t0), 0.5 + 0.5 * (t > t0), arms="up" if t > t0 else "swing", lift=jump),
        )
    # escalator: riding up the slope, then tumbling back down
    u = seg(t, 0.0, t0)
    tumble = seg(t, t0, t0 + 0.3)
    pos = 0.3 + 0.4 * u - 0.35 * tumble
    return pos, g - (pos - 0.27) * 1.1, Pose(lean=tumble * 6.0, arms="up" if tumble else "down")


@program("take")
def take(stage: Stage) -> Motion:
    """Something changes hands or is left: ``mode`` rob, steal, shoplift, pickpocket, snatch, deal, litter, abandon."""
    mode = stage.params.options.get("mode", "steal")
    actors = stage.cast(["bike" if mode == "snatch" else "human", "human"])
    g, accent, tempo = stage.layout.ground, stage.params.accent, stage.params.tempo
    t0 = 0.4 + 0.15 * stage.rng.random()

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        grab = seg(t, t0, t0 + 0.08)
        flee = ease(seg(t, t0 + 0.08, 1.0))
        xa, xb, item = _exchange(mode, t, t0, grab, flee, tempo)
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


def _exchange(
    mode: str, t: float, t0: float, grab: float, flee: float, tempo: float
) -> tuple[float, float | None, tuple[float, bool] | None]:
    """x of the taker, x of the other person (None if absent), and (x, on_ground) of the item."""
    if mode == "rob":
        xa = 0.2 + 0.3 * seg(t, 0, t0) + 0.6 * flee
        return xa, 0.6, (xa + 0.04 if grab >= 1 else 0.58, False)
    if mode == "snatch":
        xa = -0.1 + 1.1 * t * tempo
        xb = 0.45 + 0.1 * t
        taken = xa > xb
        return xa, xb, ((xa if taken else xb + 0.03), False)
    if mode == "pickpocket":
        xb = 0.3 + 0.25 * t
        xa = xb - 0.1 + 0.03 * grab - 0.4 * flee
        return xa, xb, ((xa + 0.03) if grab >= 1 else xb - 0.02, False)
    if mode == "deal":
        return 0.42, 0.58, (0.5 + 0.08 * math.cos(seg(t, t0 - 0.1, t0 + 0.1) * math.pi), False)
    if mode in ("litter", "abandon"):
        xa = 0.15 + 0.7 * t * tempo
        drop_x = 0.15 + 0.7 * t0 * tempo
        return xa, None, (xa + 0.03, False) if t < t0 else (drop_x, True)
    if mode == "shoplift":  # take from a shelf, hide it, walk out
        xa = 0.25 + 0.2 * seg(t, 0, t0) + 0.5 * flee
        return xa, None, (0.5, True) if t < t0 else None
    # steal an unattended bag
    xa = 0.1 + 0.5 * seg(t, 0, t0) + 0.45 * flee
    return xa, 0.9, ((xa + 0.04, False) if grab >= 1 else (0.62, True))
