"""Op lowerings, one module per op family. Importing this package registers them all."""

import importlib

FAMILIES = (
    "elementwise",  # arithmetic, math, logic, comparison, Cast, activations
    "shape",  # Reshape, Transpose, Concat, Split, Squeeze, Expand, Tile, Pad, ...
    "indexing",  # Gather*, Scatter*, Slice, Where, TopK, NonZero, OneHot, ...
    "nn",  # Conv, ConvTranspose, pools, Gemm, MatMul, normalizations, Resize
    "reduce",  # Reduce*, ArgMax/Min, Softmax family, CumSum, ...
    "misc",  # Constant, Identity, Dropout, Shape, Size, Range, random, ...
)
for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")
