"""The text embedder's precision: auto/fp32/bf16 choice, the override, and bfloat16 staying close to float32."""

from __future__ import annotations

import numpy as np
import pytest

from svta import embed
from svta.errors import ConfigError

CAPTIONS = [
    "A man in a grey hoodie smashes a car window in a parking lot at night.",
    "Two women walk their dogs along the river path.",
    "a truck is on fire on the highway, black smoke",
]


def test_auto_follows_the_cpu(monkeypatch):
    monkeypatch.delenv(embed.PRECISION_ENV, raising=False)
    monkeypatch.setattr(embed, "cpu_has_fast_bf16", lambda: True)
    assert embed.resolve_precision() == "bf16"
    assert embed.resolve_precision(device="cuda") == "fp32"
    monkeypatch.setattr(embed, "cpu_has_fast_bf16", lambda: False)
    assert embed.resolve_precision() == "fp32"


def test_environment_overrides_auto(monkeypatch):
    monkeypatch.setattr(embed, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setenv(embed.PRECISION_ENV, "FP32")
    assert embed.resolve_precision() == "fp32"
    assert embed.resolve_precision("bf16") == "bf16"  # an explicit argument wins


def test_bad_precision_names_the_setting(monkeypatch):
    monkeypatch.setenv(embed.PRECISION_ENV, "int4")
    with pytest.raises(ConfigError, match=r"SVTA_EMBED_PRECISION='int4': expected one of auto, fp32, bf16, int8"):
        embed.resolve_precision()


def test_bf16_embeddings_stay_within_cosine_of_fp32():
    fp32 = embed.SentenceTransformerEmbedder(embed.minilm_path(), precision="fp32").encode(CAPTIONS)
    bf16 = embed.SentenceTransformerEmbedder(embed.minilm_path(), precision="bf16").encode(CAPTIONS)
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    np.testing.assert_allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert (fp32 * bf16).sum(axis=1).min() > 0.9995


def test_int8_quantises_the_linear_layers_and_stays_close_to_fp32():
    import torch

    fp32 = embed.SentenceTransformerEmbedder(embed.minilm_path(), precision="fp32")
    int8 = embed.SentenceTransformerEmbedder(embed.minilm_path(), precision="int8")
    kinds = {type(m).__module__ for m in int8.model.modules() if "Linear" in type(m).__name__}
    assert int8.precision == "int8" and any("quantized" in kind for kind in kinds)
    assert not any(isinstance(m, torch.nn.Linear) and type(m) is torch.nn.Linear for m in int8.model.modules())
    a, b = fp32.encode(CAPTIONS), int8.encode(CAPTIONS)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.94  # measured 0.95 min, 0.976 mean on the real-style captions


def test_fingerprint_names_code_weights_and_precision(monkeypatch):
    fp32 = embed.embedder_fingerprint("minilm", None, "fp32")
    assert fp32 == embed.embedder_fingerprint("minilm", None, "fp32")
    assert fp32 != embed.embedder_fingerprint("minilm", None, "int8")
    monkeypatch.setattr(embed, "minilm_path", lambda: "/elsewhere/other-weights")
    assert fp32 != embed.embedder_fingerprint("minilm", None, "fp32")


def test_a_changed_setting_builds_a_new_embedder(monkeypatch):
    monkeypatch.setenv(embed.PRECISION_ENV, "fp32")
    first = embed.get_text_embedder()
    assert first.precision == "fp32" and embed.get_text_embedder() is first
    monkeypatch.setenv(embed.PRECISION_ENV, "bf16")
    assert embed.get_text_embedder().precision == "bf16"


def test_cli_refuses_a_bad_setting_before_any_stage(monkeypatch, tmp_path, capsys):
    from svta.cli.main import main

    monkeypatch.setenv(embed.PRECISION_ENV, "half")
    assert main(["--root", str(tmp_path / "root"), "captions", "generate"]) == 2
    assert "SVTA_EMBED_PRECISION='half'" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_a_repeated_text_is_embedded_once(monkeypatch):
    embedder = embed.SentenceTransformerEmbedder(embed.minilm_path(), precision="fp32")
    seen = []
    original = embedder.model.encode
    monkeypatch.setattr(embedder.model, "encode", lambda texts, **kw: seen.append(list(texts)) or original(texts, **kw))
    vectors = embedder.encode([CAPTIONS[0], CAPTIONS[1], CAPTIONS[0]])
    assert seen == [CAPTIONS[:2]]
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_span_vectors_come_from_the_same_pass():
    embedder = embed.SentenceTransformerEmbedder(embed.minilm_path(), precision="fp32")
    text = "A parking lot at night. A man smashes a car window with a bat."
    spans = [(0, 23), (24, len(text))]
    whole, parts = embedder.encode_spans([text, CAPTIONS[1], text], [spans, [], spans])
    assert whole.shape == (3, embedder.dim) and [len(p) for p in parts] == [2, 0, 2]
    alone = embedder.encode([text, CAPTIONS[1], text[24:]])
    assert (whole * alone[[0, 1, 0]]).sum(axis=1).min() > 0.9999  # the text vector is the usual mean pooling
    np.testing.assert_allclose(np.linalg.norm(parts[0], axis=1), 1.0, atol=1e-5)
    assert 0.8 < float(parts[0][1] @ alone[2]) < 0.9999  # the sentence, seen in its context
    np.testing.assert_array_equal(parts[0], parts[2])
