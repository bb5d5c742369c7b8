"""Classic ML ops: TfIdfVectorizer (n-gram counts over integer tokens), ai.onnx.ml's ArrayFeatureExtractor and
TreeEnsemble (every split compared at once, each leaf reached by an AND along its static path).

TfIdfVectorizer's pool of n-grams is an attribute, so the counting is unrolled
at translation time: for each pooled n-gram and each skip distance, compare
the shifted token windows with its items and count the positions where all
match. Unigrams are counted once (skips do not apply to them), as the
specification's reference does. String pools are unsupported (MLX holds no strings).
"""

from __future__ import annotations

from opset.program import DType, Ref, Slice

import numpy as np

from ..context import LowerCtx
from ..registry import lowering


def _pooled_ngrams(ctx: LowerCtx) -> list[tuple[tuple[int, ...], int, int]]:
    """(n-gram, output index, position in the pool) for every pooled n-gram of a length in
    [min_gram_length, max_gram_length]."""
    pool = [int(v) for v in ctx.attr("pool_int64s") or []]
    if not pool:
        ctx.fail("only integer n-gram pools (pool_int64s) are supported")
    counts = [int(c) for c in ctx.attr("ngram_counts")]
    indexes = [int(i) for i in ctx.attr("ngram_indexes")]
    lo, hi = int(ctx.attr("min_gram_length")), int(ctx.attr("max_gram_length"))
    grams, gram_id = [], 0
    for size, start in enumerate(counts, start=1):
        end = counts[size] if size < len(counts) else len(pool)
        for k in range((end - start) // size):
            if lo <= size <= hi:
                if gram_id >= len(indexes):
                    ctx.fail("ngram_indexes is shorter than the pool")
                grams.append((tuple(pool[start + k * size : start + (k + 1) * size]), indexes[gram_id], gram_id))
            gram_id += 1
    return grams


def _window(ctx: LowerCtx, x: Ref, start: int, stop: int | None) -> Ref:
    return ctx.call("getitem", x, (Slice(), Slice(start, stop)))


@lowering("TfIdfVectorizer", since=9)
def tfidf_vectorizer(ctx: LowerCtx) -> Ref:
    mode = ctx.attr("mode")
    if mode not in ("TF", "IDF", "TFIDF"):
        ctx.fail(f"unknown mode {mode!r}")
    shape = ctx.static_shape(0)
    if shape is None or len(shape) not in (1, 2):
        ctx.fail("the input must be a 1-D or 2-D tensor of known shape")
    x = ctx.input(0) if len(shape) == 2 else ctx.call("expand_dims", ctx.input(0), 0)
    length = shape[-1]
    max_skip = int(ctx.attr("max_skip_count", 0))
    size = max(int(i) for i in ctx.attr("ngram_indexes")) + 1
    totals: dict[int, Ref] = {}
    grams = _pooled_ngrams(ctx)
    for gram, out, _ in grams:
        n = len(gram)
        for skip in range(1, (max_skip + 1 if n > 1 else 1) + 1):
            span = (n - 1) * skip
            if span >= length:
                continue
            hit = None
            for k, item in enumerate(gram):
                stop = length - span + k * skip
                same = ctx.call("equal", _window(ctx, x, k * skip, stop), item)
                hit = same if hit is None else ctx.call("logical_and", hit, same)
            count = ctx.call("sum", ctx.call("astype", hit, DType("float32")), axis=1)
            totals[out] = count if out not in totals else ctx.call("add", totals[out], count)
    zeros = ctx.call("zeros", (shape[0] if len(shape) == 2 else 1,), DType("float32"))
    y = ctx.call("stack", [totals.get(j, zeros) for j in range(size)], axis=1)
    weights = ctx.attr("weights")
    if weights is not None:  # the i-th weight is the i-th pooled n-gram's (as onnxruntime reads it)
        if len(weights) <= max(g for _, _, g in grams):
            ctx.fail("weights is shorter than the pool")
        per_output = np.zeros(size, np.float32)
        for _, out, gram_id in grams:
            per_output[out] = weights[gram_id]
        weights = ctx.constant(per_output, "weights")
    if mode == "IDF":
        seen = ctx.call("astype", ctx.call("greater", y, 0.0), DType("float32"))
        y = seen if weights is None else ctx.call("multiply", seen, weights)
    elif mode == "TFIDF" and weights is not None:
        y = ctx.call("multiply", y, weights)
    return y if len(shape) == 2 else ctx.call("squeeze", y, 0)


@lowering("ArrayFeatureExtractor", domain="ai.onnx.ml")
def array_feature_extractor(ctx: LowerCtx) -> Ref:
    """X[..., indices] (indices flattened); a 1-D X gives a (1, k) result."""
    rank = ctx.rank(0)
    index = ctx.call("reshape", ctx.input(1), (-1,))
    y = ctx.call("take", ctx.input(0), index, axis=-1)
    return ctx.call("expand_dims", y, 0) if rank == 1 else y


# TreeEnsemble node modes (ai.onnx.ml 5) and aggregate functions.
_LEQ, _LT, _GTE, _GT, _EQ, _NEQ, _MEMBER = range(7)
_CMP = {_LEQ: "less_equal", _LT: "less", _GTE: "greater_equal", _GT: "greater", _EQ: "equal", _NEQ: "not_equal"}


def _tree_paths(ctx: LowerCtx) -> list[tuple[list[tuple[int, bool]], int]]:
    """(conditions on the way, leaf) for every way down every tree: the tree structure is static."""
    true_ids, false_ids = ctx.attr("nodes_truenodeids"), ctx.attr("nodes_falsenodeids")
    true_leaf, false_leaf = ctx.attr("nodes_trueleafs"), ctx.attr("nodes_falseleafs")
    n_nodes = len(true_ids)
    paths = []

    def walk(node: int, path: list, depth: int) -> None:
        if not 0 <= node < n_nodes or depth > n_nodes:
            ctx.fail(f"node {node} is out of range or the trees have a cycle")
        for branch, child, is_leaf in ((True, true_ids, true_leaf), (False, false_ids, false_leaf)):
            step = [*path, (node, branch)]
            if is_leaf[node]:
                paths.append((step, int(child[node])))
            else:
                walk(int(child[node]), step, depth + 1)

    for root in ctx.attr("tree_roots"):
        if true_leaf[root] and false_leaf[root] and true_ids[root] == false_ids[root]:
            paths.append(([], int(root)))  # a tree that is a single leaf (the specification's degenerate case)
        else:
            walk(int(root), [], 0)
    return paths


@lowering("TreeEnsemble", domain="ai.onnx.ml", since=5)
def tree_ensemble(ctx: LowerCtx) -> Ref:
    """Every node's comparison at once, then each leaf's path as an AND of them, then the targets' aggregate."""
    if int(ctx.attr("post_transform", 0)) != 0:
        ctx.fail("post_transform other than NONE is not supported")
    aggregate = int(ctx.attr("aggregate_function", 1))
    if aggregate not in (0, 1, 2, 3):
        ctx.fail(f"unknown aggregate_function {aggregate}")
    dt = ctx.dtype(0)
    modes = [int(m) for m in np.asarray(ctx.attr("nodes_modes")).reshape(-1)]
    splits = np.asarray(ctx.attr("nodes_splits")).reshape(-1).astype(dt)
    features = np.asarray(ctx.attr("nodes_featureids"), np.int64)
    k = len(modes)
    x = ctx.input(0)
    xf = ctx.call("take", x, ctx.constant(features, "features"), axis=1)  # (N, K)
    s = ctx.constant(splits, "splits")
    cond = None
    for mode in sorted(set(modes)):
        if mode == _MEMBER:
            sets, current = [], []
            for v in np.asarray(ctx.attr("membership_values")).reshape(-1):
                if np.isnan(v):
                    sets.append(current)
                    current = []
                else:
                    current.append(float(v))
            members = [i for i, m in enumerate(modes) if m == _MEMBER]
            if len(sets) < len(members):
                ctx.fail("membership_values lists fewer sets than there are membership nodes")
            table = np.full((k, max(1, *(len(v) for v in sets))), np.nan, dt)
            for node, values in zip(members, sets):
                table[node, : len(values)] = values
            hit = ctx.call(
                "any", ctx.call("equal", ctx.call("expand_dims", xf, -1), ctx.constant(table, "members")), -1
            )
        elif mode in _CMP:
            hit = ctx.call(_CMP[mode], xf, s)
        else:
            ctx.fail(f"unknown node mode {mode}")
        mask = ctx.constant(np.array([m == mode for m in modes]), "mode_mask")
        cond = hit if cond is None else ctx.call("where", mask, hit, cond)
    tracks = ctx.attr("nodes_missing_value_tracks_true")
    if tracks is not None and any(tracks):
        missing = ctx.call("logical_and", ctx.call("isnan", xf), ctx.constant(np.asarray(tracks, bool), "tracks"))
        cond = ctx.call("logical_or", cond, missing)
    paths = _tree_paths(ctx)
    depth = max(1, *(len(p) for p, _ in paths))
    index = np.full((len(paths), depth), 2 * k, np.int64)  # 2k: a column of True (padding)
    for e, (path, _) in enumerate(paths):
        for d, (node, branch) in enumerate(path):
            index[e, d] = node if branch else k + node
    n = ctx.dim(0, 0)
    ones = ctx.call("ones", (n, 1), DType("bool_"))
    choices = ctx.call("concatenate", [cond, ctx.call("logical_not", cond), ones], axis=1)  # (N, 2K + 1)
    gathered = ctx.call("take", choices, ctx.constant(index.reshape(-1), "paths"), axis=1)
    reached = ctx.call("all", ctx.call("reshape", gathered, (n, len(paths), depth)), -1)  # (N, E)
    weights = np.asarray(ctx.attr("leaf_weights")).reshape(-1).astype(dt)
    targets = np.asarray(ctx.attr("leaf_targetids"), np.int64)
    n_targets = int(ctx.attr("n_targets"))
    table = np.zeros((len(paths), n_targets), bool)
    leaf_w = np.zeros(len(paths), dt)
    for e, (_, leaf) in enumerate(paths):
        table[e, targets[leaf]] = True
        leaf_w[e] = weights[leaf]
    chosen = ctx.call("logical_and", ctx.call("expand_dims", reached, -1), ctx.constant(table, "targets"))  # (N, E, T)
    w = ctx.constant(leaf_w.reshape(-1, 1), "leaf_weights")
    if aggregate in (0, 1):
        y = ctx.call("sum", ctx.call("where", chosen, w, ctx.scalar(0, dt)), 1)
        if aggregate == 0:
            y = ctx.call("divide", y, ctx.scalar(len(ctx.attr("tree_roots")), dt))
        return y
    # MIN / MAX over the reached leaves; a target no reached leaf votes for is 0, as in onnxruntime.
    info = np.finfo(dt)
    if aggregate == 2:
        y = ctx.call("min", ctx.call("where", chosen, w, ctx.scalar(float(info.max), dt)), 1)
    else:
        y = ctx.call("max", ctx.call("where", chosen, w, ctx.scalar(float(info.min), dt)), 1)
    return ctx.call("where", ctx.call("any", chosen, 1), y, ctx.scalar(0, dt))
