"""The procedural renderer: every category renders and differs from the others, captions show
(colours, time of day), clips are deterministic, and user taxonomies get distinct programs."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from svta.errors import ConfigError
from svta.taxonomy import Taxonomy, default_taxonomy
from svta.video_io import check_decodable, read_frames, write_mp4
from svta.videos.config import VideosConfig
from svta.videos.encode import encode_mp4
from svta.videos.motions_people import PROGRAMS
from svta.videos.procedural import ProceduralBackend, check_motions, render_clip, resolve_choice
from svta.videos.programs import GROUP_PROGRAMS, MOTION_KEYS, choose_program

CAPTION = "A man in a red jacket on the street at noon."  # fixed place and time: only the category varies


def _render_all(size=32, frames=6, caption=CAPTION, seed=7):
    taxonomy = default_taxonomy()
    return {
        c.id: render_clip(caption, resolve_choice(c.id, caption, taxonomy), seed, frames, size, size) for c in taxonomy
    }


def test_every_category_renders_decodes_and_differs(tmp_path):
    clips = _render_all()
    assert len(clips) == 98
    ids = list(clips)
    flat = np.stack([clips[i].reshape(-1).astype(np.float32) for i in ids])
    for i, clip_id in enumerate(ids):
        clip = clips[clip_id]
        assert clip.shape == (6, 32, 32, 3) and clip.dtype == np.uint8
        assert np.abs(np.diff(clip.astype(np.int16), axis=0)).mean() > 0.05, f"{clip_id} does not move"
        distance = np.abs(flat - flat[i]).mean(axis=1)
        distance[i] = np.inf
        closest = ids[int(distance.argmin())]
        assert distance.min() > 0.3, f"{clip_id} looks like {closest} (mean |diff| {distance.min():.2f})"
        path = write_mp4(tmp_path / f"{clip_id}.mp4", clip, 8)
        assert check_decodable(path).frames == 6


def test_shipped_taxonomy_gives_every_category_a_distinct_known_program():
    taxonomy = default_taxonomy()
    assert all(c.motion is not None and c.motion["program"] in PROGRAMS for c in taxonomy)
    programs = [
        (c.motion["program"], tuple(sorted((k, v) for k, v in c.motion.items() if k not in MOTION_KEYS)))
        for c in taxonomy
    ]
    assert len(set(programs)) == len(programs)
    choice = choose_program(taxonomy.get("arson"))
    assert (choice.program, choice.place, choice.time, choice.params.options) == (
        "blaze",
        "street",
        "night",
        {"mode": "arson"},
    )


def _user_taxonomy(motion) -> Taxonomy:
    record = {
        "id": "pushing",
        "name": "pushing",
        "kind": "anomaly",
        "group": "violence",
        "description": "x",
        "synonyms": ["shove"],
        "motion": motion,
    }
    return Taxonomy.from_records([record], "mine.yaml")


def test_user_taxonomy_motion_field_picks_the_program():
    taxonomy = _user_taxonomy({"program": "group", "formation": "riot", "count": 3, "place": "beach", "time": "night"})
    choice = resolve_choice("pushing", "", taxonomy)
    assert (choice.program, choice.place, choice.time) == ("group", "beach", "night")
    assert choice.params.options == {"formation": "riot", "count": 3}
    assert render_clip("A person.", choice, 1, 3, 32, 32).shape == (3, 32, 32, 3)


def test_bad_motion_field_fails_naming_file_category_and_field(tmp_path):
    with pytest.raises(ConfigError, match=r"mine.yaml: category #1 'pushing', field 'motion': expected a mapping"):
        _user_taxonomy("fight")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_user_taxonomy({"program": "juggle"}).to_records()))
    config = VideosConfig(frames=2, width=16, height=16)
    with pytest.raises(ConfigError, match=r"mine.yaml: category 'pushing', field 'motion': unknown program 'juggle'"):
        ProceduralBackend(config, str(path))


@pytest.mark.parametrize(
    ("motion", "message"),
    [
        ({"program": "traffic", "mode": "flying"}, "unknown mode 'flying' for program 'traffic'; known: animal, "),
        ({"program": "group", "formation": "conga"}, "unknown formation 'conga' for program 'group'"),
        ({"program": "idle", "gesture": "juggle"}, "unknown gesture 'juggle' for program 'idle'"),
        ({"program": "stroll", "pace": "sprint"}, "unknown pace 'sprint' for program 'stroll'"),
    ],
)
def test_motion_field_variant_typos_fail_before_rendering(motion, message):
    with pytest.raises(ConfigError, match=re.escape(f"mine.yaml: category 'pushing', field 'motion': {message}")):
        check_motions(_user_taxonomy(motion))


def test_every_derived_program_is_a_known_variant():
    for candidates in GROUP_PROGRAMS.values():
        for name, options in candidates:
            check_motions(_user_taxonomy({"program": name, **options}))  # raises on an unknown one


def test_user_taxonomy_categories_get_distinct_stable_parameters():
    records = [
        {
            "id": f"custom_{i}",
            "name": f"custom {i}",
            "kind": "anomaly" if i % 2 else "normal",
            "group": group,
            "description": "x",
            "synonyms": [f"tag{i}"],
        }
        for i, group in enumerate(["violence", "hazard", "made_up", "violence"])
    ]
    taxonomy = Taxonomy.from_records(records)
    choices = [choose_program(c) for c in taxonomy]
    assert choices == [choose_program(c) for c in taxonomy]  # stable
    assert len({(c.program, c.params.accent, c.params.tempo) for c in choices}) == 4
    clips = [render_clip("A person.", c, 1, 4, 32, 32) for c in choices]
    assert all(np.abs(a.astype(int) - b).mean() > 0.3 for k, a in enumerate(clips) for b in clips[k + 1 :])


def test_same_seed_same_frames_and_bytes():
    choice = resolve_choice("fighting", "", default_taxonomy())
    a = render_clip("Two men fight in the park.", choice, 11, 8, 48, 48)
    b = render_clip("Two men fight in the park.", choice, 11, 8, 48, 48)
    c = render_clip("Two men fight in the park.", choice, 12, 8, 48, 48)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    encodes = {encode_mp4(a, 8) for _ in range(5)} | {encode_mp4(b, 8)}
    assert len(encodes) == 1


def test_caption_colour_shows_in_the_clip():
    taxonomy = default_taxonomy()
    choice = resolve_choice("standing", "", taxonomy)

    def share(colour_index, caption):
        clip = render_clip(caption, choice, 3, 4, 64, 64).astype(int)
        others = [k for k in range(3) if k != colour_index]
        dominant = (clip[..., colour_index] > 150) & (clip[..., others[0]] < 110) & (clip[..., others[1]] < 110)
        return dominant.mean()

    assert (
        share(0, "A man in a red shirt stands in the office.")
        > share(0, "A man in a blue shirt stands in the office.") + 0.01
    )
    assert (
        share(2, "A man in a blue shirt stands in the office.")
        > share(2, "A man in a red shirt stands in the office.") + 0.01
    )


def test_night_is_darker_than_noon_and_places_differ():
    choice = resolve_choice("walking", "", default_taxonomy())
    noon = render_clip("A woman walks in the park at noon.", choice, 5, 4, 48, 48)
    night = render_clip("A woman walks in the park at night.", choice, 5, 4, 48, 48)
    kitchen = render_clip("A woman walks in the kitchen at noon.", choice, 5, 4, 48, 48)
    assert night.mean() < noon.mean() - 40
    assert np.abs(kitchen.astype(int) - noon).mean() > 20


def test_category_found_in_caption_when_missing():
    taxonomy = default_taxonomy()
    brawl = resolve_choice(None, "A violent brawl breaks out in the bar.", taxonomy)  # "brawl" tags fighting
    assert brawl == resolve_choice("fighting", "", taxonomy)
    assert (brawl.program, brawl.params.options) == ("fight", {"mode": "brawl"})
    assert resolve_choice(None, "Thick smoke pours out of a warehouse.", taxonomy) == resolve_choice(
        "smoke", "", taxonomy
    )
    assert resolve_choice(None, "Nothing in particular.", taxonomy).program == "stroll"
    assert resolve_choice("Fighting", "", taxonomy) == resolve_choice("fighting", "", taxonomy)


def test_clip_round_trips_through_mp4(tmp_path):
    clip = render_clip(
        "A dog runs in the park.", resolve_choice("playing_with_pet", "", default_taxonomy()), 2, 8, 64, 64
    )
    path = write_mp4(tmp_path / "c.mp4", clip, 8, crf=10)
    back = read_frames(path)
    assert back.shape == clip.shape and np.abs(back.astype(int) - clip).mean() < 6
