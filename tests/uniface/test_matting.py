"""MODNet against upstream uniface 4.2.1 on both backends; Robust Video Matting (ours) against onnxruntime
and hand-computed cases, since upstream has no RVM to compare with."""

from __future__ import annotations

from runtime.face.matting import modnet_size, rvm_downsample_ratio, rvm_input, rvm_outputs
from uniface.matting import MODNet, RobustVideoMatting, RVMWeights

import numpy as np
import pytest

from tools.oracle_families._arrays import decode, sample

from . import upstream
from .families import BACKENDS, fixture_model, make

MASK_TOL = upstream.VALUE_TOL + 0.5 / 65535


@pytest.mark.parametrize("backend", BACKENDS)
def test_modnet_matches_upstream(backend, standins):
    fixture = upstream.load("modnet")
    worst = 0.0
    for case in fixture["cases"]:
        _, model = fixture_model(MODNet, "modnet", backend, standins, input_size=case["input_size"])
        image = upstream.image(case["image"])
        assert list(model.working_size(*image.shape[:2])) == case["working_size"]
        matte = model.predict(image)
        context = f"modnet/{backend} {case['image']} input_size {case['input_size']}"
        assert matte.dtype == np.float32 and list(matte.shape) == case["matte"]["shape"] == list(image.shape[:2])
        err = float(np.abs(sample(matte, case["matte"]) - decode(case["matte"])).max())
        assert err <= MASK_TOL, f"{context}: matte off by {err:.2e}"
        for stat in ("mean", "min", "max"):
            assert abs(float(getattr(matte, stat)()) - case["matte"][stat]) <= upstream.VALUE_TOL, context
        worst = max(worst, err)
    print(f"modnet/{backend}: {len(fixture['cases'])} mattes, worst {worst:.2e}")


def test_modnet_working_size_hand_computed():
    """Short side to the target only when the image is entirely below or above it; then floor to 32."""
    assert modnet_size(250, 250, 512) == (512, 512)  # both sides smaller: scaled up
    assert modnet_size(400, 600, 512) == (384, 576)  # straddles the target: kept, floored
    assert modnet_size(624, 1024, 512) == (512, 832)  # both larger: short side 512, long int(1024/624*512)=840 -> 832
    assert modnet_size(1000, 700, 256) == (352, 256)  # portrait: width is the short side; int(1000/700*256)=365
    assert modnet_size(20, 20, 16) == (0, 0)  # too small to run: the class refuses it


# -- Robust Video Matting -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rvm_path(standins):
    return standins / "rvm_mobilenetv3.onnx"


def _frames(n: int, size=(96, 128)):
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


def _onnxruntime_video(path, frames, ratio):
    """The reference: onnxruntime fed RVM's documented loop (zeros first, then each frame's r*o)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    state = [np.zeros((1, 1, 1, 1), np.float32)] * 4
    out = []
    for frame in frames:
        src = frame[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        feed = {"src": src, "downsample_ratio": np.array([ratio], np.float32)}
        feed.update({f"r{i}i": s for i, s in enumerate(state, 1)})
        fgr, pha, *state = session.run(None, feed)
        out.append((fgr, pha))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_rvm_carries_its_state_like_the_reference_loop(backend, rvm_path):
    frames = _frames(4)
    model = make(RobustVideoMatting, rvm_path, backend, downsample_ratio=0.5)
    model.reset()
    want = _onnxruntime_video(rvm_path, frames, 0.5)
    for i, (frame, (fgr, pha)) in enumerate(zip(frames, want)):
        foreground, alpha = model.predict_foreground(frame)
        assert model.frames == i + 1
        np.testing.assert_allclose(alpha, pha[0, 0], atol=1e-4, rtol=1e-4, err_msg=f"frame {i}")
        ref_fg = np.clip(fgr[0].transpose(1, 2, 0)[:, :, ::-1] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        assert np.abs(foreground.astype(int) - ref_fg.astype(int)).max() <= 1  # rounding of the float foreground
    state = model.state
    # Ratio 0.5 of 96x128 is a 48x64 working frame; the states sit at 1/2, 1/4, 1/8 and 1/16 of it.
    assert [s.shape for s in state] == [(1, 16, 24, 32), (1, 20, 12, 16), (1, 40, 6, 8), (1, 64, 3, 4)]
    # The state matters: the last frame alone (fresh state) gives another alpha.
    fresh = _onnxruntime_video(rvm_path, frames[-1:], 0.5)[0][1]
    assert np.abs(fresh - want[-1][1]).max() > 1e-3


def test_rvm_reset_and_automatic_restart(rvm_path):
    frames = _frames(3)
    model = make(RobustVideoMatting, rvm_path, "onnx", downsample_ratio=0.5)
    model.reset()
    first = model.predict(frames[0])
    model.predict(frames[1])
    model.reset()
    assert model.frames == 0 and all(s.shape == (1, 1, 1, 1) and not s.any() for s in model.state)
    np.testing.assert_array_equal(model.predict(frames[0]), first)  # a reset replays the first frame exactly
    # A frame of another size cannot take the old state: it starts a new sequence by itself.
    other = np.ascontiguousarray(frames[2][:64, :96])
    alpha = model.predict(other)
    assert alpha.shape == (64, 96) and model.frames == 1
    np.testing.assert_allclose(alpha, _onnxruntime_video(rvm_path, [other], 0.5)[0][1][0, 0], atol=1e-6)


def test_rvm_automatic_ratio_and_conversions():
    assert rvm_downsample_ratio(1080, 1920) == pytest.approx(512 / 1920)
    assert rvm_downsample_ratio(300, 200) == 1.0
    frame = np.zeros((2, 3, 3), np.uint8)
    frame[0, 0] = (255, 0, 0)  # blue in BGR
    src = rvm_input(frame)
    assert src.shape == (1, 3, 2, 3) and src[0, 2, 0, 0] == 1.0 and src[0, 0, 0, 0] == 0.0  # RGB order
    fgr = np.zeros((1, 3, 1, 2), np.float32)
    fgr[0, 0, 0, 1] = 1.0  # red
    fg, alpha = rvm_outputs(fgr, np.full((1, 1, 1, 2), 0.25, np.float32))
    assert fg.tolist() == [[[0, 0, 0], [0, 0, 255]]] and alpha.tolist() == [[0.25, 0.25]]


def test_rvm_rejects_other_models_and_missing_weights(standins, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="RVM's inputs"):
        RobustVideoMatting(model_path=standins / "modnet_photographic.onnx", backend="onnx")
    with pytest.raises(ValueError, match="downsample_ratio"):
        RobustVideoMatting(model_path=standins / "rvm_mobilenetv3.onnx", backend="onnx", downsample_ratio=1.5)
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="rvm_mobilenetv3.onnx in the cache folder"):
        RobustVideoMatting(RVMWeights.MOBILENETV3, backend="onnx")
