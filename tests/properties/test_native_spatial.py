"""The native NHWC max pool, nearest upsampling, channel interleave and channel concat (opset/native)
against onnxruntime and numpy.

Max pools: kernels 1-4, strides 1-3, pads up to kernel - 1 on each side, floor or ceil output sizes,
1-40 channels (most not multiples of the vector width), batch 1-2, contiguous or transposed input,
eager or compiled, on every instruction set this CPU runs; onnxruntime's MaxPool on the NCHW input is
the oracle. Upsampling: integer factors 1-3 against numpy's repeat.
"""

from __future__ import annotations

import os

from opset import native

import mlx.core as mx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper

from tests.properties.conftest import scaled
from tests.properties.test_native_kernels import ISAS, _view, use_isa
from tests.util import make_model, run_ort

pytestmark = pytest.mark.skipif(
    not native.available() and not os.environ.get("CI"),
    reason=f"native kernels not built here: {native.UNAVAILABLE_REASON}",
)


@st.composite
def pools(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pads = [draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1)), draw(st.integers(0, kh - 1)),
            draw(st.integers(0, kw - 1))]  # fmt: skip
    h = draw(st.integers(max(1, kh - pads[0] - pads[2]), 15))
    w = draw(st.integers(max(1, kw - pads[1] - pads[3]), 15))
    return {"k": (kh, kw), "s": (draw(st.integers(1, 3)), draw(st.integers(1, 3))), "pads": pads,
            "n": draw(st.integers(1, 2)), "h": h, "w": w, "c": draw(st.integers(1, 40)),
            "ceil": draw(st.booleans()), "view": draw(st.sampled_from(["contiguous", "transposed"])),
            "run": draw(st.sampled_from(["eager", "compile"])), "seed": draw(st.integers(0, 2**16))}  # fmt: skip


@scaled(2)
@given(p=pools())
def test_max_pool_matches_onnxruntime(p):
    rng = np.random.default_rng(p["seed"])
    x = rng.standard_normal((p["n"], p["h"], p["w"], p["c"])).astype(np.float32)
    attrs = {"kernel_shape": list(p["k"]), "strides": list(p["s"]), "pads": p["pads"], "ceil_mode": int(p["ceil"])}
    m = make_model([helper.make_node("MaxPool", ["x"], ["y"], **attrs)], [("x", np.float32, [p["n"], p["c"], p["h"], p["w"]])],
                   [("y", np.float32, None)], opset=12)  # fmt: skip
    want = run_ort(m, {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0].transpose(0, 2, 3, 1)
    ho, wo = want.shape[1:3]
    (kh, kw), (sh, sw), (pt, pl) = p["k"], p["s"], p["pads"][:2]
    if pt >= kh or pl >= kw or (ho - 1) * sh - pt > p["h"] - 1 or (wo - 1) * sw - pl > p["w"] - 1:
        with pytest.raises(ValueError, match="outside the input"):  # refused, never computed wrong
            native._ext.max_pool2d(mx.array(x), [kh, kw], [sh, sw], [pt, pl], [ho, wo])
        return

    def pool(a):
        return native.max_pool2d(a, p["k"], p["s"], (pt, pl), (ho, wo))

    xa = _view(x, p["view"])
    for isa in ISAS:
        with use_isa(isa):
            got = np.array((pool if p["run"] == "eager" else mx.compile(pool))(xa))
        np.testing.assert_array_equal(got, want, err_msg=isa)


def test_max_pool_window_holding_a_nan_is_nan_on_every_table():
    """A NaN tap makes its window NaN on every instruction set, as MLX's maximum (the fallback, and the
    pure-MLX lowering) has it. x86's maxps and the baseline's compare-select used to skip NaNs while NEON's
    fmax kept them, so the same model answered differently on x86 and arm64. Oracle: numpy's max, which
    propagates NaN, over each window."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 7, 9, 21)).astype(np.float32)
    x[rng.random(x.shape) < 0.04] = np.nan
    x[0, 0, 0, :] = np.nan  # a NaN in a window's first tap and in a padded corner window
    (kh, kw), (sh, sw), (pt, pl) = (3, 3), (2, 2), (1, 1)
    ho, wo = (7 + 2 - 3) // 2 + 1, (9 + 2 - 3) // 2 + 1
    xp = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=-np.inf)
    want = np.stack([np.stack([xp[:, i * sh : i * sh + kh, j * sw : j * sw + kw].max(axis=(1, 2)) for j in range(wo)], 1)
                     for i in range(ho)], 1)  # fmt: skip
    assert np.isnan(want).any() and not np.isnan(want).all()
    for isa in ISAS:
        with use_isa(isa):
            got = np.array(native.max_pool2d(mx.array(x), (kh, kw), (sh, sw), (pt, pl), (ho, wo)))
        np.testing.assert_array_equal(got, want, err_msg=isa)


@pytest.mark.parametrize("fh,fw", [(1, 2), (2, 2), (3, 1), (2, 3)])
def test_upsample_nearest_repeats_pixels(fh, fw):
    x = np.random.default_rng(fh * 10 + fw).standard_normal((2, 5, 4, 19)).astype(np.float32)
    want = np.repeat(np.repeat(x, fh, axis=1), fw, axis=2)
    for isa in ISAS:
        with use_isa(isa):
            np.testing.assert_array_equal(np.array(native.upsample_nearest(mx.array(x), (fh, fw))), want, err_msg=isa)


@pytest.mark.parametrize("fh,fw,view", [(2, 2, "contiguous"), (2, 2, "every other"), (3, 1, "channel slice"),
                                        (1, 2, "contiguous")])  # fmt: skip
def test_upsample_nearest_adds_a_residual(fh, fw, view):
    """residual: numpy's repeat plus the residual, one float addition each (bit-exact), NaN and infinities
    included, the residual contiguous or a view; a residual of another shape is a ValueError."""
    rng = np.random.default_rng(fh * 10 + fw)
    x = rng.standard_normal((2, 5, 4, 19)).astype(np.float32)
    r = rng.standard_normal((2, 5 * fh, 4 * fw, 19)).astype(np.float32)
    x[0, 1, 2, 3], r[1, 2, 3, 4], r[0, 0, 0, 0] = np.nan, np.inf, np.nan
    want = np.repeat(np.repeat(x, fh, axis=1), fw, axis=2) + r
    for isa in ISAS:
        with use_isa(isa):
            got = np.array(native.upsample_nearest(mx.array(x), (fh, fw), residual=_part(r, view, rng)))
        np.testing.assert_array_equal(got, want, err_msg=isa)
    with pytest.raises(ValueError, match="residual"):
        native.upsample_nearest(mx.array(x), (fh, fw), residual=mx.zeros((2, 5, 4, 19)))


def _part(a: np.ndarray, how: str, rng) -> mx.array:
    if how == "channel slice":  # a's channels at an offset inside a wider map (rows further apart), read in place
        wide = rng.standard_normal(a.shape[:-1] + (a.shape[-1] + 3,)).astype(np.float32)
        wide[..., 2 : 2 + a.shape[-1]] = a
        return mx.array(wide)[..., 2 : 2 + a.shape[-1]]
    if how == "every other":  # no unit stride: copied first
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), np.float32)
        wide[..., ::2] = a
        return mx.array(wide)[..., ::2]
    return mx.array(a)


@scaled(1)
@given(g=st.integers(2, 4), shape=st.lists(st.integers(1, 9), min_size=0, max_size=3), c=st.integers(1, 40),
       seed=st.integers(0, 2**16),
       views=st.lists(st.sampled_from(["contiguous", "channel slice", "every other"]), min_size=4, max_size=4))  # fmt: skip
def test_interleave_is_concat_then_channel_shuffle(g, shape, c, seed, views):
    """out[..., j * g + k] = parts[k][..., j]: what Concat + ChannelShuffle(g) compute, checked with numpy.
    Channels up to 40: two groups go through in vector pairs (zipped in registers), the rest element-wise."""
    from tests.util import shuffle_reference

    rng = np.random.default_rng(seed)
    shape = [*shape, c]
    parts = [rng.standard_normal(shape).astype(np.float32) for _ in range(g)]
    want = shuffle_reference(np.concatenate(parts, axis=-1), len(shape) - 1, g)
    arrays = [_part(p, how, rng) for p, how in zip(parts, views)]
    for isa in ISAS:
        with use_isa(isa):
            np.testing.assert_array_equal(np.array(native.interleave(arrays)), want, err_msg=isa)


@scaled(1)
@given(widths=st.lists(st.integers(1, 40), min_size=1, max_size=4), shape=st.lists(st.integers(1, 9), min_size=0, max_size=3),
       seed=st.integers(0, 2**16),
       views=st.lists(st.sampled_from(["contiguous", "channel slice", "every other"]), min_size=4, max_size=4))  # fmt: skip
def test_concat_matches_numpy(widths, shape, seed, views):
    """A channel Concat of parts of any widths, read in place (channel slices) or copied (other views)."""
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal([*shape, w]).astype(np.float32) for w in widths]
    want = np.concatenate(parts, axis=-1)
    arrays = [_part(p, how, rng) for p, how in zip(parts, views)]
    for isa in ISAS:
        with use_isa(isa):
            np.testing.assert_array_equal(np.array(native.concat(arrays)), want, err_msg=isa)


@scaled(1)
@given(shapes=st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=4), min_size=1, max_size=4),
       seed=st.integers(0, 2**16),
       views=st.lists(st.sampled_from(["contiguous", "channel slice", "every other", "transposed"]), min_size=4,
                      max_size=4))  # fmt: skip
def test_flat_concat_is_every_element_in_row_major_order(shapes, seed, views):
    """Parts of any ranks, shapes (empty ones too) and views, one after another in row-major order: numpy's
    concatenation of the raveled parts. Channel slices are read in place, other views gathered."""
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    want = np.concatenate([p.ravel() for p in parts])
    arrays = []
    for p, how in zip(parts, views):
        if how == "transposed" and p.ndim >= 2:  # a strided view of p's transpose's data: gathered
            arrays.append(mx.swapaxes(mx.array(np.ascontiguousarray(np.swapaxes(p, 0, -1))), 0, -1))
        else:
            arrays.append(_part(p, how if how != "transposed" else "contiguous", rng))
    out_shape = (1, want.size)
    for isa in ISAS:
        with use_isa(isa):
            got = native.flat_concat(arrays, out_shape)
            assert tuple(got.shape) == out_shape
            np.testing.assert_array_equal(np.array(got)[0], want, err_msg=isa)


def test_flat_concat_refuses_other_dtypes():
    with pytest.raises(ValueError, match="float32"):
        native._ext.flat_concat([mx.array([1, 2], dtype=mx.int32)])
    with pytest.raises(ValueError, match="needs a part"):
        native._ext.flat_concat([])


@scaled(1)
@given(widths=st.lists(st.integers(1, 40), min_size=1, max_size=4), shape=st.lists(st.integers(1, 9), min_size=0, max_size=3),
       seed=st.integers(0, 2**16), view=st.sampled_from(["contiguous", "channel slice", "every other"]),
       compiled=st.booleans())  # fmt: skip
def test_split_channels_are_the_slices_made_contiguous(widths, shape, seed, view, compiled):
    """x's last axis cut into parts of `widths`: numpy's slices, each row-major; x read in place (a channel slice
    of a wider map too) or gathered first (other views)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([*shape, sum(widths)]).astype(np.float32)
    bounds = np.cumsum([0, *widths])
    xa = _part(x, view, rng)
    got = mx.compile(lambda a: native.split_channels(a, widths))(xa) if compiled else native.split_channels(xa, widths)
    assert len(got) == len(widths)
    for part, a, b in zip(got, bounds[:-1], bounds[1:]):
        assert part.shape == tuple(x[..., a:b].shape)
        np.testing.assert_array_equal(np.array(part), x[..., a:b])


@pytest.mark.parametrize("widths,match", [([2, 2], "sum to"), ([5, 0], "positive"), ([], "at least one")])
def test_split_channels_refuses_bad_widths(widths, match):
    with pytest.raises(ValueError, match=match):
        native._ext.split_channels(mx.zeros((1, 2, 2, 5)), widths)
