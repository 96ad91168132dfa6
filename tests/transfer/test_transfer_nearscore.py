"""The signals of the near model: blockwise neighbour statistics against a naive computation, the word and
event signals, and the model file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from svta.errors import InputError
from svta.transfer.detail_agreement import event_agreement, events
from svta.transfer.nearscore import FEATURES, idf_table, lexical_signals, load_near_model, neighbour_stats


def test_neighbour_stats_match_a_naive_computation():
    gen = torch.Generator().manual_seed(0)
    e = torch.nn.functional.normalize(torch.randn(37, 16, generator=gen), dim=1)
    t = torch.nn.functional.normalize(torch.randn(53, 16, generator=gen), dim=1)
    r_e, r_t, kth_e, kth_t = neighbour_stats(e, t, k=5, chunk=8)  # blocks smaller than both sides
    s = (e @ t.T).numpy()
    top_e, top_t = -np.sort(-s, axis=1)[:, :5], -np.sort(-s.T, axis=1)[:, :5]
    np.testing.assert_allclose(r_e, top_e.mean(1), atol=1e-6)
    np.testing.assert_allclose(r_t, top_t.mean(1), atol=1e-6)
    np.testing.assert_allclose(kth_e, top_e[:, -1], atol=1e-6)
    np.testing.assert_allclose(kth_t, top_t[:, -1], atol=1e-6)
    r_small = neighbour_stats(e[:2], t, k=5)[1]  # k capped by the other side's size
    np.testing.assert_allclose(r_small, (t @ e[:2].T).numpy().mean(1), atol=1e-6)


def test_event_and_word_signals():
    assert events("A white car hits a car that is turning.") == {"force"}
    assert events("A white car turns at the intersection.") == frozenset()
    assert event_agreement("A car hits a car.", "A car turns at the crossing.") == 0.0
    assert event_agreement("People walk in a park.", "A man reads on a bench.") == 0.5
    assert event_agreement("A man steals a bottle and runs off.", "The man stole goods.") == 1.0
    texts = ["A man in a red shirt steals a bicycle.", "A man steals something.", "Cars drive by."]
    lexical, specificity, ratio = lexical_signals(texts[0], texts[1], idf_table(texts))
    assert 0 < lexical < 1 and ratio == pytest.approx(3 / 5)  # man, steal, something / man, red, shirt, steal, bicycle
    assert specificity < lexical_signals(texts[0], texts[0], idf_table(texts))[1]  # the generic side is vaguer


def test_the_shipped_model_and_a_broken_file(tmp_path):
    model = load_near_model()
    assert set(model.weights) == set(FEATURES) and 0 < model.threshold < 1 and model.k >= 1
    assert "dev half only" in model.provenance["fitted_on"]
    bad = tmp_path / "model.json"
    bad.write_text('{"features": ["cosine"]}')
    with pytest.raises(InputError, match="not a usable near-duplicate model"):
        load_near_model(bad)
