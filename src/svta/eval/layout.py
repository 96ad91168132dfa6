"""Which video each text describes, and how the text/video axes are cut into blocks.

A :class:`QueryLayout` turns an optional ``text_to_video`` mapping into caption groups (the
captions of one video), checks it, and plans the blocks the streaming evaluator scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svta.errors import InputError


@dataclass(frozen=True)
class QueryLayout:
    """Ground truth of a retrieval evaluation.

    Attributes:
        n_text: number of texts (rows of the similarity matrix).
        n_video: number of videos (columns).
        text_to_video: ``[n_text]`` int64, the video each text describes.
        group_start: ``[n_groups + 1]`` CSR offsets of caption groups over texts (groups are
            contiguous runs of texts; only meaningful when ``contiguous``).
        group_video: ``[n_groups]`` the video of each caption group, in text order.
        video_group: ``[n_video]`` the group of each video, -1 for a video without any text.
        text_group: ``[n_text]`` the group of each text.
        multi: some video has two or more texts (V2T then ranks caption groups).
        contiguous: every group is one contiguous run of texts.
    """

    n_text: int
    n_video: int
    text_to_video: np.ndarray
    group_start: np.ndarray
    group_video: np.ndarray
    video_group: np.ndarray
    text_group: np.ndarray
    multi: bool
    contiguous: bool

    @classmethod
    def build(cls, n_text: int, n_video: int, text_to_video: np.ndarray | None = None) -> QueryLayout:
        """Check ``text_to_video`` and derive the caption groups.

        Args:
            n_text: number of texts.
            n_video: number of videos.
            text_to_video: ``[n_text]`` video index of each text; ``None`` means text ``i``
                describes video ``i`` (ground truth on the diagonal).

        Raises:
            InputError: empty axes, a mapping of the wrong length/dtype, an index out of range,
                or more texts than videos without a mapping.
        """
        if n_text <= 0 or n_video <= 0:
            raise InputError(f"empty evaluation: {n_text} texts x {n_video} videos")
        t2v = _check_mapping(n_text, n_video, text_to_video)
        counts = np.bincount(t2v, minlength=n_video)
        multi = bool(counts.max() > 1)
        if not multi:
            video_group = np.full(n_video, -1, dtype=np.int64)
            video_group[t2v] = np.arange(n_text)
            return cls(
                n_text, n_video, t2v, np.arange(n_text + 1), t2v.copy(), video_group, np.arange(n_text), False, True
            )
        starts = np.flatnonzero(np.r_[True, t2v[1:] != t2v[:-1]])
        contiguous = len(starts) == int((counts > 0).sum())
        if not contiguous:
            # Groups in order of first appearance; offsets are not meaningful in this case.
            starts = np.sort(np.unique(t2v, return_index=True)[1])
        group_video = t2v[starts]
        video_group = np.full(n_video, -1, dtype=np.int64)
        video_group[group_video] = np.arange(len(group_video))
        return cls(
            n_text,
            n_video,
            t2v,
            np.r_[starts, n_text].astype(np.int64),
            group_video,
            video_group,
            video_group[t2v],
            True,
            contiguous,
        )

    @property
    def n_groups(self) -> int:
        return len(self.group_video)

    def grouping_order(self) -> np.ndarray:
        """A stable permutation of the texts that makes every caption group contiguous. ``[n_text]``"""
        first = np.full(self.n_video, self.n_text, dtype=np.int64)
        np.minimum.at(first, self.text_to_video, np.arange(self.n_text))
        return np.lexsort((np.arange(self.n_text), first[self.text_to_video]))

    def permuted(self, order: np.ndarray) -> QueryLayout:
        """The layout of the texts taken in ``order`` (``[n_text]`` permutation)."""
        return QueryLayout.build(self.n_text, self.n_video, self.text_to_video[order])

    def text_bounds(self, block: int) -> list[tuple[int, int]]:
        """Row blocks of about ``block`` texts; with caption groups, cut only between groups."""
        if self.multi and not self.contiguous:
            raise InputError(
                "caption groups must be contiguous runs of texts to be streamed "
                "(sort the texts by video, or use evaluate_embeddings/evaluate_model_scores)"
            )
        bounds, start = [], 0
        while start < self.n_text:
            stop = min(start + block, self.n_text)
            if self.multi and stop < self.n_text:
                stop = int(self.group_start[np.searchsorted(self.group_start, stop)])
            bounds.append((start, stop))
            start = stop
        return bounds

    def video_bounds(self, block: int) -> list[tuple[int, int]]:
        """Column blocks of ``block`` videos."""
        return [(s, min(s + block, self.n_video)) for s in range(0, self.n_video, block)]

    def ground_truth_coords(
        self, text_bounds: list[tuple[int, int]], video_bounds: list[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row block of each text and column block of its ground-truth video. ``([n_text], [n_text])``"""
        row_of = np.searchsorted([b[1] for b in text_bounds], np.arange(self.n_text), side="right")
        col_of = np.searchsorted([b[1] for b in video_bounds], self.text_to_video, side="right")
        return row_of, col_of

    def ground_truth_blocks(
        self, text_bounds: list[tuple[int, int]], video_bounds: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """Indices ``(row_block, col_block)`` of the blocks holding a ground-truth pair, in order."""
        row_of, col_of = self.ground_truth_coords(text_bounds, video_bounds)
        pairs = np.unique(np.stack([row_of, col_of], axis=1), axis=0)
        return [(int(i), int(j)) for i, j in pairs]


def _check_mapping(n_text: int, n_video: int, text_to_video: np.ndarray | None) -> np.ndarray:
    if text_to_video is None:
        if n_text > n_video:
            raise InputError(
                f"more texts ({n_text}) than videos ({n_video}) with the ground truth on the "
                "diagonal: pass text_to_video to say which video each text describes"
            )
        return np.arange(n_text, dtype=np.int64)
    t2v = np.asarray(text_to_video)
    if t2v.ndim != 1 or len(t2v) != n_text:
        raise InputError(f"text_to_video must have shape ({n_text},), got {t2v.shape}")
    if t2v.dtype.kind not in "iu":
        raise InputError(f"text_to_video must hold integer video indices, got dtype {t2v.dtype}")
    t2v = t2v.astype(np.int64)
    bad = np.flatnonzero((t2v < 0) | (t2v >= n_video))
    if len(bad):
        raise InputError(f"text_to_video[{bad[0]}] = {t2v[bad[0]]} is not a video index in [0, {n_video})")
    return t2v
