"""Tests of svta.video_io on real mp4s written into tmp dirs (tiny: 32-64 px, 6-300 frames)."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from svta.errors import InputError, VideoDecodeError
from svta.retrieval.preprocess import OPENAI_MEAN, OPENAI_STD
from svta.video_io import (
    FramePreprocess,
    check_decodable,
    load_clip_frames,
    preprocess_frames,
    probe,
    read_clip,
    read_frames,
    rotate_upright,
    sample_frame_indices,
    sample_indices_at_times,
    sha256_file,
    write_mp4,
)


def levels_clip(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frames of flat grey whose level encodes the frame index (survives lossy coding)."""
    levels = (20 + 5 * np.arange(count)) % 236
    return np.broadcast_to(levels[:, None, None, None], (count, height, width, 3)).astype(np.uint8)


def frame_levels(frames: np.ndarray) -> list[int]:
    return [round(float(f.mean())) for f in frames]


def remux(source: Path, target: Path, keep) -> None:
    """Copy ``source``'s video packets into ``target``, keeping those ``keep(ordinal, packet)`` accepts."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        packets = [p for p in inp.demux(ist) if p.size]
        for ordinal, packet in enumerate(packets):
            if keep(ordinal, packet):
                packet.stream = ost
                out.mux(packet)


def write_vfr(path: Path, gaps_ms: list[int], size: int = 32) -> list[float]:
    """An H.264 mp4 whose frame durations are ``gaps_ms``; returns each frame's time in seconds."""
    stamps = np.concatenate([[0], np.cumsum(gaps_ms)[:-1]]).astype(int)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for index, stamp in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 8 * index % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = int(stamp), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return [s / 1000 for s in stamps]


@pytest.fixture(scope="module")
def clip40(tmp_path_factory) -> Path:
    return write_mp4(tmp_path_factory.mktemp("v") / "clip40.mp4", levels_clip(40), fps=10)


# --- sampling -------------------------------------------------------------------------------


def test_uniform_indices_match_clip4clip_linspace():
    assert sample_frame_indices(150, 12) == np.linspace(0, 149, num=12, dtype=int).tolist()
    assert sample_frame_indices(33, 12) == [0, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32]
    assert sample_frame_indices(7, 12) == list(range(7))  # short clip: all frames (then padded + masked)
    assert sample_frame_indices(0, 12) == []


def test_fps_indices_take_the_frame_shown_at_each_tick():
    assert sample_frame_indices(150, None, "fps", fps=30, target_fps=1) == [0, 30, 60, 90, 120]
    assert sample_frame_indices(151, None, "fps", fps=30, target_fps=1) == [0, 30, 60, 90, 120, 150]
    assert sample_frame_indices(50, None, "fps", fps=25, target_fps=2) == [0, 12, 25, 37]
    assert sample_frame_indices(300, 3, "fps", fps=30, target_fps=1) == [0, 120, 270]  # capped by linspace
    assert sample_frame_indices(3, None, "fps", fps=10, target_fps=20) == [0, 0, 1, 1, 2]  # ticks up to the last frame


@pytest.mark.parametrize("kwargs", [{"n": None}, {"n": 0}, {"n": 3, "mode": "fps"}, {"n": 3, "mode": "nope"}])
def test_bad_sampling_arguments_raise_input_error(kwargs):
    with pytest.raises(InputError):
        sample_frame_indices(10, **kwargs)


def test_time_sampling_handles_irregular_timestamps():
    times = [0.0, 0.1, 0.2, 1.5, 1.6, 3.05]  # a 1.3 s freeze, then a jump
    assert sample_indices_at_times(times, 1.0) == [0, 2, 4, 4]  # at 3 s the 1.6 s frame is still shown
    assert sample_indices_at_times(times, 2.0) == [0, 2, 2, 3, 4, 4, 4]
    assert sample_indices_at_times(times, 2.0, n=3) == [0, 3, 4]
    assert sample_indices_at_times([], 1.0) == []


# --- write / probe --------------------------------------------------------------------------


def test_write_then_probe_reports_the_stream(clip40):
    info = probe(clip40)
    assert (info.frames, info.fps, info.duration) == (40, 10.0, 4.0)
    assert (info.width, info.height, info.codec, info.rotation, info.vfr) == (64, 48, "h264", 0, False)
    assert check_decodable(clip40) == info


def test_write_is_deterministic_and_leaves_no_temp_files(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    first = write_mp4(tmp_path / "a.mp4", frames, 8)
    second = write_mp4(tmp_path / "b.mp4", list(frames), 8)  # a list of frames streams the same way
    assert sha256_file(first) == sha256_file(second)
    assert len(sha256_file(first)) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]


def test_failed_write_leaves_nothing_behind(tmp_path):
    def frames():
        yield np.zeros((32, 32, 3), np.uint8)
        yield np.zeros((16, 32, 3), np.uint8)

    with pytest.raises(InputError, match="frame 1"):
        write_mp4(tmp_path / "bad.mp4", frames(), 8)
    with pytest.raises(InputError, match="uint8"):
        write_mp4(tmp_path / "bad.mp4", np.zeros((2, 8, 8, 3), np.float32), 8)
    with pytest.raises(InputError, match="no frames"):
        write_mp4(tmp_path / "bad.mp4", iter([]), 8)
    assert list(tmp_path.iterdir()) == []


def test_ntsc_rate_is_stored_exactly(tmp_path):
    path = write_mp4(tmp_path / "ntsc.mp4", levels_clip(6, 32, 32), 29.97)
    with av.open(str(path)) as container:
        assert container.streams.video[0].average_rate == Fraction(30000, 1001)


@pytest.mark.parametrize(("even", "expected"), [("pad", (48, 34)), ("crop", (46, 32))])
def test_odd_sizes_are_made_even_for_yuv420p(tmp_path, even, expected):
    frames = np.zeros((6, 47, 33, 3), np.uint8)
    frames[:, :, -1] = 200  # the last column: padding repeats it, cropping drops it
    path = write_mp4(tmp_path / "odd.mp4", frames, 10, even=even)
    info = probe(path)
    assert (info.height, info.width) == expected
    back = read_frames(path)
    assert back.shape == (6, *expected, 3)
    if even == "pad":
        assert back[:, :, -2:].mean() > 150  # edge repeated, not a black bar


def test_odd_sizes_stay_odd_without_chroma_subsampling(tmp_path):
    path = write_mp4(tmp_path / "odd444.mp4", levels_clip(5, 47, 33), 10, pix_fmt="yuv444p")
    assert read_frames(path).shape == (5, 47, 33, 3)


# --- reading --------------------------------------------------------------------------------


def test_read_all_frames_in_order(clip40):
    frames = read_frames(clip40)
    assert frames.shape == (40, 48, 64, 3) and frames.dtype == np.uint8
    assert np.allclose(frame_levels(frames), frame_levels(levels_clip(40)), atol=2)


def test_uniform_read_returns_the_sampled_frames_and_stops_early(clip40):
    clip = read_clip(clip40, num_frames=8)
    assert clip.indices == sample_frame_indices(40, 8)
    assert np.allclose(frame_levels(clip.frames), [20 + 5 * i for i in clip.indices], atol=2)
    assert np.allclose(clip.times, [i / 10 for i in clip.indices])
    first_five = read_clip(clip40, [4, 0, 2, 2])
    assert first_five.indices == [4, 0, 2, 2]  # order and repeats as asked
    assert np.allclose(frame_levels(first_five.frames), [40, 20, 30, 30], atol=2)
    assert first_five.decoded == 5  # one pass, stopped after frame 4


def test_fps_read_and_max_frames(clip40):
    assert read_clip(clip40, sample_fps=1).indices == [0, 10, 20, 30]
    assert read_clip(clip40, sample_fps=2, max_frames=3).indices == [0, 15, 35]
    assert read_clip(clip40, max_frames=4).indices == [0, 13, 26, 39]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"indices": [1], "num_frames": 2},
        {"num_frames": 2, "sample_fps": 1.0},
        {"num_frames": 0},
        {"indices": [-1]},
        {"sample_fps": 0.0},
        {"max_frames": 0},
        {"indices": []},
    ],
)
def test_contradictory_or_invalid_selection_raises_input_error(clip40, kwargs):
    with pytest.raises(InputError):
        read_frames(clip40, **kwargs)


def test_index_past_the_end_raises_decode_error(clip40):
    with pytest.raises(VideoDecodeError, match="out of range"):
        read_frames(clip40, [40])


def test_seeking_reads_the_same_frames_as_a_sequential_pass(tmp_path):
    path = write_mp4(tmp_path / "long.mp4", levels_clip(300, 32, 32), 30, options={"g": "20"})
    wanted = [3, 50, 51, 120, 299, 7]
    sequential = read_clip(path, wanted)
    seeking = read_clip(path, wanted, seek_threshold=100)
    assert np.array_equal(sequential.frames, seeking.frames)
    assert np.allclose(seeking.times, sequential.times)
    assert seeking.decoded < sequential.decoded == 300  # keyframe seeks skip most of the clip
    uniform = read_clip(path, num_frames=12, seek_threshold=100)
    assert uniform.indices == sample_frame_indices(300, 12)
    assert np.array_equal(uniform.frames, read_frames(path, num_frames=12))


def test_variable_frame_rate_is_detected_and_sampled_by_time(tmp_path):
    gaps = [33, 100] * 10
    times = write_vfr(tmp_path / "vfr.mp4", gaps)
    info = probe(tmp_path / "vfr.mp4")
    assert info.vfr and info.frames == 20
    # The last frame's own duration is not stored (no frame follows it); the muxer assumes one.
    assert times[-1] < info.duration <= times[-1] + max(gaps) / 1000
    clip = read_clip(tmp_path / "vfr.mp4", sample_fps=4)
    assert clip.indices == sample_indices_at_times(times, 4)
    for tick, index in enumerate(clip.indices):  # the frame shown at each 0.25 s tick
        assert times[index] <= tick * 0.25 + 1e-3 and (index + 1 == len(times) or times[index + 1] > tick * 0.25)
    assert np.allclose(clip.times, [times[i] for i in clip.indices], atol=1e-3)
    assert not probe(write_mp4(tmp_path / "cfr.mp4", levels_clip(20, 32, 32), 30)).vfr


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video_reads_upright(tmp_path, rotation):
    frames = np.zeros((4, 32, 48, 3), np.uint8)
    frames[:, :8, :8] = 255  # a white corner shows which way is up
    path = write_mp4(tmp_path / "rot.mp4", frames, 10, rotation=rotation)
    info = probe(path)
    upright = np.rot90(frames, k=rotation // 90, axes=(1, 2))
    assert info.rotation == rotation
    assert (info.height, info.width) == upright.shape[1:3]
    back = read_frames(path)
    assert back.shape == upright.shape
    assert np.abs(back.astype(int) - upright).mean() < 2


def test_rotate_upright_turns_counter_clockwise():
    pixels = np.arange(6, dtype=np.uint8).reshape(1, 2, 3, 1)  # [[0 1 2], [3 4 5]]
    assert rotate_upright(pixels, 90)[0, :, :, 0].tolist() == [[2, 5], [1, 4], [0, 3]]
    assert rotate_upright(pixels, 0) is pixels
    assert rotate_upright(pixels, 180)[0, :, :, 0].tolist() == [[5, 4, 3], [2, 1, 0]]


# --- broken inputs --------------------------------------------------------------------------


def broken_inputs(root: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    cases = {
        "missing": root / "missing.mp4",
        "zero_bytes": root / "zero.mp4",
        "text": root / "notes.mp4",
        "truncated": root / "truncated.mp4",  # index (moov) at the end: the cut removes it
        "truncated_faststart": root / "truncated_fs.mp4",  # index first: packets are cut short
        "still_image": root / "still.png",
        "directory": root / "folder.mp4",
    }
    cases["zero_bytes"].write_bytes(b"")
    cases["text"].write_text("not a video\n" * 50)
    late_index = write_mp4(root / "late_index.mp4", levels_clip(40), 10, faststart=False).read_bytes()
    cases["truncated"].write_bytes(late_index[: len(late_index) // 2])
    cases["truncated_faststart"].write_bytes(data[: int(len(data) * 0.8)])
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(cases["still_image"])
    cases["directory"].mkdir()
    remux(good, root / "no_keyframe.mp4", lambda ordinal, packet: not packet.is_keyframe)
    cases["no_decodable_frame"] = root / "no_keyframe.mp4"
    with av.open(str(root / "audio.mp4"), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for index in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    cases["audio_only"] = root / "audio.mp4"
    with av.open(str(root / "empty.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 32
        container.start_encoding()
    cases["zero_frames"] = root / "empty.mp4"
    return cases


@pytest.fixture(scope="module")
def broken(tmp_path_factory, clip40) -> dict[str, Path]:
    return broken_inputs(tmp_path_factory.mktemp("broken"), clip40)


READERS = {
    "probe": probe,
    "check_decodable": check_decodable,
    "read_frames": lambda p: read_frames(p, num_frames=8),
    "read_fps": lambda p: read_frames(p, sample_fps=1),
    "load_clip_frames": lambda p: load_clip_frames(p, 4, clip_transform(32)),
}
CASES = [
    "missing",
    "zero_bytes",
    "text",
    "truncated",
    "truncated_faststart",
    "still_image",
    "directory",
    "no_decodable_frame",
    "audio_only",
    "zero_frames",
]


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case", CASES)
def test_broken_input_raises_one_error_type_naming_the_path(broken, case, reader):
    path = broken[case]
    with pytest.raises(VideoDecodeError) as caught:
        READERS[reader](path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)


def test_frames_missing_mid_stream_are_resampled_over_what_decodes(tmp_path):
    good = write_mp4(tmp_path / "g10.mp4", levels_clip(40), 10, options={"g": "10", "bf": "0"})
    damaged = tmp_path / "first_gop_lost.mp4"
    remux(good, damaged, lambda ordinal, packet: ordinal != 0)  # the first keyframe is gone
    assert probe(damaged).frames == 39  # the container still lists the packets
    with pytest.raises(VideoDecodeError, match="only 30 of 39"):
        check_decodable(damaged)
    clip = read_clip(damaged, num_frames=8)
    assert clip.resampled and clip.total_frames == 30
    assert clip.indices == sample_frame_indices(30, 8)
    # Frames are real content from the second GOP on (levels of frames 10..39), never filler.
    assert np.allclose(frame_levels(clip.frames), [20 + 5 * (10 + i) for i in clip.indices], atol=2)
    with pytest.raises(VideoDecodeError, match="only 30 of 39"):
        read_frames(damaged, [35])


def damaged_copy(tmp_path: Path) -> Path:
    """A gradient clip with 64 zeroed bytes mid-file: H.264 conceals the damage (frames still come
    out) but flags the frame and logs the error."""
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.arange(48), np.arange(64)) * 2
    frames = np.stack([ramp + 4 * i for i in range(40)])[..., None].repeat(3, axis=3)
    frames = np.clip(frames + rng.integers(0, 30, frames.shape), 0, 255).astype(np.uint8)
    data = bytearray(write_mp4(tmp_path / "ramp.mp4", frames, 10).read_bytes())
    start = len(data) // 2
    data[start : start + 64] = bytes(64)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    return damaged


def test_concealed_damage_raises_instead_of_returning_patched_frames(tmp_path):
    damaged = damaged_copy(tmp_path)
    with pytest.raises(VideoDecodeError, match="corrupt"):
        read_frames(damaged)
    with pytest.raises(VideoDecodeError, match="corrupt"):
        check_decodable(damaged)


def test_strict_log_capture_turns_decoder_errors_into_decode_errors(tmp_path):
    from svta.video_io import _av

    damaged = damaged_copy(tmp_path)
    # Decode ignoring the corrupt-frame flag: only the captured FFmpeg log can tell.
    with (
        pytest.raises(VideoDecodeError, match="decoder reported errors"),
        _av.open_video(damaged, threads=False) as (container, stream),
        _av.decoder_log(damaged, strict=True),
    ):
        for packet in container.demux(stream):
            packet.decode()


def test_strict_mode_restores_the_ffmpeg_log_level(clip40):
    import av.logging

    before = av.logging.get_level()
    read_frames(clip40, num_frames=2, strict=True)
    with pytest.raises(VideoDecodeError):
        check_decodable(clip40.parent / "missing.mp4")
    assert av.logging.get_level() == before


def test_time_limit_stops_decoding(clip40):
    with pytest.raises(VideoDecodeError, match="time limit"):
        read_frames(clip40, timeout_s=0.0)


# --- preprocessing --------------------------------------------------------------------------


def clip_transform(size: int) -> FramePreprocess:
    """OpenAI CLIP's transform, as the models carry it."""
    return FramePreprocess(size, OPENAI_MEAN, OPENAI_STD)


def clip_reference(frames: np.ndarray, size: int) -> torch.Tensor:
    """OpenAI CLIP's own transform on PIL images, one frame at a time."""
    from PIL import Image
    from torchvision import transforms

    transform = transforms.Compose(
        [
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(OPENAI_MEAN, OPENAI_STD),
        ]
    )
    return torch.stack([transform(Image.fromarray(frame)) for frame in frames])


def pil_resize_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """PIL's ``Image.resize(..., BICUBIC)`` of the short side to ``size``, then the centre crop, in uint8."""
    from PIL import Image

    height, width = frames.shape[1:3]
    new_h, new_w = (size, int(size * width / height)) if height <= width else (int(size * height / width), size)
    top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
    resized = [np.asarray(Image.fromarray(f).resize((new_w, new_h), Image.Resampling.BICUBIC)) for f in frames]
    return np.stack(resized)[:, top : top + size, left : left + size]


@pytest.mark.parametrize("shape", [(37, 53, 24), (96, 96, 64), (120, 160, 112), (64, 40, 24), (20, 30, 24)])
def test_resize_crop_is_pils_bicubic_resize(shape):
    """The one resampling path (training, evaluation, search, frame caches) is PIL's, as CLIP's published
    transform: torch's float kernel missed it by up to ~25 levels on noise; the uint8 kernel is within one
    level (its int16 weights round a little differently from PIL's), on a small fraction of the values."""
    height, width, size = shape
    frames = np.random.default_rng(height).integers(0, 256, (3, height, width, 3), dtype=np.uint8)
    ours = clip_transform(size).resize_crop(frames)
    diff = np.abs(ours.astype(int) - pil_resize_crop(frames, size))
    assert ours.shape == (3, size, size, 3) and ours.dtype == np.uint8
    assert diff.max() <= 1 and diff.mean() < 0.01


def test_preprocess_frames_is_the_models_transform():
    """One path: the float frames are the uint8 frames training ships, normalised as on the training device."""
    frames = np.random.default_rng(2).integers(0, 256, (5, 30, 41, 3), dtype=np.uint8)
    transform = FramePreprocess(16, (0.5, 0.4, 0.3), (0.2, 0.25, 0.3))
    pixels = torch.from_numpy(transform.resize_crop(frames))[None]
    expected = transform.normalize(pixels, torch.ones(1, 5, dtype=torch.long))[0]
    assert torch.equal(preprocess_frames(frames, transform, chunk=2), expected)


@pytest.mark.parametrize("shape", [(48, 64), (64, 40), (20, 30), (32, 32)])
def test_preprocess_matches_clip_pil_transform(shape):
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 255, (3, shape[0] // 4, shape[1] // 4, 3), dtype=np.uint8)
    frames = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)  # blocks: edges and flat areas
    ours = preprocess_frames(frames, clip_transform(24))
    reference = clip_reference(frames, 24)
    assert ours.shape == (3, 3, 24, 24) and ours.dtype == torch.float32
    step = 1 / 255 / min(OPENAI_STD)  # one 8-bit level, normalised
    # Same kernel and 8-bit rounding as PIL; PIL's two separable passes round in between, so a
    # few pixels differ by a level or two.
    assert (ours - reference).abs().max() <= 2 * step + 1e-5
    assert (ours - reference).abs().mean() < 0.1 * step


def test_preprocess_rejects_non_uint8():
    with pytest.raises(InputError):
        preprocess_frames(np.zeros((2, 8, 8, 3), np.float32), clip_transform(8))


def test_load_clip_frames_pads_and_masks_short_clips(tmp_path, clip40):
    short = write_mp4(tmp_path / "short.mp4", levels_clip(6, 32, 32), 10)
    video, mask = load_clip_frames(short, num_frames=8, preprocess=clip_transform(16))
    assert video.shape == (8, 3, 16, 16) and mask.tolist() == [1] * 6 + [0] * 2
    assert torch.count_nonzero(video[6:]) == 0 and torch.count_nonzero(video[:6]) > 0
    video, mask = load_clip_frames(clip40, num_frames=8, preprocess=clip_transform(16))
    assert mask.tolist() == [1] * 8
    expected = preprocess_frames(read_frames(clip40, num_frames=8), clip_transform(16))
    assert torch.equal(video, expected)
    _, mask = load_clip_frames(clip40, num_frames=8, preprocess=clip_transform(16), sample_fps=1)
    assert mask.tolist() == [1] * 4 + [0] * 4


def test_import_is_cheap():
    code = "import sys, svta.video_io; print(any(m in sys.modules for m in ('av', 'torch', 'cv2', 'pyarrow')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_concurrent_strict_checks_restore_the_log_level(tmp_path):
    """Strict decoding raises FFmpeg's process-wide log level; concurrent checks must restore it."""
    from concurrent.futures import ThreadPoolExecutor

    import av.logging

    from svta.video_io import check_decodable

    frames = np.random.default_rng(0).integers(0, 255, size=(6, 32, 32, 3), dtype=np.uint8)
    paths = []
    for i in range(6):
        path = tmp_path / f"c{i}.mp4"
        write_mp4(path, frames, fps=8)
        paths.append(path)
    before = av.logging.get_level()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(check_decodable, paths * 3))
    assert av.logging.get_level() == before


def test_write_mp4_is_byte_deterministic(tmp_path):
    """The same frames give the same file bytes, run after run (x264 with mbtree off, yuv420p input)."""
    frames = np.random.default_rng(3).integers(0, 255, size=(12, 48, 48, 3), dtype=np.uint8)
    digests = set()
    for i in range(8):
        path = tmp_path / f"c{i}.mp4"
        write_mp4(path, frames, fps=8)
        digests.add(path.read_bytes())
    assert len(digests) == 1


@pytest.mark.parametrize(
    "pix_fmt", ["yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "gray", "yuv420p10le", "bgr24", "rgba", "rgb24"]
)
def test_decoded_rgb_equals_pyav_own_conversion(tmp_path, pix_fmt):
    """The kept per-thread converter gives the pixels of PyAV's ``to_ndarray(format="rgb24")``, for every
    pixel format and for sizes that are not a multiple of 16."""
    path = tmp_path / f"{pix_fmt}.nut"  # NUT holds raw video of any pixel format
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(5, 34, 50, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("rawvideo", rate=4)
        stream.width, stream.height, stream.pix_fmt = 50, 34, pix_fmt
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format=pix_fmt)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        expected = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    got = read_frames(path, list(range(5)))
    assert got.shape == expected.shape == (5, 34, 50, 3)
    assert np.array_equal(got, expected)
