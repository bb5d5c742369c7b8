"""opset.allocator: freed large blocks stay in glibc's heap, so reusing them faults in no new pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A detector's activation pattern through malloc (numpy's large arrays): big early maps freed as the
# maps shrink, grown again on the next pass; count the minor page faults of 5 passes after a warm-up.
_CHILD = r"""
import json, resource, sys
sys.path.insert(0, {root!r})
import runtime
import numpy as np
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def forward():
    alive = []
    for mb in (6.5, 3.3, 6.5, 1.6, 3.3, 0.8, 1.6, 0.4, 0.8, 1.6, 3.3):
        alive.append(np.ones(int(mb * 262144), np.float32))
        if len(alive) > 2:
            alive.pop(0)
forward()
before = faults()
for _ in range(5):
    forward()
print(json.dumps({{"tuned": runtime.malloc_tuned(), "faults": faults() - before}}))
"""


def _child(env_value: str | None) -> dict:
    env = dict(os.environ)
    env.pop("MLX_UNIFACE_MALLOC_TUNING", None)
    if env_value is not None:
        env["MLX_UNIFACE_MALLOC_TUNING"] = env_value
    out = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT))], capture_output=True, text=True,
                         env=env, timeout=300, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_reused_buffers_fault_in_no_new_pages():
    tuned, default = _child(None), _child("0")
    assert tuned["tuned"] and not default["tuned"]
    # glibc's defaults hand big blocks back (munmap, heap trim) and fault them in again (~13,000 here)
    assert default["faults"] > 5000, default
    assert tuned["faults"] < 500, tuned
