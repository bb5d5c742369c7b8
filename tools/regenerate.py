"""Rebuild generated/ from the model zoo; `--check` fails if any file differs.

generated/ holds code only: each model's translated `nn.Module`. Its weights
are produced at run time from the ONNX file (runtime.models), never committed.
Stand-ins (random-weight graphs for zoo slots with no weights here) are built
by tools/standins/ with fixed seeds, so their modules are reproducible too.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import runtime  # noqa: E402,F401  (fast BLAS before MLX)
from translator.api import convert  # noqa: E402

SHARED_MODELS = ROOT.parent / "shared" / "models"
GENERATED = ROOT / "generated"

# generated module name -> ONNX file in ../shared/models
REAL_MODELS = {
    "retinaface_mnet025": "retinaface_mnet025_biubug6.onnx",
    "scrfd_500m_kps": "scrfd_500m_kps.onnx",
    "yunet_2023mar": "face_detection_yunet_2023mar.onnx",
    "yolov5n_05_face": "yolov5n_0.5_face.onnx",
    "mobilefacenet_128d": "mobilefacenet_prelu_128d.onnx",
}


def _standins() -> dict[str, object]:
    """generated module name -> ModelProto for the stand-ins generated/ pins (tools/standins, `checked_in`)."""
    from tools import standins

    return {
        f"standin_{Path(name).stem.replace('.', '_')}": build() for name, build in sorted(standins.checked_in().items())
    }


def sources() -> dict[str, object]:
    out: dict[str, object] = {name: SHARED_MODELS / f for name, f in REAL_MODELS.items()}
    out.update(_standins())
    return out


def regenerate(target: Path) -> list[Path]:
    written = []
    for name, src in sources().items():
        with tempfile.TemporaryDirectory() as tmp:
            # native=True: the checked-in code targets the CPU with the native kernels whether or not
            # this machine built them (their wrappers fall back to MLX ops), so --check is machine-independent.
            w = convert(src, tmp, mode="module", name=name, native=True)
            text = w.paths[0].read_text()
        path = target / f"{name}.py"
        path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--check", action="store_true", help="compare with a fresh translation instead of writing")
    args = p.parse_args(argv)
    if not args.check:
        for path in regenerate(GENERATED):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p.read_text() for p in regenerate(Path(tmp))}
    committed = {p.name: p.read_text() for p in GENERATED.glob("*.py") if p.name != "__init__.py"}
    bad = 0
    for name in sorted(set(fresh) | set(committed)):
        if name not in committed:
            print(f"MISSING generated/{name} (run tools/regenerate.py)")
            bad += 1
        elif name not in fresh:
            print(f"STALE generated/{name}: no source model produces it")
            bad += 1
        elif fresh[name] != committed[name]:
            diff = difflib.unified_diff(
                committed[name].splitlines(), fresh[name].splitlines(), "committed", "fresh", lineterm="", n=1
            )
            print(f"DIFFERS generated/{name}:\n" + "\n".join(list(diff)[:20]))
            bad += 1
        else:
            print(f"ok generated/{name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
