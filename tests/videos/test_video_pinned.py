"""Pinned renderer output: the procedural renderer is deterministic, and a refactor must not change a
single byte of what it draws. Each shipped category renders its own description at a small size and
its hash is compared with the value recorded before the renderer was restructured (as diffusers pins
expected slices). A deliberate drawing change bumps ``RENDERER_VERSION`` (recorded clips are then made
again, as they are after any change to the renderer's source) and re-records these values with
``python tests/videos/test_video_pinned.py``.
"""

from __future__ import annotations

import hashlib

from svta.taxonomy import Taxonomy, default_taxonomy
from svta.videos.procedural import render_clip, resolve_choice

CROWD_CAPTION = "A woman in blue and a boy with a yellow bag and a black dog near a crowd in the rain at night."

# category id → first 16 hex digits of sha256 over its clip (description, seed = position, 5×32×40)
EXPECTED = {
    "abuse": "5c4a8e8e40336187",
    "assault": "24b916168c9783c5",
    "fighting": "2ba19ba142cd1c14",
    "shooting": "8c16c852a8863427",
    "stabbing": "10349e61e0147bbb",
    "throwing_objects": "7b8ebaf2fa54889a",
    "kidnapping": "ec57f01a5d54c5e5",
    "bullying": "6a1a0207e47c4dcd",
    "harassment": "1cf1b1b5b2c079ba",
    "weapon_threat": "501f3ad128ac1096",
    "arrest": "16b6b916b452220e",
    "arson": "81934838327b39a5",
    "burglary": "05a03822e80ed523",
    "robbery": "bbe585b55373018e",
    "shoplifting": "2adf4061baecfd7d",
    "stealing": "d1fbbba6ac81945c",
    "pickpocketing": "436e32a7e10f2daa",
    "purse_snatching": "36234f60df693f88",
    "vandalism": "94fc78de2e13d768",
    "trespassing": "06ed5d0285d34eda",
    "drug_dealing": "44975cd2260744b8",
    "road_accident": "c25760bf86f40e57",
    "pedestrian_hit": "cfe7ce07be7899c5",
    "bike_crash": "5312f8676724a2a3",
    "falls": "c75efa7caad94d9c",
    "fall_from_height": "d4fe1fd9e518e67b",
    "drowning": "469e6456537cee59",
    "escalator_accident": "fc58292d337b5a0f",
    "workplace_accident": "07887c9c596e0f51",
    "railway_accident": "40c39def3add749e",
    "sports_injury": "efdd9494a98073f8",
    "natural_disaster": "f56fb455fc9aa855",
    "flood": "5e9e2e7f6ee9ada7",
    "earthquake": "c8bf0216c9458cb5",
    "landslide": "8ca9b9b046c27bf8",
    "building_collapse": "cb6a1ec2fdc15d5d",
    "fire": "1daec1bd2d35f9d3",
    "smoke": "93c9be0b771f061f",
    "explosion": "2c565feb120c66b9",
    "wildfire": "f07459ab406254ac",
    "vehicle_fire": "65d236841f2a97b3",
    "animal_attack": "21bb9290432d9116",
    "animal_on_road": "e65d3e0d207e149d",
    "wild_animal_intrusion": "8dbf9b774f39a5b2",
    "fainting": "734ecfeabaca9dc3",
    "medical_emergency": "48e19683ff848bd8",
    "choking": "78e4e097ebf657dc",
    "riot": "7a2058ddc565916c",
    "crowd_stampede": "d23b24e0b78eb9a6",
    "loitering": "57262ce7bb351d3c",
    "littering": "d5422ce7715122a5",
    "public_intoxication": "d8f8e5229d550349",
    "abandoned_object": "0802add49bafa5d5",
    "smoking_prohibited": "8574a439baaecb74",
    "startle_events": "e5c1a697c9d3c31b",
    "argument": "382683221b854a9e",
    "lost_child": "6907174c407701d7",
    "electrical_hazard": "6a20de15640c7c5a",
    "falling_objects": "aa1e3977055fe2ca",
    "gas_leak": "80a9e5806f317564",
    "chemical_spill": "2bcfa4715bc40a4f",
    "child_in_danger": "54c4dad62a6a3651",
    "dangerous_stunt": "ddec415c3ae01d4a",
    "jaywalking": "8cadc49a1a36f7aa",
    "wrong_way_driving": "af95986dd8a94f71",
    "dangerous_driving": "2c7402e0176d5ff4",
    "running_red_light": "d6edc73f8f090165",
    "illegal_parking": "baad09ef1e87d42d",
    "standing": "9db25a85b23503dd",
    "walking": "6591288fdbef1b25",
    "sitting": "d9b655e3f38a6c73",
    "eating": "6b9883e3e913a2f4",
    "cooking": "c65266dfb8225b2b",
    "cleaning": "d64b94f1a9c3df2f",
    "reading": "0effec1abe069017",
    "gardening": "66de554fc65df3b1",
    "taking_photos": "5eaeb91f4b84a24e",
    "playing_with_pet": "cb055940cec9c9af",
    "shopping": "40e81fb73e636d0c",
    "talking": "062538a0fd910d55",
    "phone_call": "a3ab6eb01d2159e1",
    "greeting": "d87f63795aa426ba",
    "queueing": "e88bbf2f6d0cdf62",
    "children_playing": "a44dcf6d8bb61da0",
    "dancing": "a04b7922b74dc1cd",
    "playing_sports": "722309e5503636b4",
    "exercising": "8291e900436160cd",
    "swimming": "62f7c75e1d084f97",
    "running": "3e28fe877fd45ad8",
    "cycling": "5a4e97d22d41387d",
    "riding_motorcycle": "aad53a1235ac41a4",
    "driving": "e96ae1fbaddd97ef",
    "waiting_at_bus_stop": "0c57f3d44eaa76f2",
    "crossing_street": "025ee012ad9c73d3",
    "boarding_transit": "dced9a14bc510b04",
    "desk_work": "e0de19bb94a77e49",
    "construction_work": "47705e8b564bbc89",
    "carrying_goods": "fd8047dcfd4f23da",
}
# one digest over every category rendering CROWD_CAPTION (bystanders, crowd, rain, night), 3×64×48
CROWD_RAIN_NIGHT = "080641afaca88be1"

# custom_hazard (group hazard), custom_new (unknown group), a label in no taxonomy, a shipped id
# missing from the user's taxonomy
OUTSIDE = ["8fd904107792e4a5", "ddfa40344138e241", "4b924bedc43bb35d", "9831ee29f2e53eca"]


def _digest(clip) -> str:
    return hashlib.sha256(clip.tobytes()).hexdigest()[:16]


def category_digests() -> dict[str, str]:
    taxonomy = default_taxonomy()
    return {
        c.id: _digest(render_clip(c.description, resolve_choice(c.id, c.description, taxonomy), i, 5, 40, 32))
        for i, c in enumerate(taxonomy)
    }


def crowd_digest() -> str:
    taxonomy = default_taxonomy()
    h = hashlib.sha256()
    for i, c in enumerate(taxonomy):
        h.update(
            render_clip(CROWD_CAPTION, resolve_choice(c.id, CROWD_CAPTION, taxonomy), 1000 + i, 3, 48, 64).tobytes()
        )
    return h.hexdigest()[:16]


def test_every_category_renders_its_pinned_bytes():
    got = category_digests()
    changed = sorted(k for k in EXPECTED if got.get(k) != EXPECTED[k])
    assert set(got) == set(EXPECTED)
    assert not changed, f"{len(changed)} categories render differently: {changed[:10]}"


def test_bystanders_crowd_and_weather_render_their_pinned_bytes():
    assert crowd_digest() == CROWD_RAIN_NIGHT


def test_categories_outside_the_taxonomy_render_their_pinned_bytes():
    user = Taxonomy.from_records(
        [
            {
                "id": "custom_hazard",
                "name": "custom hazard",
                "kind": "anomaly",
                "group": "hazard",
                "description": "x",
                "synonyms": ["tag one"],
            },
            {
                "id": "custom_new",
                "name": "custom new",
                "kind": "normal",
                "group": "made_up",
                "description": "x",
                "synonyms": ["tag two"],
            },
        ]
    )
    got = [
        _digest(render_clip("A person.", resolve_choice(label, "A person.", user), 4, 5, 48, 48))
        for label in ("custom_hazard", "custom_new", "not_in_any_taxonomy", "abuse")
    ]
    assert got == OUTSIDE


if __name__ == "__main__":
    print(category_digests())
    print(crowd_digest())
