"""The translator's public entry points."""

from __future__ import annotations

import collections
import keyword
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from opset.program import CONTROL, Program, walk_calls

import numpy as np
import onnx

from .emit.module import plan_module, render_module
from .emit.oplist import to_json
from .emit.scopes import Scope, node_scopes
from .emit.weights import atomic_write, sha256_bytes, weights_bytes
from .errors import InvalidModelError, TranslatorError
from .frontend import ModelSource, build_graph, load_model, prepare_model
from .image_input import ImageInput, apply_image_input
from .lowering import ops as _ops  # noqa: F401  (registers lowerings)
from .lowering.lower import check_supported, lower_graph
from .lowering.names import RESERVED
from .passes import run_passes

MODES = ("module", "oplist")


@dataclass
class Translation:
    program: Program
    label: str
    source_sha256: str
    op_histogram: dict[str, int]
    opsets: dict[str, int]
    seconds: float
    notes: dict = field(default_factory=dict)
    origins: dict[str, Scope | None] = field(default_factory=dict)  # original node -> module scope (emit/scopes.py)

    @property
    def weights_nbytes(self) -> int:
        return sum(w.nbytes for w in self.program.weights.values())


def set_input_shapes(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]], label: str) -> None:
    """Fix the model's input dims to `shapes` in place (a declared fixed dim must agree)."""
    inputs = {i.name: i for i in model.graph.input}
    for name, shape in shapes.items():
        if name not in inputs:
            raise InvalidModelError(f"{label}: no graph input named {name!r} (inputs: {sorted(inputs)})")
        tt = inputs[name].type.tensor_type
        declared = list(tt.shape.dim)
        if declared and len(declared) != len(shape):
            raise InvalidModelError(f"{label}: input {name!r} has rank {len(declared)}, not {len(shape)}")
        for i, d in enumerate(shape):
            if declared and declared[i].HasField("dim_value") and declared[i].dim_value != d:
                raise InvalidModelError(f"{label}: input {name!r} dim {i} is fixed at {declared[i].dim_value}, not {d}")
        del tt.shape.dim[:]
        for d in shape:
            tt.shape.dim.add().dim_value = int(d)
    # Shapes recorded for the declared sizes no longer hold: let inference recompute them.
    del model.graph.value_info[:]
    for out in model.graph.output:
        if out.type.HasField("tensor_type") and out.type.tensor_type.HasField("shape"):
            for d in out.type.tensor_type.shape.dim:
                d.Clear()  # keep the rank, forget the sizes


DynamicDims = bool | dict[str, tuple[int, ...]]


def free_input_dims(model: onnx.ModelProto, dynamic: DynamicDims, label: str) -> None:
    """Make declared input dims dynamic: all of them (True) or per input the listed axes.

    For models exported at one size whose graph computes every shape from its input (YuNet declares
    640x640 but sizes its reshapes with -1 and its upsampling with scales): one translation then runs
    at any size. Sizes recorded for the declared dims are forgotten, as with input_shapes.
    """
    init = {t.name for t in model.graph.initializer}
    inputs = {i.name: i for i in model.graph.input if i.name not in init}
    wanted = dict.fromkeys(inputs, None) if dynamic is True else dict(dynamic)
    for name, axes in wanted.items():
        if name not in inputs:
            raise InvalidModelError(f"{label}: no graph input named {name!r} (inputs: {sorted(inputs)})")
        tt = inputs[name].type.tensor_type
        dims = list(tt.shape.dim) if tt.HasField("shape") else []
        for axis in range(len(dims)) if axes is None else axes:
            if not -len(dims) <= axis < len(dims):
                raise InvalidModelError(f"{label}: input {name!r} has rank {len(dims)}, no axis {axis}")
            if dims[axis].HasField("dim_value"):
                dims[axis].Clear()
                dims[axis].dim_param = f"{name}_dim{axis % len(dims)}"
    del model.graph.value_info[:]
    for out in model.graph.output:
        if out.type.HasField("tensor_type") and out.type.tensor_type.HasField("shape"):
            for d in out.type.tensor_type.shape.dim:
                if d.HasField("dim_value"):
                    d.Clear()


def resolve_native(native: bool | None) -> bool:
    """Whether to emit native kernel calls (see translate); warns once if they cannot run here."""
    from opset import native as kernels

    from .lowering.ops.layout import target_device

    if native is False:
        return False
    if target_device() != "cpu":
        return bool(native)  # the GPU keeps MLX's own ops unless asked
    if not kernels.available():
        kernels.warn_if_unavailable()
        return bool(native)
    return True


def translate(
    source: ModelSource,
    *,
    optimize: bool = True,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    layout: str = "nhwc",
    nhwc_inputs: bool = False,
    tune: bool = False,
    native: bool | None = None,
    dynamic: DynamicDims = False,
    image_input: ImageInput | None = None,
) -> Translation:
    """ONNX model -> lowered Program (after the pass pipeline).

    Dims the model declares dynamic (symbolic, unset, -1) stay dynamic: the program reads them from
    its inputs at run time. input_shapes fixes them instead (shape sub-graphs then fold away);
    dynamic=True (or {input: axes}) makes declared fixed dims dynamic too.

    layout="nhwc" runs the whole-graph channels-last pass (the fast path);
    "nchw" keeps ONNX's layout. nhwc_inputs takes 4-D inputs already in NHWC.
    tune=True times conv strategies and mx.compile on this machine (static shapes only).
    native: hand convs to opset.native's C++ kernels. None (default) does so when
    the extension is importable and MLX's default device is the CPU (on the GPU,
    MLX's own Metal ops stay); True always records them (they fall back to MLX ops
    where the extension is missing); False never.
    image_input: the model's NCHW float input becomes an 8-bit NHWC image (what OpenCV
    gives) of the same name, normalized in the graph (translator/image_input.py); with
    native kernels the stem conv reads the image itself.
    """
    start = time.perf_counter()
    loaded = load_model(source)
    model = loaded.model
    if input_shapes and dynamic:
        raise InvalidModelError(f"{loaded.label}: give input_shapes or dynamic, not both")
    if input_shapes or dynamic:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        if input_shapes:
            set_input_shapes(model, input_shapes, loaded.label)
        else:
            if image_input is not None and dynamic is True:  # the image keeps its channel count: the
                # normalization is per channel (folded into the stem conv's weights); N, H and W go free
                init = {t.name for t in model.graph.initializer}
                dynamic = {i.name: (0, 2, 3) if len(i.type.tensor_type.shape.dim) == 4 else None
                           for i in model.graph.input if i.name not in init}  # fmt: skip
            free_input_dims(model, dynamic, loaded.label)
        loaded.model = model
    model = prepare_model(loaded)
    graph = build_graph(model, loaded.label)
    histogram = dict(collections.Counter(n.op_type for n in graph.nodes).most_common())
    if image_input is not None:
        if nhwc_inputs:
            raise TranslatorError("image_input already takes the image channels-last: drop nhwc_inputs")
        apply_image_input(graph, image_input, loaded.label)
    origins = node_scopes(graph)  # before the passes rename what they fuse
    check_supported(graph, loaded.label)
    use_native = resolve_native(native) and optimize and layout == "nhwc"
    notes = run_passes(graph, optimize=optimize, layout=layout, nhwc_inputs=nhwc_inputs, native=use_native)
    if tune:
        from .tune import tune_convs

        notes["tuned_convs"] = len(tune_convs(graph))
    program = lower_graph(graph, loaded.label)
    program.notes.update(notes)
    has_control_flow = any(c.fn in CONTROL for c in walk_calls(program.calls))
    if use_native and not has_control_flow:  # control flow reads values (.item()): mx.compile cannot trace it
        # With the convs in native kernels, what MLX still runs is glue (copies, reshapes, activations),
        # which mx.compile fuses and traces once: 3-15% faster on every real model measured
        # (docs/benchmarks.md). Pure-MLX programs compile only where tune=True measured a gain.
        program.notes["compile"] = True
    if tune:
        from .tune import random_feed, tune_compile

        feed = random_feed(program)
        if feed is not None:
            program.notes.update(tune_compile(program, feed))
    return Translation(
        program, loaded.label, loaded.sha256, histogram, dict(graph.opsets), time.perf_counter() - start, notes, origins
    )


def module_weights(translation: Translation) -> dict[str, np.ndarray]:
    """The weights as the module back end keys them (its parameter tree: `body.stage1.0.weight`)."""
    return plan_module(translation.program, translation.origins).weights()


def class_name_for(name: str) -> str:
    """A CamelCase class name that cannot clash with keywords or the module's own names."""
    parts = re.split(r"[^0-9A-Za-z]+", name)
    ident = "".join(p[:1].upper() + p[1:] for p in parts if p) or "Model"
    if ident[0].isdigit():
        ident = "Model" + ident
    if keyword.iskeyword(ident) or ident in RESERVED or ident.isupper():
        ident += "Model"
    return ident


@dataclass
class Written:
    paths: list[Path]
    translation: Translation


def write_outputs(translation: Translation, out_dir: str | Path, mode: str, name: str) -> list[Path]:
    if mode not in MODES:
        raise TranslatorError(f"unknown mode {mode!r}; use one of {MODES}")
    out = Path(out_dir)
    stem = re.sub(r"[^0-9A-Za-z_]", "_", name) or "model"
    # The back ends key the same weights differently (the module by its parameter tree), so their
    # files are named apart: both can be written to one folder.
    wpath = out / (f"{stem}.module.safetensors" if mode == "module" else f"{stem}.safetensors")
    if mode == "module":
        plan = plan_module(translation.program, translation.origins)
        wdata = weights_bytes(plan.weights())
        wsha = sha256_bytes(wdata)
        atomic_write(wpath, wdata)
        src = render_module(
            translation.program,
            class_name_for(stem),
            Path(translation.label).name,
            translation.source_sha256,
            wpath.name,
            wsha,
            module_name=stem,
            plan=plan,
        )
        main = out / f"{stem}.py"
        atomic_write(main, src)
    else:
        wdata = weights_bytes(translation.program.weights)
        wsha = sha256_bytes(wdata)
        atomic_write(wpath, wdata)
        main = out / f"{stem}.oplist.json"
        atomic_write(main, to_json(translation.program, translation.source_sha256, wsha))
    return [main, wpath]


def convert(
    source: ModelSource,
    out_dir: str | Path,
    *,
    mode: str = "module",
    name: str | None = None,
    optimize: bool = True,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    **options,
) -> Written:
    """Translate and write the module (or op list) plus weights into `out_dir`."""
    translation = translate(source, optimize=optimize, input_shapes=input_shapes, **options)
    if name is None:
        name = Path(str(source)).stem if isinstance(source, (str, Path)) else "model"
    return Written(write_outputs(translation, out_dir, mode, name), translation)
