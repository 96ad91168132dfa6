"""The ``svta-run`` encoder over a run directory laid out as ``svta train`` writes it (tiny CLIP)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from searchkit import CLIPS

from svta.errors import ConfigError, InputError
from svta.search.build import build_index
from svta.search.config import SearchConfig
from svta.search.encoders import create_encoder
from svta.search.run_encoder import encoder_spec_for_run
from svta.search.searcher import Searcher

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")

FRAMES = 4


def make_run(root, name: str, model: str) -> object:
    """``<root>/runs/<name>/`` with ``config.yaml`` and ``best_model.bin`` of a random tiny model."""
    from svta.retrieval.checkpoint import save_model_weights
    from svta.retrieval.config import TrainConfig
    from svta.retrieval.factory import create_model
    from svta.retrieval.results import write_config

    torch.manual_seed(0)
    cfg = TrainConfig(model=model, backbone="tiny", max_frames=FRAMES, max_words=16, temporal_layers=1)
    net = create_model(
        cfg.model,
        cfg.backbone,
        None,
        linear_patch=cfg.linear_patch,
        max_words=cfg.max_words,
        max_frames=cfg.max_frames,
        temporal_layers=cfg.temporal_layers,
    )
    run_dir = root / "runs" / name
    save_model_weights(net, run_dir / "best_model.bin")
    write_config(run_dir, {"root": str(root), "world_size": 1, "train": cfg.model_dump(mode="json")})
    return net.eval()


def test_loose_head_matches_the_models_own_video_encoder(colour_index, tmp_path):
    from svta.retrieval.data import normalize_frames, resize_center_crop
    from svta.video_io import read_frames

    root, _ = colour_index
    net = make_run(tmp_path, "seq", "clip4clip-seqtransf")
    encoder = create_encoder(encoder_spec_for_run("seq", tmp_path))
    assert (encoder.dim, encoder.num_frames) == (128, FRAMES) and not hasattr(encoder, "rerank")
    paths = [root / "videos" / "blue2red.mp4", root / "videos" / "red1.mp4"]
    got = encoder.encode_videos(paths)
    pixels = np.stack([resize_center_crop(read_frames(p, num_frames=FRAMES), net.image_size) for p in paths])
    mask = torch.ones(2, FRAMES, dtype=torch.long)
    with torch.inference_mode():
        expected = net.encode_video(normalize_frames(torch.from_numpy(pixels), mask), mask).embeds.numpy()
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
