"""The set a motion program plays on (a stage in the theatre's sense; pipeline stages live elsewhere): the parsed scene, the background layout, the cast (the
caption's actors matched to the program's roles, the rest drawn as bystanders) and seeded choices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from svta.videos.draw import (
    HAIR,
    SKIN_TONES,
    TROUSERS,
    Canvas,
    Look,
    Pose,
    draw_bike,
    draw_car,
    draw_dog,
    draw_person,
    draw_snake,
    shade,
)
from svta.videos.places import Layout
from svta.videos.scene import ANIMAL_KINDS, COLOUR_RGB, HUMAN_KINDS, VEHICLE_KINDS, ActorSpec, SceneSpec

RGB = tuple[int, int, int]
DEFAULT_COLOURS = tuple(COLOUR_RGB[c] for c in ("red", "blue", "green", "yellow", "orange", "purple", "white", "pink"))
ANIMAL_COLOURS: tuple[RGB, ...] = ((125, 78, 38), (200, 160, 110), (40, 35, 30), (235, 230, 220), (130, 125, 120))
BIKE_FRAME: RGB = (45, 45, 50)
ROLE_KINDS = {"human": HUMAN_KINDS, "animal": ANIMAL_KINDS, "vehicle": VEHICLE_KINDS}
UNIFORMS: dict[str, RGB] = {"police": (25, 35, 95), "worker": (250, 130, 20)}
DEFAULT_KIND = {"human": "person", "animal": "dog", "vehicle": "car", "bike": "bicycle", "any": "person"}


@dataclass(frozen=True)
class ProgramParams:
    """What a category adds to its motion program.

    Attributes:
        accent: Colour of the category's props and effects (projectiles, bags, spills, signs).
        tempo: Speed factor of the motion (0.75..1.3).
        variant: Small integer choosing among a program's variations.
        options: Program-specific settings from the taxonomy's `motion` field (``mode``, ``count``, ...).
    """

    accent: RGB
    tempo: float = 1.0
    variant: int = 0
    options: dict = field(default_factory=dict)


@dataclass
class Actor:
    """One cast member: what it is, its colour, and (for people) its seeded looks."""

    kind: str
    colour: RGB
    look: Look | None = None
    named: bool = False  # comes from the caption (else a default the program needed)

    @property
    def is_human(self) -> bool:
        return self.kind in HUMAN_KINDS


Motion = Callable[[Canvas, float, int], None]
F = TypeVar("F", bound=Callable)
# program → (the option naming its variant, the known values): lets a taxonomy's motion field be checked
MODE_CATALOG: dict[str, tuple[str, Collection[str]]] = {}


@dataclass
class Placement:
    """Where one actor is in a frame and how it moves: feet (or wheels) at ``(x, y)`` in scene units,
    written left to right (the stage mirrors ``x`` and ``facing``)."""

    actor: Actor
    x: float
    y: float
    pose: Pose
    facing: int = 1

    def draw(self, canvas: Canvas, stage: Stage) -> dict:
        """Draw the actor; returns its joints (see :func:`draw_actor`)."""
        return draw_actor(canvas, stage, self.actor, stage.x(self.x), self.y, self.pose, stage.facing(self.facing))


class Modes(Generic[F]):
    """The named variants of one motion program (its ``mode`` option), each a small registered function.

    Example::

        TRAFFIC = Modes("traffic")

        @TRAFFIC.register("crash")
        def _crash(road: Road, t: float) -> list[Placement]: ...
    """

    def __init__(self, program: str, default: str, option: str = "mode", catalog: bool = True) -> None:
        self.program = program
        self.default = default
        self.option = option
        self._functions: dict[str, F] = {}
        if catalog:  # a second registry of the same program (e.g. reactions) is not the catalog
            MODE_CATALOG[program] = (option, self)

    def register(self, *names: str) -> Callable[[F], F]:
        """Register the decorated function under each of ``names``."""

        def decorate(fn: F) -> F:
            for name in names:
                self._functions[name] = fn
            return fn

        return decorate

    def get(self, name: str) -> F:
        """The function of mode ``name``; an unknown mode plays the program's default one."""
        return self._functions.get(name, self._functions[self.default])

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._functions))

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._functions)


@dataclass
class Stage:
    """Everything a motion program needs for one clip.

    Attributes:
        rng: The clip's seeded generator (use it in setup, not per frame, so frames are independent).
        scene: The parsed caption.
        layout: The background's ground, lanes and water.
        params: The category's program parameters.
        frames: Number of frames.
        seed: The clip's integer seed (for per-frame seeded effects).
        mirror: +1 or -1: programs are written left-to-right and mirrored at random.
        shake: Camera shake amplitude (fraction of frame height) as a function of ``t``, if any.
    """

    rng: np.random.Generator
    scene: SceneSpec
    layout: Layout
    params: ProgramParams
    frames: int
    seed: int
    place: str = "street"
    mirror: int = 1
    shake: Callable[[float], float] | None = None
    _pool: list[ActorSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pool = [a for a in self.scene.actors if a.kind != "crowd"]

    def x(self, x: float) -> float:
        """Mirror a left-to-right x position."""
        return 0.5 + self.mirror * (x - 0.5)

    def facing(self, facing: int = 1) -> int:
        return facing * self.mirror

    def height_at(self, y: float) -> float:
        """Standing height of a person whose feet are at ``y`` (nearer is bigger)."""
        lay = self.layout
        depth = (y - lay.horizon + 0.25) / max(0.05, lay.ground - lay.horizon + 0.25)
        return 0.42 * float(np.clip(depth, 0.45, 1.35))

    def cast(self, roles: list[str]) -> list[Actor]:
        """Actors for ``roles`` (``human``, ``animal``, ``vehicle``, ``bike``, ``any``, or an exact kind).

        The caption's actors fill matching roles in order of mention; missing roles get seeded defaults.
        """
        actors = []
        for role in roles:
            spec = self._take(role)
            if role == "bike" and spec is not None and spec.colour is None:
                rider = self._take("human")  # "a woman in yellow rides a bicycle": she is the rider
                spec = ActorSpec(spec.kind, rider.colour, rider.colour_name) if rider else spec
            kind = spec.kind if spec else DEFAULT_KIND.get(role, role)
            if role == "bike" and spec is not None and spec.kind not in ("bicycle", "motorcycle"):
                kind = DEFAULT_KIND["bike"]  # a caption's person becomes the rider
            explicit = spec is not None and spec.colour is not None
            palette = ANIMAL_COLOURS if kind in ANIMAL_KINDS else DEFAULT_COLOURS
            if spec is not None and spec.colour is not None:
                colour = spec.colour
            else:
                colour = palette[int(self.rng.integers(len(palette)))]
            actors.append(self.new_actor(kind, colour, named=spec is not None, explicit=explicit))
        return actors

    def _take(self, role: str) -> ActorSpec | None:
        kinds = ROLE_KINDS.get(role)
        for i, spec in enumerate(self._pool):
            ok = (
                role == "any"
                or (kinds is not None and spec.kind in kinds)
                or spec.kind == role
                or (role == "bike" and spec.kind in ("bicycle", "motorcycle"))
            )
            if ok:
                return self._pool.pop(i)
        if role == "bike":
            return self._take("human")
        return None

    def new_actor(self, kind: str, colour: RGB, named: bool, explicit: bool = False) -> Actor:
        """A cast member of ``kind`` in ``colour``, with seeded looks for people and riders.

        ``named`` marks an actor the caption mentions; ``explicit`` keeps ``colour`` even for a uniformed kind.
        """
        look = None
        if kind in HUMAN_KINDS or kind in ("bicycle", "motorcycle"):
            shirt = colour if explicit or kind not in UNIFORMS else UNIFORMS[kind]
            look = Look(
                shirt=shirt,
                trousers=TROUSERS[int(self.rng.integers(len(TROUSERS)))],
                skin=SKIN_TONES[int(self.rng.integers(len(SKIN_TONES)))],
                hair=HAIR[int(self.rng.integers(len(HAIR)))],
                kind=kind if kind in HUMAN_KINDS else "person",
                dress=kind == "woman" and bool(self.rng.random() < 0.5),
            )
        return Actor(kind, colour, look, named)

    def leftovers(self) -> list[Actor]:
        """Caption actors no role used: drawn as bystanders so every named colour shows."""
        rest = [self.new_actor(s.kind, s.colour or DEFAULT_COLOURS[0], True, s.colour is not None) for s in self._pool]
        self._pool = []
        return rest

    def crowd_colour(self) -> RGB | None:
        for a in self.scene.actors:
            if a.kind == "crowd":
                return a.colour or (150, 150, 160)
        return None


def draw_actor(
    canvas: Canvas, stage: Stage, actor: Actor, x: float, y: float, pose: Pose, facing: int = 1, scale: float = 1.0
) -> dict:
    """Draw any actor kind at feet/wheel position ``(x, y)`` (scene units, already mirrored)."""
    h = stage.height_at(y) * scale
    kind = actor.kind
    if actor.look is not None and kind in HUMAN_KINDS:
        return draw_person(canvas, x, y, h, actor.look, pose, facing)
    if kind in ("bicycle", "motorcycle"):
        assert actor.look is not None
        return draw_bike(
            canvas,
            x,
            y,
            h * 0.95,
            BIKE_FRAME if kind == "bicycle" else shade(actor.colour, 0.5),
            actor.look,
            pose.phase,
            facing,
            kind == "motorcycle",
            pose.lean,
        )
    if kind == "snake":
        draw_snake(canvas, x, y, h * 0.9, actor.colour, pose.phase, facing)
        return {"head": (x, y)}
    if kind in ANIMAL_KINDS:
        size = h * {"bear": 0.65, "cow": 0.7, "cat": 0.3, "monkey": 0.35, "deer": 0.55}.get(kind, 0.42)
        head = draw_dog(canvas, x, y, size, actor.colour, pose.phase, pose.stride, facing, kind, pose.lean)
        return {"head": head}
    length = h * {"bus": 2.6, "truck": 2.0, "train": 4.0}.get(kind, 1.35)
    draw_car(
        canvas,
        x,
        y,
        length,
        actor.colour,
        facing,
        kind if kind in ("bus", "truck", "train") else "car",
        tilt=pose.lean,
        lights=stage.layout.light < 0.8,
        crumple=pose.amount if pose.arms == "crumple" else 0.0,
    )
    return {"front": (x + facing * length * canvas.H / canvas.W / 2, y)}


def walk_pose(t: float, speed: float, stride: float = 0.5, **kw) -> Pose:
    """A walking (stride ~0.5) or running (~1) pose whose cycle advances with distance covered."""
    return Pose(phase=t * speed * 60.0, stride=stride, **kw)


def seg(t: float, a: float, b: float) -> float:
    """Progress of ``t`` through ``[a, b]``, clipped to 0..1."""
    if b <= a:
        return 1.0 if t >= b else 0.0
    return float(min(1.0, max(0.0, (t - a) / (b - a))))


def ease(u: float) -> float:
    """Smoothstep easing of a 0..1 progress."""
    return u * u * (3 - 2 * u)


def bob(t: float, freq: float, amp: float) -> float:
    return amp * abs(math.sin(t * freq * math.pi))
