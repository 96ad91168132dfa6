"""UCA (UCF-Crime Annotation, Yuan et al., CVPR 2024): sentences with timestamps over the untrimmed
UCF-Crime videos (``UCFCrime_{Train,Val,Test}.json``: ``{"Abuse037_x264": {"duration", "timestamps":
[[s, e], ...], "sentences": [...]}}``). Each sentence is an item; its video is the whole recording or,
with a clips folder, the segment its timestamps mark, cut once into an mp4.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from svta.datasets.files import line_of, load_json, read_text
from svta.datasets.items import Item, ItemSet, RowProblems, checked_caption
from svta.datasets.readers import DATASET_FORMATS, DatasetFormat, VideoReaderOptions
from svta.datasets.ucf import UCF_NORMAL_CATEGORY, source_key, ucf_category, ucf_class
from svta.datasets.videofolder import VideoFolder, resolve_or_why, with_checksums
from svta.errors import InputError, SvtaError


def sentences(path: Path) -> list[tuple[int, str, int, Any, Any]]:
    """``(line, video, sentence index, sentence, [start, end] or None)`` of every sentence.

    Raises:
        InputError: malformed JSON or structure (names the line of the video).
    """
    text = read_text(path)
    data = load_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: expected an object of videos")
    out = []
    for video, entry in data.items():
        line = line_of(text, json.dumps(video))
        if not isinstance(entry, dict) or not isinstance(entry.get("sentences"), list):
            raise InputError(f"{path}:{line}: video {video!r} needs a 'sentences' list")
        stamps = entry.get("timestamps") or []
        if stamps and len(stamps) != len(entry["sentences"]):
            raise InputError(
                f"{path}:{line}: video {video!r} has {len(stamps)} timestamps for {len(entry['sentences'])} sentences"
            )
        for i, sentence in enumerate(entry["sentences"]):
            out.append((line, video, i, sentence, stamps[i] if stamps else None))
    return out


def span_ref(video: str, index: int, stamp: Any) -> str:
    """``<video>#<i>@<s>-<e>``: a sentence's reference, with its segment when it has one."""
    span = f"@{stamp[0]}-{stamp[1]}" if isinstance(stamp, list) and len(stamp) == 2 else ""
    return f"{video}#{index}{span}"


class UCAOptions(VideoReaderOptions):
    """Options of the ``uca`` reader: clips cut per sentence, and the category of normal videos."""

    clips_dir: Path | None = None  # cut one clip per sentence timestamp into this folder (needs ``videos``)
    max_clip_frames: int = 256  # cap on frames written per clip
    normal_category: str = UCF_NORMAL_CATEGORY


def read_uca(path: Path, options: UCAOptions) -> ItemSet:
    """Read a UCA annotation JSON, optionally joined with the UCF-Crime videos (found by stem anywhere below).

    With ``options.clips_dir`` each sentence's ``[start, end]`` segment is cut into
    ``<clips_dir>/<video>/<i>_<s>-<e>.mp4`` (kept between runs) and used as its video; the checksum
    stays the whole recording's, so a training copy of the recording is still found.

    Raises:
        InputError: malformed JSON (names the line), or with ``bad_rows="error"``: empty sentences, missing
            videos, unusable timestamps (with clips) or clips that cannot be cut.
    """
    if options.clips_dir is not None and options.videos is None:
        raise InputError(f"{path}: cutting clips needs the UCF-Crime video folder (videos=...)")
    folder = VideoFolder(options.videos) if options.videos is not None else None
    normal = options.normal_category
    problems = RowProblems(path, options.bad_rows)
    items: list[Item] = []
    spans: dict[str, tuple[float, float]] = {}
    resolved: dict[str, Path | str | None] = {}
    for line, name, index, sentence, stamp in sentences(path):
        where = f"line {line} ({name} sentence {index})"
        text, why = checked_caption(sentence)
        if text is None:
            problems.add(where, f"empty or unusable sentence ({why.split()[0]})")
            continue
        if folder is not None and name not in resolved:
            resolved[name] = resolve_or_why(folder, name)
        video = resolved.get(name)
        if isinstance(video, str):
            problems.add(where, video)
            continue
        if options.clips_dir is not None:
            span = _span(stamp)
            if isinstance(span, str):
                problems.add(where, span)
                continue
            spans[f"{name}#{index}"] = span
        label = ucf_class(name)
        category, is_anomaly = ucf_category(label, True, normal_category=normal)
        items.append(
            Item(
                f"{name}#{index}",
                text,
                video,
                category,
                is_anomaly,
                f"{path.name}: {where}",
                source_key(name),
                source_ref=span_ref(name, index, stamp),
                label=label,
                tags=(label,) if label else (),
                span=tuple(stamp) if isinstance(stamp, list) else None,
                line=line,
            )
        )
    result = with_checksums(ItemSet("", "uca", items), options)
    items = result.items
    if options.clips_dir is not None:
        items = _with_clips(items, spans, Path(options.clips_dir), options.max_clip_frames, options.workers, problems)
    suffix = "/clips" if options.clips_dir is not None else ""
    return problems.result(f"uca:{path.name}{suffix}", "uca", items, "sentence")


def _span(value: Any) -> tuple[float, float] | str:
    """``(start, end)`` seconds of a timestamp pair, or why it is unusable."""
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        return f"timestamp {value!r} is not a [start, end] pair of seconds"
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
        return f"timestamp [{start}, {end}] is not an interval of seconds with start < end"
    return start, end


def _with_clips(
    items: list[Item],
    spans: dict[str, tuple[float, float]],
    clips_dir: Path,
    max_frames: int,
    workers: int,
    problems: RowProblems,
) -> list[Item]:
    """Cut every item's clip (per source video, in threads) and point the items at them."""
    from svta.progress import progress

    by_video: dict[Path, list[Item]] = defaultdict(list)
    for item in items:
        by_video[item.video].append(item)  # type: ignore[index]
    jobs = list(by_video.items())
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(
            progress(
                pool.map(lambda job: _cut_video(job[0], job[1], spans, clips_dir, max_frames), jobs),
                description="cutting UCA clips",
                total=len(jobs),
            )
        )
    clipped = []
    for outcome in results:
        for item, clip in outcome:
            if isinstance(clip, str):
                problems.add(item.ref.split(": ", 1)[-1], clip)
            else:
                clipped.append(replace(item, video=clip))
    order = {item.id: i for i, item in enumerate(items)}
    return sorted(clipped, key=lambda item: order[item.id])


def _cut_video(
    source: Path, items: list[Item], spans: dict[str, tuple[float, float]], clips_dir: Path, max_frames: int
) -> list[tuple[Item, Path | str]]:
    from svta.video_io import probe

    try:
        info = probe(source)
    except SvtaError as exc:
        return [(item, f"video does not open: {exc}") for item in items]
    out: list[tuple[Item, Path | str]] = []
    for item in items:
        start, end = spans[item.id]
        target = clips_dir / source.stem / f"{item.id.split('#')[-1]}_{start:g}-{end:g}.mp4"
        try:
            out.append(
                (
                    item,
                    target
                    if target.is_file()
                    else cut_clip(source, start, end, target, info.fps, info.frames, max_frames),
                )
            )
        except SvtaError as exc:
            out.append((item, f"cannot cut [{start:g}, {end:g}] s: {exc}"))
    return out


def cut_clip(source: Path, start: float, end: float, target: Path, fps: float, total: int, max_frames: int) -> Path:
    """Write frames ``[start, end)`` seconds of ``source`` to ``target`` (atomically) and return it.

    The clip keeps the segment's duration: when more than ``max_frames`` frames are kept by uniform
    subsampling, the written frame rate drops accordingly.

    Raises:
        InputError: the segment holds no frame of the video.
        VideoDecodeError: the source does not decode.
    """
    from svta.video_io import read_frames, uniform_subsample, write_mp4

    first, stop = math.floor(start * fps), min(total, math.ceil(end * fps))
    if stop <= first:
        raise InputError(f"the segment lies outside the video ({total / fps:.1f} s)")
    indices = uniform_subsample(range(first, stop), max_frames)
    frames = read_frames(source, indices)
    return write_mp4(target, frames, fps=len(indices) * fps / (stop - first), preset="veryfast")


@DATASET_FORMATS.register("uca", "UCA JSON: sentences with timestamps over UCF-Crime videos (clips optional)")
class UCAFormat(DatasetFormat):
    name = "uca"
    read_options = UCAOptions

    def read(self, path: Path, options: UCAOptions) -> ItemSet:
        return read_uca(path, options)
