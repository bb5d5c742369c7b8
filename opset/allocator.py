"""Keep freed activation buffers in glibc's heap instead of returning them to the OS.

MLX's CPU allocator caches only part of a forward pass's buffers and frees the
rest with `free`; glibc serves and releases blocks over 128 KiB with
mmap/munmap, so every forward faulted in ~20 MB of fresh zeroed pages
(5,164 page faults per RetinaFace forward, ~25% of its time). Raising the mmap
and trim thresholds makes those blocks reusable heap memory: 0 faults,
RetinaFace 22.3 -> 16.6 ms, SCRFD 21.9 -> 16.9 ms (docs/benchmarks.md). The cost
is that the process keeps its peak heap (tens of MB for these models).
MLX_UNIFACE_MALLOC_TUNING=0 leaves glibc's defaults alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum (HEAP_MAX on 64-bit)
TRIM_THRESHOLD = 128 << 20

_tuned = False


def tune_malloc() -> bool:
    """Apply the thresholds once (Linux with glibc); True if they are in effect."""
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("MLX_UNIFACE_MALLOC_TUNING", "1") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _tuned


def malloc_tuned() -> bool:
    return _tuned
