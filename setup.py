"""Builds the optional native kernels (opset/native, CMake) during `pip install`.

Everything else is declared in pyproject.toml. If the extension cannot be built
(no compiler, no CMake, MLX headers missing), the install still succeeds with a
warning and the package runs on the pure-MLX lowering; opset.native says why
at import. MLX_UNIFACE_BUILD_NATIVE=0 skips the build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str, source_dir: Path):
        super().__init__(name, sources=[])
        self.source_dir = source_dir


def find_cmake() -> str | None:
    """CMake >= 3.27: the PyPI `cmake` package (a build requirement) or one on PATH."""
    explicit = os.environ.get("CMAKE_EXECUTABLE")
    if explicit:
        return explicit
    try:
        import cmake  # the PyPI package ships its own binary

        return str(Path(cmake.CMAKE_BIN_DIR) / "cmake")
    except ImportError:
        return shutil.which("cmake")


class BuildNative(build_ext):
    """build_ext that runs CMake, and turns a failed build into a warning."""

    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, CMakeExtension):
            return super().build_extension(ext)
        if os.environ.get("MLX_UNIFACE_BUILD_NATIVE", "1") == "0":
            self.warn("native kernels skipped (MLX_UNIFACE_BUILD_NATIVE=0): the pure-MLX lowering will be used")
            return None
        try:
            self.run_cmake(ext)
        except (OSError, subprocess.CalledProcessError, RuntimeError) as exc:
            self.warn(
                f"native kernels NOT built ({exc}); mlx-uniface will run on the pure-MLX lowering. "
                "Needs a C++20 compiler and CMake >= 3.27; see README, 'Native kernels'."
            )
        return None

    def run_cmake(self, ext: CMakeExtension) -> None:
        cmake = find_cmake()
        if not cmake:
            raise RuntimeError("cmake not found")
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        build_dir = Path(self.build_temp).resolve() / "native"
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = [
            cmake, "-S", str(ext.source_dir), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={sys.executable}", f"-DMLXU_OUTPUT_DIR={target.parent}",
        ]  # fmt: skip
        subprocess.run(configure, check=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.run([cmake, "--build", str(build_dir), "--config", "Release", "-j", jobs], check=True)
        built = target.parent / ("_kernels" + sysconfig.get_config_var("EXT_SUFFIX"))
        if not built.is_file():
            raise RuntimeError(f"CMake finished but {built} is missing")
        if built != target:
            shutil.copyfile(built, target)


if __name__ == "__main__":
    setup(
        ext_modules=[CMakeExtension("opset.native._kernels", HERE / "opset" / "native")],
        cmdclass={"build_ext": BuildNative},
    )
