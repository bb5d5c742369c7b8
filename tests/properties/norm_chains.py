"""Long encoder-decoder chains of Conv / ConvTranspose / InstanceNormalization at large spatial sizes.

Edge detectors and image-to-image nets stack these a dozen deep at 640x360 and
above. Every InstanceNormalization reduces over the whole map, so accumulation
error in a reduction (or in ConvTranspose's sums) compounds down the chain:
this is where a float32 running sum drifts visibly from onnxruntime.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .harness import Case
from .strategies import F32, build, node, rng_from

# (height, width) of the network input: 640x360 and larger, both orientations.
SIZES = ((360, 640), (640, 360), (480, 640), (720, 1280))


def _w(rng, shape, fan_in) -> np.ndarray:
    return (rng.standard_normal(shape) / math.sqrt(max(1, fan_in))).astype(F32)


def norm_chain(
    rng: np.random.Generator, hw: tuple[int, int], blocks: list[tuple[str, int, int]], offset: float
) -> Case:
    """blocks: (kind, out channels, stride) with kind "conv" (3x3) or "convT" (4x4, stride 2 doubles the map;
    stride 1 keeps it). Each block is followed by InstanceNormalization and a Relu or LeakyRelu. The input
    is shifted by `offset` (large means stress the variance's cancellation)."""
    h, w = hw
    nodes, inits = [], {}
    x, c = "x", 3
    for i, (kind, co, stride) in enumerate(blocks):
        if kind == "conv":
            inits[f"w{i}"] = _w(rng, (co, c, 3, 3), 9 * c)
            nodes.append(node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1], strides=[stride] * 2))
        else:
            inits[f"w{i}"] = _w(rng, (c, co, 4, 4), 16 * c / stride**2)
            pads = [1, 1, 1, 1] if stride == 2 else [2, 2, 1, 1]
            nodes.append(node("ConvTranspose", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=pads, strides=[stride] * 2))
        inits[f"b{i}"] = (rng.standard_normal(co) * 0.5).astype(F32)
        inits[f"s{i}"] = (1 + 0.2 * rng.standard_normal(co)).astype(F32)
        inits[f"t{i}"] = (0.2 * rng.standard_normal(co)).astype(F32)
        nodes.append(node("InstanceNormalization", [f"c{i}", f"s{i}", f"t{i}"], [f"n{i}"], epsilon=1e-5))
        act = "Relu" if i % 2 == 0 else "LeakyRelu"
        nodes.append(node(act, [f"n{i}"], [f"r{i}"], alpha=0.1 if act == "LeakyRelu" else None))
        x, c = f"r{i}", co
    inits["w_out"] = _w(rng, (1, c, 1, 1), c)
    nodes.append(node("Conv", [x, "w_out"], ["logit"]))
    nodes.append(node("Sigmoid", ["logit"], ["edges"]))
    feed = {"x": (offset + rng.standard_normal((1, 3, h, w))).astype(F32)}
    label = f"{h}x{w} offset {offset:g}: " + " ".join(f"{k}{co}/s{s}" for k, co, s in blocks)
    return build(nodes, feed, inits, outputs=["logit", "edges"], label=label)


@st.composite
def norm_chain_case(draw):
    """8-16 blocks: an encoder of strided convs, then a decoder of ConvTransposes back up to full size."""
    rng = rng_from(draw)
    hw = draw(st.sampled_from(SIZES))
    down = draw(st.integers(1, 3))
    blocks = []
    for _ in range(down):
        blocks.append(("conv", draw(st.integers(4, 12)), 2))
        blocks += [("conv", draw(st.integers(4, 12)), 1) for _ in range(draw(st.integers(0, 2)))]
    for _ in range(down):
        blocks.append(("convT", draw(st.integers(4, 12)), 2))
        blocks += [("convT", draw(st.integers(4, 12)), 1) for _ in range(draw(st.integers(0, 2)))]
    while len(blocks) < 8:
        blocks.append((draw(st.sampled_from(("conv", "convT"))), draw(st.integers(4, 12)), 1))
    offset = draw(st.sampled_from((0.0, 3.0, 20.0)))
    return norm_chain(rng, hw, blocks, offset)
