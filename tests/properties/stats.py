"""Counts of what the property and fuzz tests tried, for tools/deep_properties.py.

Tests call `record(kind, key)`; when PROPERTIES_STATS_DIR is set, the session
writes the counts to `stats-<worker>.json` there (one file per xdist worker).
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path

COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def record(kind: str, key: str, n: int = 1) -> None:
    COUNTS[kind][key] += n


def dump() -> Path | None:
    out = os.environ.get("PROPERTIES_STATS_DIR")
    if not out or not COUNTS:
        return None
    path = Path(out) / f"stats-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: dict(v) for k, v in COUNTS.items()}, indent=1, sort_keys=True))
    return path
