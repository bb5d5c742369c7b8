"""ByteTrack (Zhang et al., 2022): Kalman-predicted boxes matched to detections by IoU in two stages.

Stage one matches confident detections to every live track (tracked or
recently lost); stage two gives the still-unmatched *tracked* tracks a chance
with the low-confidence detections (a face turning away or half occluded
scores low but is still there). Unmatched confident detections start new
tracks, which are confirmed when matched again on the next frame; tracks
lost for longer than `track_buffer` frames are dropped.

Same class name, constructor and `update` signature as uniface 4.x's
`BYTETracker`; besides the `[x1, y1, x2, y2, track_id]` array, `tracks`
lists the confirmed tracks with the index of the detection each matched
this frame, so callers can attach per-face data (landmarks, identity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .kalman import BoxKalmanFilter, tlbr_to_xyah, xyah_to_tlbr

TRACKED, LOST, REMOVED = "tracked", "lost", "removed"
SECOND_STAGE_MAX_COST = 0.5  # low-confidence detections need IoU >= 0.5 with a tracked box
UNCONFIRMED_MAX_COST = 0.7  # a one-frame-old track needs IoU >= 0.3 to be confirmed
DUPLICATE_MAX_COST = 0.15  # a tracked and a lost track this close (IoU > 0.85) are one object


@dataclass(eq=False)
class Track:
    """One tracked face: Kalman state, identity, and the detection it matched this frame (-1: none)."""

    track_id: int
    mean: np.ndarray
    covariance: np.ndarray
    score: float
    start_frame: int
    last_frame: int
    state: str = TRACKED
    confirmed: bool = False
    det_index: int = -1
    data: dict = field(default_factory=dict)  # free room for callers (e.g. the identity found once per track)

    @property
    def tlbr(self) -> np.ndarray:
        return xyah_to_tlbr(self.mean[:4])[0]

    @property
    def age(self) -> int:
        return self.last_frame - self.start_frame


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in `a` [N, 4] with every box in `b` [M, 4] (x1, y1, x2, y2)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-10)


def assign(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost one-to-one matching (scipy's Hungarian solver), keeping pairs with cost <= max_cost."""
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return [], list(range(rows)), list(range(cols))
    r, c = linear_sum_assignment(cost)
    pairs = [(int(i), int(j)) for i, j in zip(r, c) if cost[i, j] <= max_cost]
    used_r, used_c = {i for i, _ in pairs}, {j for _, j in pairs}
    return pairs, [i for i in range(rows) if i not in used_r], [j for j in range(cols) if j not in used_c]


class BYTETracker:
    """Multi-object tracker; `update(detections [N, 5] x1,y1,x2,y2,score)` -> `[M, 5]` x1,y1,x2,y2,track_id.

    Args:
        track_thresh: detections at or above this score start and match tracks in stage one.
        track_buffer: frames a lost track is kept for re-identification by motion.
        match_thresh: largest 1 - IoU accepted in stage one.
        low_thresh: detections above this (and below track_thresh) are used in stage two.
    """

    def __init__(
        self, *, track_thresh: float = 0.5, track_buffer: int = 30, match_thresh: float = 0.8, low_thresh: float = 0.1
    ) -> None:
        self.track_thresh = track_thresh
        self.track_buffer = track_buffer
        self.match_thresh = match_thresh
        self.low_thresh = low_thresh
        self.kalman = BoxKalmanFilter()
        self.reset()

    def reset(self) -> None:
        """Forget every track and restart ids at 1."""
        self.frame_id = 0
        self._next_id = 1
        self.live: list[Track] = []  # tracked (confirmed or not) and lost tracks

    @property
    def tracks(self) -> list[Track]:
        """Confirmed tracks seen this frame, as `update` returned them."""
        return [t for t in self.live if t.state == TRACKED and t.confirmed]

    # -- one frame --------------------------------------------------------------------------

    def update(self, detections: np.ndarray) -> np.ndarray:
        self.frame_id += 1
        dets = np.asarray(detections, dtype=np.float64).reshape(-1, 5) if len(detections) else np.empty((0, 5))
        for t in self.live:
            t.det_index = -1
        self._predict()

        high = np.flatnonzero(dets[:, 4] >= self.track_thresh)
        low = np.flatnonzero((dets[:, 4] > self.low_thresh) & (dets[:, 4] < self.track_thresh))
        confirmed = [t for t in self.live if t.confirmed]
        unconfirmed = [t for t in self.live if not t.confirmed]

        # Stage one: confident detections against every confirmed track, tracked or lost.
        pairs, left_tracks, left_high = self._match(confirmed, dets, high, self.match_thresh)
        for ti, di in pairs:
            self._update(confirmed[ti], dets, high[di])
        # Stage two: the weak detections against tracks that were tracked until now.
        still_tracked = [confirmed[i] for i in left_tracks if confirmed[i].state == TRACKED]
        pairs, left2, _ = self._match(still_tracked, dets, low, SECOND_STAGE_MAX_COST)
        for ti, di in pairs:
            self._update(still_tracked[ti], dets, low[di])
        for i in left2:
            still_tracked[i].state = LOST
        # Tracks born last frame need a second sighting to be confirmed; otherwise they were noise.
        remaining = high[left_high]
        pairs, left_unconfirmed, left_new = self._match(unconfirmed, dets, remaining, UNCONFIRMED_MAX_COST)
        for ti, di in pairs:
            self._update(unconfirmed[ti], dets, remaining[di])
            unconfirmed[ti].confirmed = True
        for i in left_unconfirmed:
            unconfirmed[i].state = REMOVED
        for di in remaining[left_new]:
            self._start(dets, int(di))
        for t in self.live:
            if t.state == LOST and self.frame_id - t.last_frame > self.track_buffer:
                t.state = REMOVED
        self.live = [t for t in self.live if t.state != REMOVED]
        self._drop_duplicates()
        out = [np.r_[t.tlbr, t.track_id] for t in self.tracks]
        return np.array(out) if out else np.empty((0, 5))

    def _predict(self) -> None:
        """Move confirmed tracks one frame ahead (a track born last frame has no velocity to predict with)."""
        moving = [t for t in self.live if t.confirmed]
        if not moving:
            return
        means = np.stack([t.mean for t in moving])
        covs = np.stack([t.covariance for t in moving])
        for i, t in enumerate(moving):
            if t.state != TRACKED:
                means[i, 7] = 0.0  # a lost box keeps moving but stops growing or shrinking
        means, covs = self.kalman.predict(means, covs)
        for t, m, c in zip(moving, means, covs):
            t.mean, t.covariance = m, c

    def _match(self, tracks: list[Track], dets: np.ndarray, idx: np.ndarray, max_cost: float):
        boxes = np.stack([t.tlbr for t in tracks]) if tracks else np.empty((0, 4))
        return assign(1.0 - iou_matrix(boxes, dets[idx, :4]), max_cost)

    def _update(self, track: Track, dets: np.ndarray, di: int) -> None:
        mean, cov = self.kalman.update(track.mean[None], track.covariance[None], tlbr_to_xyah(dets[di, :4]))
        track.mean, track.covariance = mean[0], cov[0]
        track.score = float(dets[di, 4])
        track.last_frame = self.frame_id
        track.state = TRACKED
        track.det_index = int(di)

    def _start(self, dets: np.ndarray, di: int) -> None:
        mean, cov = self.kalman.initiate(tlbr_to_xyah(dets[di, :4]))
        track = Track(self._next_id, mean[0], cov[0], float(dets[di, 4]), self.frame_id, self.frame_id)
        track.confirmed = self.frame_id == 1  # nothing to confuse it with on the first frame
        track.det_index = di
        self._next_id += 1
        self.live.append(track)

    def _drop_duplicates(self) -> None:
        tracked = [t for t in self.live if t.state == TRACKED]
        lost = [t for t in self.live if t.state == LOST]
        if not tracked or not lost:
            return
        cost = 1.0 - iou_matrix(np.stack([t.tlbr for t in tracked]), np.stack([t.tlbr for t in lost]))
        drop = set()
        for i, j in zip(*np.nonzero(cost < DUPLICATE_MAX_COST)):
            drop.add(id(lost[j]) if tracked[i].age > lost[j].age else id(tracked[i]))
        self.live = [t for t in self.live if id(t) not in drop]
