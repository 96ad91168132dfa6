"""UCA (UCF-Crime Annotation, Yuan et al., CVPR 2024) as an evaluation set: sentences with timestamps over
the untrimmed UCF-Crime videos (``UCFCrime_{Train,Val,Test}.json``). Each sentence is a query; its video is
the whole recording, or, with a clips folder, the segment its timestamps mark, cut once into an mp4.
"""

from __future__ import annotations

import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from svta.errors import InputError, SvtaError
from svta.progress import progress
from svta.transfer.sets import BadRows, ItemSet, RowProblems, SetItem, source_key
from svta.transfer.videofolder import VideoFolder


def load_uca(path: Path | str, videos: Path | str | None = None, *, clips_dir: Path | str | None = None,
             bad_rows: BadRows = "error", max_clip_frames: int = 256, workers: int = 2) -> ItemSet:
    """Read a UCA annotation JSON, optionally joined with the UCF-Crime videos.

    Args:
        path: ``UCFCrime_Test.json`` or the like (``{"Abuse037_x264": {"duration", "timestamps", "sentences"}}``).
        videos: the UCF-Crime folder (videos found by stem anywhere below it); ``None``: captions only.
        clips_dir: cut each sentence's ``[start, end]`` segment into ``<clips_dir>/<video>/<i>_<s>-<e>.mp4``
            (kept between runs) and use the clip as the sentence's video. ``None``: the whole recording.
        bad_rows: ``error`` raises naming every bad sentence (up to five shown); ``skip`` lists them.
        max_clip_frames: frames written per clip at most (uniformly subsampled from the segment).
        workers: threads cutting clips.

    Raises:
        InputError: malformed JSON (names the line), or with ``bad_rows="error"``: empty sentences, missing
            videos, unusable timestamps (with clips) or clips that cannot be cut.
    """
    from svta.build.formats.ucfcrime_ar import category_of, ucf_class
    from svta.captions.importers import IMPORT_RULES, read_uca
    from svta.captions.text import check_caption

    path = Path(path)
    if clips_dir is not None and videos is None:
        raise InputError(f"{path}: cutting clips needs the UCF-Crime video folder (videos=...)")
    folder = VideoFolder(videos) if videos is not None else None
    problems = RowProblems(path, bad_rows)
    items: list[SetItem] = []
    spans: dict[str, tuple[float, float]] = {}
    resolved: dict[str, Path | None] = {}
    for raw in read_uca(path):
        name, _, rest = (raw.source_ref or "").partition("#")
        index = int(rest.split("@", 1)[0])
        where = f"line {raw.line} ({name} sentence {index})"
        check = check_caption(raw.caption, IMPORT_RULES)
        if not check.ok:
            problems.add(where, f"empty or unusable sentence ({check.reason})")
            continue
        if folder is not None and name not in resolved:
            resolved[name] = folder.resolve(name)
        video = resolved.get(name)
        if folder is not None and video is None:
            problems.add(where, f"no video file matches {name!r} under {folder.root}")
            continue
        if clips_dir is not None:
            span = _span(raw.span)
            if isinstance(span, str):
                problems.add(where, span)
                continue
            spans[f"{name}#{index}"] = span
        category, is_anomaly = category_of(ucf_class(name), True)
        items.append(SetItem(f"{name}#{index}", check.text, video, category, is_anomaly, f"{path.name}: {where}",
                             source_key(name), None))
    if clips_dir is not None:
        items = _with_clips(items, spans, Path(clips_dir), max_clip_frames, workers, problems)
    problems.finish()
    if not items:
        raise InputError(f"{path}: no usable sentence ({len(problems.skipped)} skipped)")
    suffix = "/clips" if clips_dir is not None else ""
    return ItemSet(f"uca:{path.name}{suffix}", "uca", items, problems.skipped)


def _span(value: Any) -> tuple[float, float] | str:
    """``(start, end)`` seconds of a timestamp pair, or why it is unusable."""
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        return f"timestamp {value!r} is not a [start, end] pair of seconds"
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
        return f"timestamp [{start}, {end}] is not an interval of seconds with start < end"
    return start, end


def _with_clips(items: list[SetItem], spans: dict[str, tuple[float, float]], clips_dir: Path, max_frames: int,
                workers: int, problems: RowProblems) -> list[SetItem]:
    """Cut every item's clip (per source video, in threads) and point the items at them."""
    by_video: dict[Path, list[SetItem]] = defaultdict(list)
    for item in items:
        by_video[item.video].append(item)  # type: ignore[index]
    jobs = list(by_video.items())
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(progress(pool.map(lambda job: _cut_video(job[0], job[1], spans, clips_dir, max_frames), jobs),
                                description="cutting UCA clips", total=len(jobs)))
    clipped = []
    for outcome in results:
        for item, clip in outcome:
            if isinstance(clip, str):
                problems.add(item.ref.split(": ", 1)[-1], clip)
            else:
                clipped.append(SetItem(item.id, item.caption, clip, item.category, item.is_anomaly, item.ref,
                                       item.source_key, None))
    order = {item.id: i for i, item in enumerate(items)}
    return sorted(clipped, key=lambda item: order[item.id])


def _cut_video(source: Path, items: list[SetItem], spans: dict[str, tuple[float, float]], clips_dir: Path,
               max_frames: int) -> list[tuple[SetItem, Path | str]]:
    from svta.video_io import probe

    try:
        info = probe(source)
    except SvtaError as exc:
        return [(item, f"video does not open: {exc}") for item in items]
    out = []
    for item in items:
        start, end = spans[item.id]
        target = clips_dir / source.stem / f"{item.id.split('#')[-1]}_{start:g}-{end:g}.mp4"
        try:
            out.append((item, target if target.is_file() else cut_clip(source, start, end, target, info.fps,
                                                                       info.frames, max_frames)))
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
