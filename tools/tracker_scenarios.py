"""Scripted detection sequences for tracker tests, and (run with upstream uniface 4.2.1) their expected tracks.

    /path/to/uniface4-venv/bin/python tools/tracker_scenarios.py > tests/uniface/tracking/upstream_bytetrack.json

Each scenario is a list of frames, each frame a list of [x1, y1, x2, y2, score]
detections: faces crossing, a face whose score dips below the tracking
threshold (ByteTrack's second stage), a face that vanishes for a few frames
and comes back (a lost track re-found), one that leaves for longer than the
buffer, and a one-frame false positive. This file only builds the inputs and,
when upstream uniface is importable, records upstream's outputs; the test
runs our tracker on the same inputs and compares.
"""

from __future__ import annotations

import json


def _box(cx: float, cy: float, w: float = 60, h: float = 75, score: float = 0.9) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score]


def scenarios() -> dict[str, list[list[list[float]]]]:
    crossing, dip, gap, long_gap, noise = [], [], [], [], []
    for f in range(40):
        crossing.append([_box(50 + 8 * f, 100 + 0.5 * f), _box(370 - 8 * f, 130, score=0.8)])
        dip.append([_box(100 + 3 * f, 200, score=0.3 if 10 <= f < 16 else 0.85)])
        gap.append([] if 12 <= f < 18 else [_box(80 + 4 * f, 150 + 2 * f)])
        long_gap.append([] if 5 <= f < 40 else [_box(300, 300)])
        frame = [_box(200 + 2 * f, 220)]
        if f == 7:
            frame.append(_box(500, 60, w=30, h=30, score=0.7))
        noise.append(frame)
    long_gap += [[_box(300, 300)] for _ in range(5)]
    return {"crossing": crossing, "score_dip": dip, "short_gap": gap, "long_gap": long_gap, "one_frame_noise": noise}


def main() -> None:
    from uniface.tracking import BYTETracker

    import numpy as np

    out = {}
    for name, frames in scenarios().items():
        tracker = BYTETracker()
        tracker.reset()
        out[name] = [np.asarray(tracker.update(np.array(d).reshape(-1, 5))).tolist() for d in frames]
    print(json.dumps({"upstream": "uniface 4.2.1", "scenarios": scenarios(), "outputs": out}))


if __name__ == "__main__":
    main()
