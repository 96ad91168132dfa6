"""The ``svta-run`` encoder over a run directory laid out as ``svta train`` writes it (tiny CLIP)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import open_clip  # noqa: F401
import pytest
import torch
from searchkit import CLIPS

from svta.errors import ConfigError, InputError
from svta.search.build import build_index
from svta.search.config import SearchConfig
from svta.search.encoders import create_encoder
from svta.search.run_encoder import encoder_spec_for_run
from svta.search.searcher import Searcher

FRAMES = 4


def make_run(root, name: str, model: str, **model_args: object) -> object:
    """``<root>/runs/<name>/`` with ``config.yaml`` and ``best_model.bin`` of a random tiny model."""
    from svta.retrieval.checkpoint import save_model_weights
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.factory import create_model
    from svta.retrieval.results import write_config

    torch.manual_seed(0)
    cfg = TrainConfig(
        model=model, backbone="tiny", max_frames=FRAMES, max_words=16, temporal_layers=1, model_args=model_args
    )
    net = create_model(cfg.model, cfg.backbone, None, **cfg.model_overrides())
    run_dir = root / "runs" / name
    save_model_weights(net, run_dir / "best_model.bin")
    write_config(run_dir, {"root": str(root), "world_size": 1, "train": cfg.model_dump(mode="json")})
    return net.eval()


def test_loose_head_matches_the_models_own_video_encoder(colour_index, tmp_path):
    from svta.video_io import read_frames

    root, _ = colour_index
    net = make_run(tmp_path, "seq", "clip4clip-seqtransf")
    encoder = create_encoder(encoder_spec_for_run("seq", tmp_path))
    assert (encoder.dim, encoder.num_frames) == (128, FRAMES) and not hasattr(encoder, "rerank")
    paths = [root / "videos" / "blue2red.mp4", root / "videos" / "red1.mp4"]
    got = encoder.encode_videos(paths)
    pixels = np.stack([net.preprocess.resize_crop(read_frames(p, num_frames=FRAMES)) for p in paths])
    mask = torch.ones(2, FRAMES, dtype=torch.long)
    with torch.inference_mode():
        expected = net.encode_video(net.preprocess.normalize(torch.from_numpy(pixels), mask), mask).embeds.numpy()
    assert np.allclose(got.video, expected, atol=1e-4)
    assert got.frames.shape == (2, FRAMES, 128) and got.frame_mask.all()
    assert np.allclose(np.linalg.norm(got.frames, axis=-1), 1.0, atol=1e-4)
    texts = encoder.encode_texts(["a red room", "a blue shop"])
    from svta.retrieval.tokenizer import tokenize

    with torch.inference_mode():
        ids, token_mask = tokenize(["a red room", "a blue shop"], 16)
        assert np.allclose(texts, net.encode_text(ids, token_mask).embeds.numpy(), atol=1e-5)


def test_index_and_search_with_a_run(colour_index, tmp_path):
    root, _ = colour_index
    make_run(root.parent, "meanp", "clip4clip-meanp")
    spec = encoder_spec_for_run("meanp", root.parent)
    report = build_index(root, tmp_path / "index", spec, SearchConfig(batch_size=4))
    assert report.count == len(CLIPS) and not report.failed
    searcher = Searcher.open(tmp_path / "index")
    hits = searcher.search("two men fight", k=3)
    assert len(hits) == 3 and all(len(h.frame_scores) == FRAMES for h in hits)
    assert hits[0].score >= hits[1].score >= hits[2].score
    weights = root.parent / "runs" / "meanp" / "best_model.bin"
    make_run(root.parent, "meanp", "clip4clip-seqlstm")  # retrained under the same name
    assert weights.exists()
    with pytest.raises(ConfigError, match="weights changed"):
        Searcher.open(tmp_path / "index")


def test_cross_encoder_runs_rerank_the_first_stage(colour_index, tmp_path):
    root, _ = colour_index
    net = make_run(tmp_path, "tight", "clip4clip-tighttransf")
    spec = encoder_spec_for_run(tmp_path / "runs" / "tight")
    build_index(root, tmp_path / "index", spec, SearchConfig(batch_size=6))
    searcher = Searcher.open(tmp_path / "index", config=SearchConfig(rerank_top=6))
    assert hasattr(searcher.encoder, "rerank")
    hits = searcher.search("flames everywhere", k=6)
    from svta.retrieval.base import TextFeatures, VideoFeatures
    from svta.retrieval.tokenizer import tokenize

    rows = np.array([h.row for h in hits])
    frames, mask = searcher.frames_of(rows)
    with torch.inference_mode():
        ids, token_mask = tokenize(["flames everywhere"], 16)
        text = net.encode_text(ids, token_mask)
        expected = net.similarity(
            text, VideoFeatures(frames=torch.from_numpy(frames), mask=torch.from_numpy(mask.astype(np.int64)))
        )
    assert np.allclose([h.score for h in hits], expected[0].numpy(), atol=1e-3)
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert isinstance(text, TextFeatures)


def _model_second_stage(net, model: str, query: str, paths) -> np.ndarray:
    """The model's own second-stage scores ``[K]`` of ``query`` against clips decoded as in training."""
    from svta.retrieval.tokenizer import tokenize
    from svta.video_io import read_frames

    pixels = np.stack([net.preprocess.resize_crop(read_frames(p, num_frames=FRAMES)) for p in paths])
    mask = torch.ones(len(paths), FRAMES, dtype=torch.long)
    with torch.inference_mode():
        video = net.encode_video(net.preprocess.normalize(torch.from_numpy(pixels), mask), mask)
        text = net.encode_text(*tokenize([query], 16))
        if model == "gram":
            return net.rerank(text, video, torch.arange(len(paths))[None])[0].numpy()
        return net.similarity(text, video)[0].numpy()


@pytest.mark.parametrize("model", ["xclip", "gram"])
def test_xclip_and_gram_rerank_their_top_candidates(colour_index, tmp_path, model):
    root, _ = colour_index
    top = 3  # X-CLIP: the searcher's rerank_top; GRAM: the model's own rerank_k (rerank_top is left at 50)
    net = make_run(tmp_path, model, model, **({"rerank_k": top} if model == "gram" else {}))
    spec = encoder_spec_for_run(tmp_path / "runs" / model)
    assert spec["frame_features"] == "model"
    build_index(root, tmp_path / "index", spec, SearchConfig(batch_size=6))
    searcher = Searcher.open(tmp_path / "index", config=SearchConfig(rerank_top=top if model == "xclip" else 50))
    query = "flames everywhere"
    hits = searcher.search(query, k=len(CLIPS))
    first = searcher.search_vectors(searcher.embed_queries([query]), len(CLIPS))[1][0]
    assert [h.row for h in hits[top:]] == list(first[top:])  # below the re-scored ones: first-stage order
    assert {h.row for h in hits[:top]} == set(first[:top])
    assert [h.row for h in hits[:top]] != list(first[:top])  # with these weights the second stage reorders
    direct = _model_second_stage(net, model, query, [root / "videos" / f"{h.id}.mp4" for h in hits[:top]])
    got = np.array([h.score for h in hits[:top]])
    tolerance = 5e-4 * max(1.0, float(np.abs(direct).max()))  # frames are stored as float16
    assert np.allclose(got, direct, atol=tolerance)
    assert all(a >= b for a, b in itertools.pairwise(got))
    assert all(a >= b - tolerance for a, b in itertools.pairwise(direct))  # the model's own order


def test_xclip_rerank_of_short_clips_matches_the_model(tmp_path):
    """The index stores zeros for padded frames; X-CLIP attends over them as the features of a zero frame."""
    from svta.retrieval.tokenizer import tokenize

    net = make_run(tmp_path, "x", "xclip")
    encoder = create_encoder(encoder_spec_for_run(tmp_path / "runs" / "x"))
    torch.manual_seed(1)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 0]])
    pixels = torch.randn(3, FRAMES, 3, net.image_size, net.image_size) * mask[..., None, None, None]
    with torch.inference_mode():
        video = net.encode_video(pixels, mask)
        expected = net.similarity(net.encode_text(*tokenize(["a fire"], 16)), video)[0].numpy()
    stored = (video.frames * mask[..., None]).numpy()
    got = encoder.rerank("a fire", stored, mask.numpy().astype(bool), videos=video.embeds.numpy())
    assert np.allclose(got, expected, atol=1e-5)


def test_indexes_without_model_frames_search_with_the_first_stage_only(tmp_path, capsys):
    make_run(tmp_path, "x", "xclip")
    spec = encoder_spec_for_run(tmp_path / "runs" / "x")
    legacy = {key: value for key, value in spec.items() if key != "frame_features"}
    encoder = create_encoder(legacy)  # an index built before frame features were stored
    assert not hasattr(encoder, "rerank") and encoder.spec() == legacy
    assert "rebuild it" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="frame_features"):
        create_encoder({**spec, "frame_features": "pooled"})


def test_missing_runs_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no training run"):
        encoder_spec_for_run("nope", tmp_path)
    (tmp_path / "runs" / "empty").mkdir(parents=True)
    (tmp_path / "runs" / "empty" / "config.yaml").write_text("train: {}\n")
    with pytest.raises(InputError, match="weight file not found"):
        encoder_spec_for_run("empty", tmp_path)


def test_svta_train_run_indexes_and_serves_end_to_end(tmp_path, capsys):
    """A run written by the real trainer (one step) goes through `svta index --run` and a search."""
    from searchkit import make_root

    from svta.cli.main import main
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.trainer import train
    from svta.tables import read_records, table_path, write_table

    root = make_root(tmp_path / "root", CLIPS)
    rows = read_records(table_path(root, "manifest"), "manifest")
    write_table(
        [{**r, "split": "train" if i < 4 else "val"} for i, r in enumerate(rows)],
        table_path(root, "manifest"),
        "manifest",
    )
    config = TrainConfig.preset(
        "cpu-demo",
        epochs=1,
        batch_size=4,
        max_frames=FRAMES,
        max_steps=1,
        validate_every_epoch=False,
        num_workers=0,
        frame_cache=False,
        tensorboard=False,
        splits=("train", "val", "val"),
    )
    train(root, config, run_name="trained", device="cpu", test=False)
    out = tmp_path / "index"
    assert main(["index", "--run", "trained", "--root", str(root), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == len(CLIPS) and report["failed"] == []
    hits = Searcher.open(out).search("flames everywhere", k=2, kind="anomaly")
    assert len(hits) == 2 and all(h.is_anomaly for h in hits) and len(hits[0].frame_scores) == FRAMES


def test_an_index_records_the_decoding_code_and_refuses_additions_made_by_other_code(colour_index, tmp_path):
    import json

    from svta.retrieval.frame_cache import decoder_digest

    root, _ = colour_index
    make_run(root.parent, "meanp", "clip4clip-meanp")
    spec = encoder_spec_for_run("meanp", root.parent)
    assert spec["decoder"] == decoder_digest()
    build_index(root, tmp_path / "index", spec, SearchConfig(batch_size=4))
    meta_file = tmp_path / "index" / "index.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    assert meta["encoder"]["decoder"] == decoder_digest()
    meta["encoder"]["decoder"] = "1:older-decoding-code:av0"
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    assert len(Searcher.open(tmp_path / "index").search("two men fight", k=2)) == 2  # text search still works
    with pytest.raises(ConfigError, match="other frame-decoding code"):
        build_index(root, tmp_path / "index", spec, SearchConfig(batch_size=4))
    legacy = {key: value for key, value in spec.items() if key != "decoder"}
    assert create_encoder(legacy).spec() == legacy  # an index from before the key existed still opens
