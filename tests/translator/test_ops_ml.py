"""Classic ML and training ops, sub-byte integers: both back ends against an independent oracle.

onnxruntime for TfIdfVectorizer and TreeEnsemble; ONNX's own reference
evaluator where onnxruntime has no kernel (the preview.training optimizers are
only in its training builds) or where the result is the reference's choice
(casts to int4/int2 of out-of-range floats, which the specification leaves undefined).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from tests.util import assert_matches_ort, run_mlx


def _model(nodes, inputs, outputs, opsets, inits=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "m", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()], ir_version=9)


def _both_modes_match(model, feed, want, tmp_path, atol=1e-6, rtol=1e-6):
    got = {mode: run_mlx(model, feed, mode, tmp_path) for mode in ("module", "oplist")}
    for mode, outs in got.items():
        for g, w in zip(outs, want):
            assert g.dtype == w.dtype and g.shape == w.shape, (mode, g.dtype, w.dtype, g.shape, w.shape)
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol, err_msg=mode)
    for a, b in zip(got["module"], got["oplist"]):
        assert a.tobytes() == b.tobytes()


# -- TfIdfVectorizer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["TF", "IDF", "TFIDF"])
@pytest.mark.parametrize("shape", [(10,), (3, 8)])
@pytest.mark.parametrize("skip", [0, 2])
def test_tfidf_vectorizer(tmp_path, mode, shape, skip):
    pool = [2, 3, 5, 4, 5, 6, 7, 8, 6, 7, 2, 3, 4]  # 4 unigrams, then 3 bigrams, then 1 trigram
    counts = [0, 4, 10]
    node = helper.make_node(
        "TfIdfVectorizer", ["x"], ["y"], mode=mode, min_gram_length=1, max_gram_length=3, max_skip_count=skip,
        ngram_counts=counts, ngram_indexes=[7, 0, 1, 2, 3, 4, 5, 6], pool_int64s=pool,
        weights=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0],
    )  # fmt: skip
    out_shape = [8] if len(shape) == 1 else [shape[0], 8]
    model = _model(
        [node], [helper.make_tensor_value_info("x", TP.INT64, list(shape))],
        [helper.make_tensor_value_info("y", TP.FLOAT, out_shape)], {"": 9},
    )  # fmt: skip
    x = np.random.default_rng(0).integers(2, 10, shape).astype(np.int64)
    x.reshape(-1)[:4] = [2, 3, 4, 5]  # make sure a trigram and bigrams occur
    assert_matches_ort(model, {"x": x}, tmp_path, atol=0, rtol=0)


# -- TreeEnsemble ---------------------------------------------------------------------------------------


def _random_forest(rng, n_trees: int, n_features: int, n_targets: int, aggregate: int) -> onnx.ModelProto:
    """Complete binary trees of depth 3 with random features, splits and comparison modes."""
    modes, feats, splits, true_ids, false_ids, true_leaf, false_leaf, roots = [], [], [], [], [], [], [], []
    leaf_targets, leaf_weights, members = [], [], []
    for _ in range(n_trees):
        base = len(modes)
        roots.append(base)
        for j in range(7):  # nodes 0..6 of this tree; children of j are 2j+1, 2j+2; nodes 3..6 point at leaves
            mode = int(rng.integers(0, 7))
            modes.append(mode)
            feats.append(int(rng.integers(0, n_features)))
            splits.append(float(rng.integers(-2, 3)))
            if mode == 6:
                members += [float(v) for v in rng.integers(-2, 3, 2)] + [np.nan]  # onnxruntime: integer members
            if j < 3:
                true_ids.append(base + 2 * j + 1)
                false_ids.append(base + 2 * j + 2)
                true_leaf.append(0)
                false_leaf.append(0)
            else:
                for ids, flags in ((true_ids, true_leaf), (false_ids, false_leaf)):
                    ids.append(len(leaf_targets))
                    flags.append(1)
                    leaf_targets.append(int(rng.integers(0, n_targets)))
                    leaf_weights.append(float(np.round(rng.standard_normal() * 5, 2)))
    attrs = dict(
        aggregate_function=aggregate, n_targets=n_targets, post_transform=0, tree_roots=roots,
        nodes_featureids=feats, nodes_truenodeids=true_ids, nodes_falsenodeids=false_ids,
        nodes_trueleafs=true_leaf, nodes_falseleafs=false_leaf, leaf_targetids=leaf_targets,
        nodes_modes=numpy_helper.from_array(np.array(modes, np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array(splits, np.float32)),
        leaf_weights=numpy_helper.from_array(np.array(leaf_weights, np.float32)),
    )  # fmt: skip
    if members:
        attrs["membership_values"] = numpy_helper.from_array(np.array(members, np.float32))
    node = helper.make_node("TreeEnsemble", ["x"], ["y"], domain="ai.onnx.ml", **attrs)
    return _model(
        [node], [helper.make_tensor_value_info("x", TP.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("y", TP.FLOAT, [None, n_targets])], {"": 21, "ai.onnx.ml": 5},
    )  # fmt: skip


@pytest.mark.parametrize("aggregate", [0, 1, 2, 3], ids=["average", "sum", "min", "max"])
def test_tree_ensemble_random_forests(tmp_path, aggregate):
    rng = np.random.default_rng(aggregate)
    model = _random_forest(rng, n_trees=4, n_features=3, n_targets=2, aggregate=aggregate)
    # Integer features: ties with splits and members. (onnxruntime truncates a feature to an integer before a
    # membership test, so 0.5 is in {0}; the specification and ONNX's reference test the value itself, as we do.)
    x = rng.integers(-3, 4, (64, 3)).astype(np.float32)
    assert_matches_ort(model, {"x": x}, tmp_path, atol=1e-5, rtol=1e-6)


# -- training optimizers (ONNX reference evaluator) -----------------------------------------------------


@pytest.mark.parametrize(
    "op, attrs, groups",
    [
        ("Adagrad", dict(decay_factor=0.1, epsilon=1e-5, norm_coefficient=1e-3), "xgh"),
        ("Momentum", dict(alpha=0.9, beta=0.5, mode="standard", norm_coefficient=1e-2), "xgv"),
        ("Momentum", dict(alpha=0.9, beta=0.5, mode="nesterov", norm_coefficient=1e-2), "xgv"),
        ("Adam", dict(alpha=0.9, beta=0.99, epsilon=1e-6, norm_coefficient=1e-3, norm_coefficient_post=0.01), "xgvh"),
    ],
)
@pytest.mark.parametrize("step", [0, 3])
def test_training_optimizers(tmp_path, op, attrs, groups, step):
    """groups: the inputs after R and T, n tensors each (x: tensors, g: gradients, v/h: states; h >= 0)."""
    rng = np.random.default_rng(step)
    shapes = [(3,), (2, 2)]
    names = [f"{g}{i}" for g in groups for i in range(len(shapes))]
    outputs = [f"{g}{i}_new" for g in groups.replace("g", "") for i in range(len(shapes))]
    node = helper.make_node(op, ["r", "t", *names], outputs, domain="ai.onnx.preview.training", **attrs)
    shape_of = {n: shapes[int(n[1:])] for n in names}
    inputs = [helper.make_tensor_value_info("r", TP.FLOAT, []), helper.make_tensor_value_info("t", TP.INT64, [])]
    inputs += [helper.make_tensor_value_info(n, TP.FLOAT, shape_of[n]) for n in names]
    outs = [helper.make_tensor_value_info(o, TP.FLOAT, shapes[int(o[1])]) for o in outputs]
    model = _model([node], inputs, outs, {"": 17, "ai.onnx.preview.training": 1})
    feed = {"r": np.array(0.1, np.float32), "t": np.array(step, np.int64)}
    feed |= {
        n: (np.abs if n[0] == "h" else np.asarray)(rng.standard_normal(shape_of[n])).astype(np.float32) for n in names
    }
    want = [np.asarray(w, np.float32) for w in ReferenceEvaluator(model).run(None, feed)]
    _both_modes_match(model, feed, want, tmp_path, atol=1e-6, rtol=1e-5)


# -- sub-byte integers (held in a byte) -----------------------------------------------------------------


@pytest.mark.parametrize("target", [TP.INT4, TP.UINT4, TP.INT2, TP.UINT2])
def test_casts_and_quantization_to_sub_byte_integers(tmp_path, target):
    """float -> narrow (truncated; out of range -> 0, the reference's choice), int32 -> narrow (low bits),
    QuantizeLinear to narrow (saturated) and back, and a narrow input."""
    nodes = [
        helper.make_node("Cast", ["f"], ["from_float"], to=target),
        helper.make_node("Cast", ["i"], ["from_int"], to=target),
        helper.make_node("QuantizeLinear", ["f", "scale", "zp"], ["q"], axis=1),
        helper.make_node("DequantizeLinear", ["q", "scale", "zp"], ["dq"], axis=1),
        helper.make_node("Cast", ["narrow"], ["widened"], to=TP.FLOAT),
    ]
    unsigned = target in (TP.UINT4, TP.UINT2)
    model = _model(
        nodes,
        [
            helper.make_tensor_value_info("f", TP.FLOAT, [4, 3]),
            helper.make_tensor_value_info("i", TP.INT32, [4, 3]),
            helper.make_tensor_value_info("narrow", target, [5]),
        ],
        [
            helper.make_tensor_value_info(n, t, s)
            for n, t, s in (("from_float", target, [4, 3]), ("from_int", target, [4, 3]), ("q", target, [4, 3]),
                            ("dq", TP.FLOAT, [4, 3]), ("widened", TP.FLOAT, [5]))
        ],
        {"": 25},
        [numpy_helper.from_array(np.array([0.5, 1.0, 2.0], np.float32), "scale"),
         helper.make_tensor("zp", target, [3], [1, 0, 1])],
    )  # fmt: skip
    rng = np.random.default_rng(target)
    narrow_dtype = onnx.helper.tensor_dtype_to_np_dtype(target)
    feed = {
        "f": np.round(rng.standard_normal((4, 3)) * 6, 1).astype(np.float32),
        "i": rng.integers(-40, 40, (4, 3)).astype(np.int32),
        "narrow": np.array([0, 1, 1, 0, 1] if unsigned else [-1, 0, 1, -1, 0]).astype(narrow_dtype),
    }
    want = ReferenceEvaluator(model).run(None, feed)
    _both_modes_match(model, feed, want, tmp_path, atol=0, rtol=0)
