"""Fuzzing the front end with mutated serialized models.

A few small valid models are serialized and mutated by hypothesis: bit flips,
truncation, byte runs overwritten/inserted/deleted, protobuf fields deleted or
set to hostile values (0, -1, 2**62, empty or odd strings). `translator.translate`
must either succeed (and then both back ends must emit: a module that passes the
codegen checks, and an op list the interpreter accepts) or raise a subclass of
translator.errors.TranslatorError. Anything else (a raw exception, a hang past
FUZZ_TIMEOUT seconds) is a bug. CI runs a few hundred examples; the deep profile
thousands (tools/deep_properties.py).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

from runtime.interpreter import OpList
from translator import TranslatorError, translate
from translator.emit.module import render_module
from translator.emit.oplist import to_json

import numpy as np
import onnx
import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper

from tests.hostile.codegen_check import check_generated_source
from tests.properties import stats
from tests.properties.conftest import scaled
from tests.util import make_model

FUZZ_TIMEOUT = 30


def _seed_models() -> list[onnx.ModelProto]:
    rng = np.random.default_rng(0)
    f32 = np.float32
    models = [
        make_model([helper.make_node("Relu", ["x"], ["y"], name="r")], [("x", f32, [2, 3])], [("y", f32, [2, 3])]),
        make_model(
            [
                helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv"),
                helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], epsilon=1e-3, name="bn"),
                helper.make_node("LeakyRelu", ["n"], ["r"], alpha=0.1),
                helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
            ],
            [("x", f32, [1, 3, 8, 8])],
            [("y", f32, [1, 4, 2, 2])],
            {
                "w": rng.standard_normal((4, 3, 3, 3)).astype(f32),
                "b": np.zeros(4, f32),
                "s": np.ones(4, f32),
                "bb": np.zeros(4, f32),
                "m": np.zeros(4, f32),
                "v": np.ones(4, f32),
            },
            opset=13,
        ),  # fmt: skip
        make_model(
            [
                helper.make_node("Reshape", ["x", "shape"], ["r"]),
                helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0]),
                helper.make_node("Concat", ["t", "t"], ["c"], axis=-1),
                helper.make_node("Softmax", ["c"], ["y"], axis=1),
                helper.make_node("Slice", ["c", "st", "en", "ax"], ["z"]),
            ],
            [("x", f32, [2, 3, 4])],
            [("y", f32, [12, 4]), ("z", f32, [12, 2])],
            {
                "shape": np.array([2, -1], np.int64),
                "st": np.array([1], np.int64),
                "en": np.array([3], np.int64),
                "ax": np.array([1], np.int64),
            },
            opset=13,
        ),  # fmt: skip
        make_model(
            [
                helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1),
                helper.make_node("Gather", ["g", "i"], ["h"], axis=1),
                helper.make_node("Resize", ["h4", "", "sc"], ["y"], mode="nearest"),
                helper.make_node("Unsqueeze", ["h", "ax"], ["h4"]),
            ][:2]
            + [helper.make_node("Sigmoid", ["h"], ["y"])],
            [("x", f32, [2, 5])],
            [("y", f32, [2, 3])],
            {"w": rng.standard_normal((4, 5)).astype(f32), "b": np.zeros(4, f32), "i": np.array([0, -1, 2], np.int64)},
            opset=13,
        ),  # fmt: skip
        make_model(
            [
                helper.make_node("Resize", ["x", "", "sc"], ["r"], mode="linear"),
                helper.make_node("Pad", ["r", "p"], ["p2"], mode="reflect"),
                helper.make_node("ReduceMean", ["p2"], ["y"], axes=[2, 3], keepdims=1),
            ],
            [("x", f32, [1, 2, 3, 3])],
            [("y", f32, [1, 2, 1, 1])],
            {"sc": np.array([1, 1, 2, 2], f32), "p": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)},
            opset=13,
        ),  # fmt: skip
    ]
    # Control flow: an If on the input length whose branches hold a weight and read an outer value.
    then = helper.make_graph(
        [helper.make_node("MatMul", ["x", "wt"], ["t1"]), helper.make_node("Add", ["t1", "m"], ["t"])],
        "then", [], [helper.make_tensor_value_info("t", onnx.TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(rng.standard_normal((4, 2)).astype(f32), "wt")],
    )  # fmt: skip
    else_ = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "ax"], ["e"], keepdims=1)], "else",
        [], [helper.make_tensor_value_info("e", onnx.TensorProto.FLOAT, None)],
    )  # fmt: skip
    iff = make_model(
        [
            helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
            helper.make_node("Greater", ["n", "zero"], ["c"]),
            helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=else_),
        ],
        [("x", f32, ["N", 4])],
        [("y", f32, ["N", None])],
        {"zero": np.array(0, np.int64), "ax": np.array([1], np.int64)},
        opset=17,
    )
    return [*models, iff]


SEEDS = [m.SerializeToString() for m in _seed_models()]
HOSTILE_INTS = [0, 1, -1, 2, 7, 255, 2**31 - 1, -(2**31), 2**62, -(2**62)]
HOSTILE_STRINGS = [
    "",
    "x",
    "y",
    "w",
    "\x00",
    "a" * 300,
    "../../etc/passwd",
    "ai.onnx",
    "com.microsoft",
    "Relu",
    "é\n\"'",
]


def _repeated(fd) -> bool:
    if hasattr(fd, "is_repeated"):  # protobuf >= 5.28
        return bool(fd.is_repeated)
    return fd.label == FieldDescriptor.LABEL_REPEATED


def _fields(msg, depth=0) -> Iterator[tuple]:
    """(message, field descriptor, index or None) for every set field, depth first."""
    for fd, value in msg.ListFields():
        if _repeated(fd):
            for i in range(len(value)):
                yield msg, fd, i
                if fd.type == FieldDescriptor.TYPE_MESSAGE and depth < 12:
                    yield from _fields(value[i], depth + 1)
        else:
            yield msg, fd, None
            if fd.type == FieldDescriptor.TYPE_MESSAGE and depth < 12:
                yield from _fields(value, depth + 1)


def _set_scalar(msg, fd, index, value) -> None:
    if index is None:
        setattr(msg, fd.name, value)
    else:
        getattr(msg, fd.name)[index] = value


def _mutate_field(model: onnx.ModelProto, draw) -> str:
    fields = list(_fields(model))
    msg, fd, index = fields[draw(st.integers(0, len(fields) - 1))]
    action = draw(st.sampled_from(("delete", "delete", "value")))
    what = f"{type(msg).__name__}.{fd.name}" + (f"[{index}]" if index is not None else "")
    if action == "delete" or fd.type == FieldDescriptor.TYPE_MESSAGE:
        if index is None:
            msg.ClearField(fd.name)
        else:
            del getattr(msg, fd.name)[index]
        return f"delete {what}"
    if fd.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        value = draw(st.sampled_from(HOSTILE_STRINGS))
        _set_scalar(msg, fd, index, value.encode("utf-8") if fd.type == FieldDescriptor.TYPE_BYTES else value)
    elif fd.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        _set_scalar(msg, fd, index, draw(st.sampled_from((0.0, -1.0, 1e30, float("nan"), float("inf")))))
    elif fd.type == FieldDescriptor.TYPE_BOOL:
        _set_scalar(msg, fd, index, True)
    elif fd.type == FieldDescriptor.TYPE_ENUM:
        _set_scalar(msg, fd, index, draw(st.sampled_from([v.number for v in fd.enum_type.values])))
    else:
        unsigned = fd.type in (
            FieldDescriptor.TYPE_UINT32,
            FieldDescriptor.TYPE_UINT64,
            FieldDescriptor.TYPE_FIXED32,
            FieldDescriptor.TYPE_FIXED64,
        )
        bits = (
            32
            if fd.type
            in (
                FieldDescriptor.TYPE_INT32,
                FieldDescriptor.TYPE_UINT32,
                FieldDescriptor.TYPE_SINT32,
                FieldDescriptor.TYPE_FIXED32,
                FieldDescriptor.TYPE_SFIXED32,
            )
            else 64
        )
        v = draw(st.sampled_from(HOSTILE_INTS))
        lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        _set_scalar(msg, fd, index, min(max(v, lo), hi))
    return f"set {what}"


@st.composite
def mutated_model(draw) -> tuple[bytes, str]:
    i = draw(st.integers(0, len(SEEDS) - 1))
    data = bytearray(SEEDS[i])
    kind = draw(st.sampled_from(("bitflip", "truncate", "bytes", "field", "field", "field")))
    if kind == "bitflip":
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, len(data) * 8 - 1))
            data[pos // 8] ^= 1 << (pos % 8)
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "bytes":
        pos = draw(st.integers(0, len(data)))
        chunk = draw(st.binary(min_size=1, max_size=8))
        op = draw(st.sampled_from(("overwrite", "insert", "delete")))
        if op == "overwrite":
            data[pos : pos + len(chunk)] = chunk
        elif op == "insert":
            data[pos:pos] = chunk
        else:
            del data[pos : pos + len(chunk)]
    else:
        model = onnx.ModelProto.FromString(bytes(data))
        done = [_mutate_field(model, draw) for _ in range(draw(st.integers(1, 3)))]
        data = bytearray(model.SerializeToString())
        kind = "field: " + "; ".join(done)
    return bytes(data), f"seed {i}: {kind}"


class _Hang(Exception):
    pass


# Open bugs the fuzzer keeps finding -> the xfail regression test in tests/properties/test_regressions.py.
# Each matcher sees the exception and the last traceback frame inside translator/. Matching examples are
# counted as "known_bug:<test>" instead of failing, so CI stays green until the fix (then delete the entry).
FUZZ_KNOWN_BUGS = {}


# Typed errors that wrap a MemoryError: the xfail regression test -> the ops whose lowering allocated.
# Empty: any translation that tries an allocation sized by the model fails the fuzz test.
FUZZ_ALLOCATION_BUGS: dict[str, tuple[str, ...]] = {}


def _known(exc: BaseException) -> str | None:
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/translator/" in f.filename.replace("\\", "/")]
    if not frames:
        return None
    for test, matches in FUZZ_KNOWN_BUGS.items():
        if matches(exc, frames[-1]):
            return test
    return None


def _alarm(signum, frame):
    raise _Hang(f"front end still running after {FUZZ_TIMEOUT}s")


def front_end_accepts_or_refuses(data: bytes) -> str:
    """'ok' or the error class name; raises on anything that is not a TranslatorError."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(FUZZ_TIMEOUT)
    try:
        t = translate(data)
        src = render_module(t.program, "Net", t.label, t.source_sha256, "net.safetensors", "0" * 64)
        check_generated_source(src)
        doc = json.loads(to_json(t.program, t.source_sha256, "0" * 64))
        import mlx.core as mx

        OpList(doc, {k: mx.array(v) for k, v in t.program.weights.items()}, "fuzz")
        return "ok"
    except TranslatorError as exc:
        text = str(exc)
        if "MemoryError" in text or "Unable to allocate" in text:
            # A typed error, but raised because the translator tried an allocation sized by the model.
            known = next((t for t, ops in FUZZ_ALLOCATION_BUGS.items() if any(f"({op})" in text for op in ops)), None)
            assert known is not None, f"translation tried an allocation sized by the model: {text[:300]}"
            return f"known_bug:{known}"
        return type(exc).__name__
    except Exception as exc:
        known = _known(exc)
        if known is None:
            raise
        return f"known_bug:{known}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_seed_models_are_valid():
    for data in SEEDS:
        assert front_end_accepts_or_refuses(data) == "ok"


@scaled(12)
@given(case=mutated_model())
def test_mutated_models_give_typed_errors_or_translate(case):
    data, how = case
    outcome = front_end_accepts_or_refuses(data)
    stats.record("fuzz", "models")
    stats.record("fuzz_outcome", outcome)
    stats.record("fuzz_kind", how.split(":")[1].split()[0] if ":" in how else how)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_every_single_field_deletion(seed):
    """Exhaustive over one seed: delete each field of the model in turn."""
    model = onnx.ModelProto.FromString(SEEDS[seed])
    n = len(list(_fields(model)))
    for k in range(n):
        m = onnx.ModelProto.FromString(SEEDS[seed])
        msg, fd, index = list(_fields(m))[k]
        if index is None:
            msg.ClearField(fd.name)
        else:
            del getattr(msg, fd.name)[index]
        outcome = front_end_accepts_or_refuses(m.SerializeToString())
        stats.record("fuzz", "models")
        stats.record("fuzz_outcome", outcome)
        stats.record("fuzz_kind", "field_deletion")
