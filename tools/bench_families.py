"""Speed of the 4.x per-face family networks: translated (module, op list) against onnxruntime.

Runs tools/bench.py's measurement (alternating blocks, medians, one process)
on the families' networks: the real MiniFASNet files from ../shared/models
and the stand-ins (tools/standins, narrowed but with every op type of the
real network) at each family's working input size. Writes
docs/benchmarks_families.md. A benchmark, never a test.

    python tools/bench_families.py [--runs 10] [--models pipnet98,minifasnet_v2]

RVM is not in the table: bench feeds one input, RVM takes six (its
speed is timed by `--rvm`, frame after frame with the state carried).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tools import bench, standins  # noqa: E402
from tools.zoo import MODELS, ZooModel, nchw, photo  # noqa: E402


@dataclass(frozen=True)
class FamilyModel(ZooModel):
    """A zoo entry whose file lives in a folder of its own (the stand-ins' build folder)."""

    folder: Path = MODELS

    @property
    def path(self) -> Path:
        return self.folder / self.file


def _imagenet(hw: tuple[int, int]) -> np.ndarray:
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return nchw(((photo(hw)[..., ::-1] / 255.0 - mean) / std).astype(np.float32))


def fixed_copy(folder: Path, file: str, shape: tuple[int, ...]) -> str:
    """A copy of a dynamic-input model with its first input fixed to `shape` (bench translates without shapes)."""
    import onnx

    model = onnx.load(str(folder / file))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, size in zip(dims, shape):
        dim.Clear()
        dim.dim_value = size
    name = f"{Path(file).stem}_{'x'.join(map(str, shape))}.onnx"
    onnx.save(model, str(folder / name))
    return name


def entries(standin_dir: Path) -> dict[str, FamilyModel]:
    rows = [
        ("minifasnet_v1se", "MiniFASNetV1SE.onnx", lambda: nchw(photo((80, 80))), "MiniFASNet-V1SE 80x80 (real)", MODELS),
        ("minifasnet_v2", "MiniFASNetV2.onnx", lambda: nchw(photo((80, 80))), "MiniFASNet-V2 80x80 (real)", MODELS),
        ("pipnet98", "pipnet_r18_wflw_98.onnx", lambda: _imagenet((256, 256)), "PIPNet-98 256 (stand-in)", standin_dir),
        ("facemesh468", fixed_copy(standin_dir, "face_mesh.onnx", (1, 3, 192, 192)), lambda: nchw(photo((192, 192))[..., ::-1] / 255.0), "FaceMesh-468 192 (stand-in)", standin_dir),
        ("facemesh478", fixed_copy(standin_dir, "face_landmarker.onnx", (1, 3, 256, 256)), lambda: nchw(photo((256, 256))[..., ::-1] / 255.0), "FaceMesh-478 256 (stand-in)", standin_dir),
        ("fairface", "fairface.onnx", lambda: _imagenet((224, 224)), "FairFace 224 (stand-in)", standin_dir),
        ("faceattribnet", "face_attrib_net.onnx", lambda: nchw(photo((128, 128))[..., ::-1] / 255.0), "FaceAttribNet 128 (stand-in)", standin_dir),
        ("gaze", "gaze_resnet34.onnx", lambda: _imagenet((448, 448)), "MobileGaze 448 (stand-in)", standin_dir),
        ("headpose", "headpose_resnet18.onnx", lambda: _imagenet((224, 224)), "HeadPose 224 (stand-in)", standin_dir),
        ("bisenet", fixed_copy(standin_dir, "parsing_resnet18.onnx", (1, 3, 512, 512)), lambda: _imagenet((512, 512)), "BiSeNet 512 (stand-in)", standin_dir),
        ("xseg", "xseg.onnx", lambda: (photo((256, 256)) / 255.0)[None].astype(np.float32), "XSeg 256 NHWC (stand-in)", standin_dir),
        ("modnet", fixed_copy(standin_dir, "modnet_photographic.onnx", (1, 3, 512, 832)), lambda: nchw(photo((512, 832))[..., ::-1] / 127.5 - 1.0), "MODNet 512x832 (stand-in)", standin_dir),
        ("ediffiqa", "ediffiqa_t.onnx", lambda: nchw(photo((112, 112))[..., ::-1] / 127.5 - 1.0), "eDifFIQA-T 112 (stand-in)", standin_dir),
    ]  # fmt: skip
    return {key: FamilyModel(key, file, make, label, folder=folder) for key, file, make, label, folder in rows}


def time_rvm(standin_dir: Path, frames: int) -> dict[str, float]:
    """Median ms per 720p frame (ratio 0.4), state carried, onnxruntime vs the translated module and op list."""
    from runtime.session import InferenceSession

    import onnxruntime as ort

    path = standin_dir / "rvm_mobilenetv3.onnx"
    src = nchw(photo((720, 1280))[..., ::-1] / 255.0)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {
            "onnxruntime": ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]),
            "module": InferenceSession(path, mode="module", cache_dir=Path(tmp) / "module"),
            "oplist": InferenceSession(path, mode="oplist", cache_dir=Path(tmp) / "oplist"),
        }
        for name, sess in sessions.items():
            state = [np.zeros((1, 1, 1, 1), np.float32)] * 4
            times = []
            for i in range(frames + 2):  # two warm-up frames: the first state shape, then the recurrent one
                feed = {"src": src, "downsample_ratio": np.array([0.4], np.float32)}
                feed.update({f"r{k}i": s for k, s in enumerate(state, 1)})
                t = time.perf_counter()
                _, _, *state = sess.run(None, feed)
                if i >= 2:
                    times.append((time.perf_counter() - t) * 1000)
            out[name] = float(np.median(times))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--models", default="", help="comma-separated keys (default: all)")
    p.add_argument("--rvm-frames", type=int, default=10)
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks_families.md"))
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="family-standins-") as tmp:
        standins.write(tmp)
        zoo = entries(Path(tmp))
        bench.ZOO.update(zoo)
        keys = [k for k in args.models.split(",") if k] or list(zoo)
        results = bench.measure(keys, args.runs, args.warmup, engines_run=("onnxruntime", "module", "oplist"))
        rvm = time_rvm(Path(tmp), args.rvm_frames) if args.rvm_frames else {}
    tables = {"families": [bench.caption(args.runs, 5, 30.0), "", *bench.models_table(results)]}
    if rvm:
        tables["rvm"] = [
            "Robust Video Matting (stand-in), 720p frames, downsample_ratio 0.4, state carried:",
            "",
            "| engine | median ms per frame | ratio to onnxruntime |",
            "|---|---|---|",
            *(f"| {e} | {ms:.1f} | {ms / rvm['onnxruntime']:.2f} |" for e, ms in rvm.items()),
        ]
    bench.write_sections(Path(args.out), tables)
    print("\n".join(line for lines in tables.values() for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
