"""Reading captions into scenes: actors and their colours, place, time of day, weather, objects."""

from __future__ import annotations

import pytest

from svta.captions.vocab import COLOURS, PLACES, TIMES
from svta.videos.places import PLACE_STYLES, TIME_LIGHT
from svta.videos.scene import COLOUR_RGB, parse_scene


def test_subject_colour_place_time():
    scene = parse_scene("A man in a red jacket throws a bottle at a passing car on a busy street at night.")
    assert [(a.kind, a.colour_name) for a in scene.actors] == [("man", "red"), ("car", None)]
    assert (scene.place, scene.time, scene.objects) == ("street", "night", ("bottle",))


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("A man in red and a woman in blue argue in the kitchen.", [("man", "red"), ("woman", "blue")]),
        ("A red sports car hits a cyclist.", [("car", "red"), ("bicycle", None)]),
        ("A white dog bites a child in a yellow shirt.", [("dog", "white"), ("child", "yellow")]),
        ("Two men in green fight.", [("man", "green"), ("man", "green")]),
        ("An elderly person in grey sits down; the elderly person smiles.", [("elderly", "grey")]),
    ],
)
def test_colours_go_to_the_right_actor(caption, expected):
    assert [(a.kind, a.colour_name) for a in parse_scene(caption).actors] == expected


def test_synonyms_and_weather():
    scene = parse_scene("A lady with a purse walks along the pavement at sunset in the rain.")
    assert (scene.actors[0].kind, scene.place, scene.time, scene.weather) == ("woman", "street", "evening", "rain")
    assert scene.objects == ("purse",)


def test_nothing_found_gives_empty_scene():
    scene = parse_scene("Something happens.")
    assert scene.actors == () and scene.place is None and scene.time is None


def test_the_caption_vocabulary_is_fully_drawable():
    """Every colour, place and time the caption generator writes has a colour, background or light."""
    assert set(COLOURS) <= set(COLOUR_RGB)
    assert set(PLACES) <= set(PLACE_STYLES)
    assert set(TIMES) <= set(TIME_LIGHT)
    for place in PLACES:
        assert parse_scene(f"A man stands in the {place}.").place == place


def test_place_palettes_and_light_are_read_from_the_data_file():
    from importlib import resources

    import yaml

    from svta.videos.places import INDOOR, LAMP_PLACES

    data = yaml.safe_load(resources.files("svta").joinpath("resources", "places.yaml").read_text(encoding="utf-8"))
    assert list(PLACE_STYLES) == list(data["places"]) and list(TIME_LIGHT) == list(data["times"])
    assert PLACE_STYLES["supermarket"][1]["wall"] == tuple(data["places"]["supermarket"]["wall"])
    assert TIME_LIGHT["noon"][2] == tuple(data["times"]["noon"]["tint"])
    assert INDOOR == {name for name, place in data["places"].items() if place.get("indoor")}
    assert "street" in LAMP_PLACES and "kitchen" in INDOOR
