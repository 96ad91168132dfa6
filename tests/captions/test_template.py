from __future__ import annotations

import random

import pytest

from svta.captions.base import allocate_counts
from svta.captions.config import CaptionsConfig
from svta.captions.generate import generate_captions
from svta.captions.grammar import GrammarBook, fallback_grammar
from svta.captions.template import action_verb, compose_caption
from svta.captions.vocab import ACTORS, COLOURS, PLACES, TIMES, find_words, parse_caption
from svta.errors import ConfigError
from svta.tables import read_records, read_table
from svta.taxonomy import Category, Taxonomy, default_taxonomy


def test_every_category_has_a_grammar_that_keeps_vocabulary_words_out_of_actions():
    book = GrammarBook()
    taxonomy = default_taxonomy()
    assert len(taxonomy) == 98 and set(book.entries) == set(taxonomy.ids())
    for category in taxonomy:
        grammar = book.for_category(category)
        assert set(grammar.places) <= set(PLACES) and grammar.actions
        for action in grammar.actions:
            assert set(action.subjects) <= set(ACTORS)
        for phrase in [a.text for a in grammar.actions] + list(grammar.consequences):
            for words in (COLOURS, PLACES, TIMES):
                assert not find_words(phrase, words), (category.id, phrase)


def test_captions_parse_back_to_their_vocabulary():
    book, rng = GrammarBook(), random.Random(0)
    for category in default_taxonomy():
        grammar = book.for_category(category)
        for _ in range(10):
            caption, action = compose_caption(grammar, rng)
            parsed = parse_caption(caption)
            assert parsed.actor in action.subjects, caption
            assert parsed.place in grammar.places, caption
            assert parsed.time in TIMES, caption
            assert caption[0].isupper() and caption.endswith(".") and "{" not in caption


def test_parse_caption_example():
    parsed = parse_caption("A man in a red jacket throws a bottle at a passing car on a busy street at night.")
    assert (parsed.actor, parsed.colour, parsed.place, parsed.time) == ("man", "red", "street", "night")
    assert parsed.actors == ("man", "car")
    assert parse_caption("An elderly person naps in a parking lot in the afternoon.").actor == "elderly person"
    assert parse_caption("An elderly person naps in a parking lot in the afternoon.").place == "parking lot"


def test_action_verbs():
    assert [
        action_verb(t) for t in ("throws a bottle", "punches him", "carries boxes", "is pinned down", "dresses")
    ] == ["throw", "punch", "carry", "pinned", "dress"]


def test_fallback_grammar_for_a_user_category():
    category = Category(
        "pet_escape",
        "pet escape",
        "anomaly",
        "animal",
        "A dog slips its leash and bolts across the road.",
        ("runaway pet", "escaping"),
    )
    grammar = fallback_grammar(category, ["street", "park"])
    assert grammar.subjects == ("dog",)
    texts = [a.text for a in grammar.actions]
    assert texts[0] == "slips its leash and bolts across the road"
    assert "is seen escaping" in texts and "is involved in a runaway pet" in texts
    caption, _ = compose_caption(grammar, random.Random(1))
    assert parse_caption(caption).actor == "dog"


def test_allocation_uniform_long_tail_and_overrides():
    categories = list(default_taxonomy())[:20]
    cfg = CaptionsConfig(per_category=10)
    assert set(allocate_counts(categories, cfg, 0).values()) == {10}
    tail = CaptionsConfig(per_category=10, long_tail=True, zipf_exponent=1.2, min_per_category=2)
    counts = allocate_counts(categories, tail, 0)
    assert sum(counts.values()) == 200 and min(counts.values()) >= 2
    assert max(counts.values()) > 5 * sorted(counts.values())[10]
    assert counts == allocate_counts(categories, tail, 0) and counts != allocate_counts(categories, tail, 1)
    override = tail.model_copy(update={"counts": {categories[0].id: 7}})
    assert allocate_counts(categories, override, 0)[categories[0].id] == 7


def test_generate_template_is_exact_deterministic_and_resumable(tmp_path):
    cfg = CaptionsConfig(per_category=6)
    result = generate_captions(tmp_path / "a", cfg, seed=3)
    assert result.complete and result.added == 6 * 98 and result.counts["abuse"] == 6
    rows = read_records(tmp_path / "a" / "captions.parquet", "captions")
    assert len({r["id"] for r in rows}) == len(rows) == 588
    assert len({r["caption"].lower() for r in rows}) == 588
    row = next(r for r in rows if r["category"] == "throwing_objects")
    assert row["source"] == "template" and row["seed"] == 3 and row["tags"][0] == "throw" and len(row["tags"]) == 2
    again = generate_captions(tmp_path / "a", cfg, seed=3)
    assert again.added == 0 and again.complete
    generate_captions(tmp_path / "b", cfg, seed=3)
    assert read_table(tmp_path / "b" / "captions.parquet", "captions").equals(
        read_table(tmp_path / "a" / "captions.parquet", "captions")
    )
    assert generate_captions(tmp_path / "c", cfg.model_copy(update={"categories": ["abuse"]}), seed=4).added == 6
    assert read_records(tmp_path / "c" / "captions.parquet", "captions")[0]["caption"] != row["caption"]


def test_generate_grows_to_a_larger_target(tmp_path):
    cfg = CaptionsConfig(per_category=3, categories=["fighting", "walking"])
    generate_captions(tmp_path, cfg, seed=0)
    bigger = generate_captions(tmp_path, cfg.model_copy(update={"per_category": 8}), seed=0)
    assert bigger.added == 10 and bigger.counts == {"fighting": 8, "walking": 8}


def test_user_grammar_and_taxonomy(tmp_path):
    grammar = tmp_path / "grammar.yaml"
    grammar.write_text(
        "categories:\n  fighting:\n    subjects: [dog]\n    places: [farm]\n    actions: [snaps at another dog]\n"
    )
    cfg = CaptionsConfig(per_category=4, categories=["fighting"])
    cfg.template.grammar = grammar
    generate_captions(tmp_path / "r", cfg, seed=0)
    captions = [r["caption"] for r in read_records(tmp_path / "r" / "captions.parquet", "captions")]
    assert all(parse_caption(c).actor == "dog" and "farm" in c for c in captions)
    taxonomy = Taxonomy.from_records(
        [
            {
                "id": "kite_flying",
                "name": "kite flying",
                "kind": "normal",
                "group": "leisure",
                "description": "A person flies a kite on a windy hill.",
                "synonyms": ["kite"],
            }
        ]
    )
    result = generate_captions(tmp_path / "u", CaptionsConfig(per_category=5), seed=0, taxonomy=taxonomy)
    assert result.counts == {"kite_flying": 5}
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  fighting:\n    places: [moon]\n    actions: [jumps]\n")
    cfg.template.grammar = bad
    with pytest.raises(ConfigError, match="bad.yaml.*'moon'"):
        generate_captions(tmp_path / "x", cfg, seed=0)


def test_unknown_category_or_backend_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown category"):
        generate_captions(tmp_path, CaptionsConfig(categories=["juggling"]), seed=0)
    with pytest.raises(ConfigError, match="unknown caption_backend"):
        generate_captions(tmp_path, CaptionsConfig(backend="nope"), seed=0)
