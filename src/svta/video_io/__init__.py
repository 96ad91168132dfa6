"""Video I/O on PyAV: probe, decode sampled frames, a model's frame transform, and atomic mp4 writing.

Every failure to read a video raises :class:`svta.errors.VideoDecodeError` naming the file; PyAV and
torch are imported only when a function needs them.
"""

from __future__ import annotations

from svta.errors import VideoDecodeError
from svta.video_io._av import rotate_upright
from svta.video_io.decode import DecodedClip, read_clip, read_frames
from svta.video_io.preprocess import FramePreprocess
from svta.video_io.probe import VIDEO_SUFFIXES, VideoInfo, check_decodable, probe, sha256_file
from svta.video_io.sampling import sample_frame_indices, sample_indices_at_times, uniform_subsample
from svta.video_io.transform import load_clip_frames, preprocess_frames
from svta.video_io.write import write_mp4

__all__ = [
    "VIDEO_SUFFIXES",
    "DecodedClip",
    "FramePreprocess",
    "VideoDecodeError",
    "VideoInfo",
    "check_decodable",
    "load_clip_frames",
    "preprocess_frames",
    "probe",
    "read_clip",
    "read_frames",
    "rotate_upright",
    "sample_frame_indices",
    "sample_indices_at_times",
    "sha256_file",
    "uniform_subsample",
    "write_mp4",
]
