"""Graph passes. Each is a small function of a Graph; `run_passes` applies them in order."""

from __future__ import annotations

from ..ir import Graph
from ..reinfer import reinfer_shapes
from .bn_fusion import fuse_batchnorm
from .cleanup import eliminate_dead_code, remove_identities
from .concat_conv import split_concat_convs
from .constant_folding import fold_constants
from .control_flow import fold_constant_ifs, optimize_subgraphs
from .conv_pool import fuse_conv_max_pools
from .conv_shuffle import fuse_conv_shuffles
from .dw_pw import fuse_depthwise_pointwise
from .epilogue import fuse_epilogues
from .flat_concat import native_flat_concats
from .group_output import fuse_group_outputs
from .grouped import split_grouped_convs
from .image_input import fold_image_normalization
from .layout import assign_nhwc
from .native import assign_native, assign_native_ops, native_channel_concats, native_channel_splits
from .pad_conv import fold_pads_into_convs
from .pw_dw import fuse_pointwise_depthwise
from .shuffle import fold_channel_shuffles, fuse_concat_shuffles
from .siblings import merge_sibling_convs
from .stem_split import fuse_stem_splits
from .subpixel import subpixel_conv_transposes
from .upsample_add import fold_upsampled_residuals, fuse_upsample_adds

__all__ = [
    "run_passes", "fold_to_fixpoint", "fold_constants", "fuse_batchnorm", "eliminate_dead_code", "remove_identities", "assign_nhwc",
    "fuse_epilogues", "assign_native", "merge_sibling_convs", "split_concat_convs",
    "assign_native_ops", "fuse_depthwise_pointwise", "fuse_pointwise_depthwise", "fold_channel_shuffles",
    "fuse_concat_shuffles", "fold_image_normalization", "native_channel_concats", "native_channel_splits", "split_grouped_convs",
    "subpixel_conv_transposes", "fold_pads_into_convs", "fuse_conv_max_pools", "fuse_conv_shuffles",
    "fuse_upsample_adds", "native_flat_concats", "fuse_stem_splits", "fuse_group_outputs", "fold_upsampled_residuals",
]  # fmt: skip


def fold_to_fixpoint(graph: Graph) -> dict:
    """Remove identities and fold constants (shape sub-graphs included) until nothing more folds; notes."""
    notes: dict = {"identities_removed": remove_identities(graph), "constants_folded": fold_constants(graph)}
    ifs = fold_constant_ifs(graph)
    if ifs:  # the taken branches' nodes are new to folding
        notes["ifs_folded"] = ifs
        notes["constants_folded"] += fold_constants(graph)
    if notes["constants_folded"]:
        notes["shapes_reinferred"] = 0
        # Shapes learned by reinference make more Shape ops constant (SCRFD's Resize sizes): repeat
        # until nothing more folds (bounded: each round must fold something new).
        folded = notes["constants_folded"]
        for _ in range(9):
            if not folded:
                break
            notes["shapes_reinferred"] += reinfer_shapes(graph)
            folded = fold_constants(graph)
            ifs = fold_constant_ifs(graph)
            if ifs:
                notes["ifs_folded"] = notes.get("ifs_folded", 0) + ifs
                folded += ifs + fold_constants(graph)
            notes["constants_folded"] += folded
    return notes


def run_passes(
    graph: Graph, optimize: bool = True, layout: str = "nhwc", nhwc_inputs: bool = False, native: bool = False
) -> dict:
    """Apply the pass pipeline; returns notes (counts of what each pass did).

    With optimize=False only dead-code elimination runs: that unoptimized
    translation is the reference the optimized one is tested against.
    native=True hands the NHWC convs opset.native covers to its kernels.
    """
    notes: dict = {}

    def count(key: str, n) -> None:  # a note only for what a pass did
        if n:
            notes[key] = n

    if optimize:
        notes.update(fold_to_fixpoint(graph))
        count("fused", fuse_batchnorm(graph))
        if "fused" in notes:
            notes["constants_folded"] += fold_constants(graph)
        count("channel_shuffles", fold_channel_shuffles(graph))
        count("pads_folded_into_convs", fold_pads_into_convs(graph))
        count("conv_transposes_as_phases", subpixel_conv_transposes(graph))
        if layout == "nhwc":
            notes["layout"] = assign_nhwc(graph, nhwc_inputs=nhwc_inputs)
            if native:
                count("grouped_convs_split", split_grouped_convs(graph))
                notes["native_convs"] = assign_native(graph)
                notes["native_ops"] = assign_native_ops(graph)
                count("image_normalization_folded", fold_image_normalization(graph))
            notes["epilogues_fused"] = fuse_epilogues(graph, residuals=native)
            count("sibling_convs_merged", merge_sibling_convs(graph))
            if native:
                count("concats_split_into_convs", split_concat_convs(graph))
                count("stems_split", fuse_stem_splits(graph))
                count("depthwise_pointwise_fused", fuse_depthwise_pointwise(graph))
                count("pointwise_depthwise_fused", fuse_pointwise_depthwise(graph))
                count("max_pools_fused_into_convs", fuse_conv_max_pools(graph))
                count("concat_shuffles_interleaved", fuse_concat_shuffles(graph))
                count("interleaves_fused_into_convs", fuse_conv_shuffles(graph))
                count("flat_concats", native_flat_concats(graph))
                count("native_channel_concats", native_channel_concats(graph))
                count("native_channel_splits", native_channel_splits(graph))
                count("adds_fused_into_upsamples", fuse_upsample_adds(graph))
                count("upsampled_residuals_read_coarse", fold_upsampled_residuals(graph))
                count("convs_writing_groups", fuse_group_outputs(graph))
    notes["dead_nodes_removed"] = eliminate_dead_code(graph)
    # Subgraphs (If branches, loop bodies) go through the same pipeline; their notes are summed in.
    sub_notes = optimize_subgraphs(graph, lambda sub: run_passes(sub, optimize, layout, False, native))
    if sub_notes:
        notes["subgraphs"] = sub_notes
    return notes
