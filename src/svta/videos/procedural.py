"""The embedded video backend: a procedural renderer that draws what a caption says.

The caption gives actors, colours, place and time of day; the category picks a motion program
(:mod:`svta.videos.programs`). Same caption, category and seed give the same frames on any machine.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import numpy as np

from svta.errors import ConfigError
from svta.provenance import labelled_digest, module_digest
from svta.videos import effects, motions_acts, motions_hazards, motions_incidents, motions_traffic, motions_world
from svta.videos.base import VIDEO_BACKENDS, VideoRequest
from svta.videos.draw import Canvas, Pose
from svta.videos.motions_people import PROGRAMS
from svta.videos.places import PAN, paint_place
from svta.videos.programs import ProgramChoice, choose_for_label, choose_program
from svta.videos.scene import parse_scene
from svta.videos.set_stage import MODE_CATALOG, Actor, Stage, draw_actor, walk_pose

# importing a program family registers its programs into PROGRAMS
PROGRAM_FAMILIES = (motions_acts, motions_hazards, motions_incidents, motions_traffic, motions_world)
RENDERER_VERSION = 1  # bump when drawing changes on purpose (the source digest below catches the rest)
# what the renderer's output depends on: its modules (source digest) and the data files they read
RENDERER_MODULES = (
    "svta.videos.procedural",
    "svta.videos.draw",
    "svta.videos.effects",
    "svta.videos.motions_acts",
    "svta.videos.motions_hazards",
    "svta.videos.motions_incidents",
    "svta.videos.motions_people",
    "svta.videos.motions_traffic",
    "svta.videos.motions_world",
    "svta.videos.places",
    "svta.videos.programs",
    "svta.videos.scene",
    "svta.videos.set_stage",
    "svta.taxonomy",
)
RENDERER_DATA = (
    "places.yaml",
    "taxonomy.yaml",
)  # the shipped taxonomy also maps labels outside a user taxonomy


def render_clip(
    caption: str,
    choice: ProgramChoice,
    seed: int,
    frames: int = 16,
    width: int = 224,
    height: int = 224,
) -> np.ndarray:
    """Render one clip.

    Args:
        caption: The text; its actors, colours, place, time and weather are drawn.
        choice: The category's program (see :func:`svta.videos.programs.choose_program`).
        seed: Seeds layout, timing, camera and looks.
        frames: Number of frames ``T``.
        width: Frame width ``W`` in pixels.
        height: Frame height ``H`` in pixels.

    Returns:
        uint8 ``[T, H, W, 3]`` RGB frames.
    """
    if choice.program not in PROGRAMS:
        raise ConfigError(f"unknown motion program {choice.program!r}; known: {', '.join(sorted(PROGRAMS))}")
    scene = parse_scene(caption)
    rng = np.random.default_rng(seed)
    background, layout = paint_place(scene.place or choice.place, scene.time or choice.time, width, height, rng)
    place = scene.place or choice.place
    stage = Stage(rng, scene, layout, choice.params, frames, seed, place, mirror=1 if rng.random() < 0.5 else -1)
    main = PROGRAMS[choice.program](stage)
    extras = _bystanders(stage)
    weather = _weather(stage)
    pan_px = background.shape[1] - width
    sweep = (rng.random() - 0.5) * pan_px * 0.8
    jitter = np.random.default_rng(seed + 1).normal(size=(frames, 2))
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for f in range(frames):
        # the category's tempo also warps the clock, so categories sharing a program differ in pacing
        t = (f / max(1, frames - 1)) ** choice.params.tempo
        amp = (stage.shake(t) if stage.shake else 0.0) * height + 0.25
        canvas = Canvas(background, width, height, pan_px / 2 + sweep * (t - 0.5), tuple(amp * jitter[f]), layout.light)
        extras(canvas, t, f)
        main(canvas, t, f)
        weather(canvas, t, f)
        out[f] = canvas.to_array()
    return out


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    red, green, blue = (int(c) for c in rng.integers(40, 220, 3))
    return red, green, blue


def _bystanders(stage: Stage):
    """Caption actors the program did not use, and a crowd if the caption names one."""
    rest: list[Actor] = stage.leftovers()
    crowd = stage.crowd_colour()
    members = []
    if crowd is not None:
        for i in range(6):
            colour = crowd if stage.rng.random() < 0.75 else _random_colour(stage.rng)
            members.append((stage.new_actor("person", colour, True, True), 0.08 + 0.15 * i + 0.04 * stage.rng.random()))
    back = max(stage.layout.horizon + 0.06, stage.layout.ground - 0.1)

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        for actor, x in members:
            draw_actor(
                canvas,
                stage,
                actor,
                stage.x(x + 0.05 * math.sin(3 * t + x * 9)),
                back,
                walk_pose(t, 0.15, 0.3),
                1,
                scale=0.9,
            )
        for i, actor in enumerate(rest):
            x = 0.85 - 0.15 * i - 0.12 * t
            pose = walk_pose(t, 0.12, 0.4) if actor.is_human or actor.kind in ("dog", "cat") else Pose()
            y = (
                back + 0.02
                if actor.is_human
                else (
                    stage.layout.lanes[0]
                    if stage.layout.lanes and actor.kind in ("car", "bus", "truck")
                    else back + 0.04
                )
            )
            draw_actor(canvas, stage, actor, stage.x(x), y, pose, stage.facing(-1))

    return draw


def _weather(stage: Stage):
    particles = effects.Particles.make(stage.rng, 40)
    kind = stage.scene.weather

    def draw(canvas: Canvas, t: float, frame: int) -> None:
        if kind == "rain":
            effects.rain(canvas, particles, t)
        elif kind == "snow":
            effects.snow(canvas, particles, t)
        elif kind == "fog":
            effects.haze(canvas, (200, 200, 205), 0.35)

    return draw


def check_motions(taxonomy: Any) -> None:
    """Fail before rendering if a category's ``motion`` field names a program, or a variant of it
    (``mode``, ``formation``, ``gesture``, ``pace``), the renderer lacks.

    Raises:
        ConfigError: Naming the taxonomy file, the category and the known values.
    """
    for category in taxonomy:
        if category.motion is not None:
            _check_motion(category.motion, f"{taxonomy.source}: category {category.id!r}, field 'motion'")


def _check_motion(motion: Any, where: str) -> None:
    program = motion["program"]
    if program not in PROGRAMS:
        raise ConfigError(f"{where}: unknown program {program!r}; known: {', '.join(sorted(PROGRAMS))}")
    option, known = MODE_CATALOG.get(program, ("", ()))
    value = motion.get(option) if option else None
    if value is not None and value not in known:
        names = ", ".join(sorted(known))
        raise ConfigError(f"{where}: unknown {option} {value!r} for program {program!r}; known: {names}")


@lru_cache(maxsize=4)
def load_taxonomy(path: str | None) -> Any:
    from svta.taxonomy import Taxonomy, default_taxonomy

    return default_taxonomy() if path is None else Taxonomy.load(path)


def _caption_keys(taxonomy: Any) -> list[tuple[str, Any]]:
    keys = [(key, c) for c in taxonomy for key in c.lookup_keys()]
    return sorted(keys, key=lambda kc: -len(kc[0]))


def resolve_choice(category: str | None, caption: str, taxonomy: Any) -> ProgramChoice:
    """The program for a request: its category if the taxonomy knows it, else one named in the caption."""
    if category:
        found = taxonomy.match(category)
        return choose_program(found) if found is not None else choose_for_label(category)
    from svta.taxonomy import normalize_label

    text = f" {normalize_label(caption)} "
    for key, cat in _caption_keys(taxonomy):
        if re.search(rf"\b{re.escape(key)}\b", text):
            return choose_program(cat)
    return choose_program(None)


class ProceduralBackend:
    """The ``procedural`` video backend (CPU, offline, a few ms per frame)."""

    name = "procedural"

    def __init__(self, config: Any, taxonomy_path: str | None = None):
        self.frames, self.width, self.height = config.frames, config.width, config.height
        self._fps = float(config.fps)
        self.taxonomy = load_taxonomy(taxonomy_path)
        check_motions(self.taxonomy)

    @property
    def fps(self) -> float:
        return self._fps

    def generate(self, requests: list[VideoRequest]) -> list[np.ndarray | Exception]:
        out: list[np.ndarray | Exception] = []
        for request in requests:
            choice = resolve_choice(request.category, request.caption, self.taxonomy)
            out.append(render_clip(request.caption, choice, request.seed, self.frames, self.width, self.height))
        return out

    def describe(self) -> dict[str, Any]:
        return clip_params(self, self.taxonomy)


def clip_params(config: Any, taxonomy: Any) -> dict[str, Any]:
    """What shapes a procedural clip, recorded with each clip: the renderer version, a digest of its
    source and data files, a digest of the taxonomy (categories choose motion programs) and the clip
    geometry. A recorded clip whose values differ from these is made again.

    Args:
        config: Anything with ``frames``, ``fps``, ``width`` and ``height`` (a ``VideosConfig``).
        taxonomy: The taxonomy the renderer resolves categories with.
    """
    return {
        "renderer": RENDERER_VERSION,
        "code": module_digest(RENDERER_MODULES, RENDERER_DATA),
        "taxonomy": taxonomy_digest(taxonomy),
        "frames": config.frames,
        "fps": float(config.fps),
        "width": config.width,
        "height": config.height,
    }


def taxonomy_digest(taxonomy: Any) -> str:
    """Digest of a taxonomy's categories (their records, so comments and layout of the file do not count)."""
    records = json.dumps([c.to_record() for c in taxonomy], sort_keys=True, default=str)
    return labelled_digest([("taxonomy", records.encode())])


@VIDEO_BACKENDS.register("procedural", "caption-driven procedural renderer (embedded default, CPU, offline)")
def _procedural(config: Any, taxonomy_path: str | None = None) -> ProceduralBackend:
    return ProceduralBackend(config, taxonomy_path)


__all__ = ["PAN", "ProceduralBackend", "render_clip", "resolve_choice"]
