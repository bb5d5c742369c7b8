"""Per-face attributes new in 4.x: FairFace, FaceAttribNet, and Emotion's 4.x `predict(image, face)`."""

from __future__ import annotations

from typing import Any

from ._per_face import each_face, face_inputs
from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights, round_floats

FAIRFACE = Weights("FairFaceWeights.DEFAULT", "fairface.onnx", STANDIN)
FACE_ATTRIB_NET = Weights("FaceAttribNetWeights.DEFAULT", "face_attrib_net.onnx", STANDIN)
EMOTION7 = Weights("EmotionWeights.AFFECNET7", "affecnet7.onnx", STANDIN)
EMOTION8 = Weights("EmotionWeights.AFFECNET8", "affecnet8.onnx", STANDIN)


def _fairface(ctx: Context) -> dict[str, Any]:
    from uniface.attribute import FairFace

    model = FairFace(model_name=ctx.weights(FAIRFACE.enum))
    cases = []
    for image_name, image, face in each_face(ctx):
        raw = model.session.run(model.output_names, {model.input_name: model.preprocess(image, face.bbox)})
        result = model.predict(image, face)
        assert (face.gender, face.age_group, face.race) == (result.gender, result.age_group, result.race)
        cases.append(
            {
                "image": image_name,
                **face_inputs(face),
                "raw": [round_floats(r[0]) for r in raw],
                "gender": result.gender,
                "age_group": result.age_group,
                "race": result.race,
            }
        )
    for image_name, image in ctx.images[:4]:  # no box: the whole image
        raw = model.session.run(model.output_names, {model.input_name: model.preprocess(image, None)})
        result = model.postprocess(raw)
        cases.append({"image": image_name, "bbox": None, "raw": [round_floats(r[0]) for r in raw],
                      "gender": result.gender, "age_group": result.age_group, "race": result.race})  # fmt: skip
    return {"class": "FairFace", "model": FAIRFACE.enum, "cases": cases}


def _face_attrib_net(ctx: Context) -> dict[str, Any]:
    from uniface.attribute import FaceAttribNet

    cases = []
    for margin in (0.0, 0.2):
        model = FaceAttribNet(model_name=ctx.weights(FACE_ATTRIB_NET.enum), margin=margin)
        for image_name, image, face in each_face(ctx, max_num=2):
            result = model.predict(image, face)
            cases.append(
                {
                    "image": image_name,
                    "margin": margin,
                    **face_inputs(face),
                    "probabilities": round_floats(list(result.as_dict().values())),
                    "labels": result.labels(),
                    "face_fields": round_floats(
                        [face.left_eye_open, face.right_eye_open, face.eyeglasses, face.mask, face.sunglasses]
                    ),  # fmt: skip
                }
            )
    return {"class": "FaceAttribNet", "model": FACE_ATTRIB_NET.enum, "cases": cases}


def _install_torch_shim(onnx_runner: Any) -> None:
    """A numpy stand-in for the few torch calls upstream's Emotion makes (it needs torch, the venv has none).

    Only tensor plumbing is replaced: `jit.load` returns our ONNX file run by
    onnxruntime, `from_numpy(...).unsqueeze(0).to(device)` wraps an array,
    `functional.softmax(x, dim=1)` is the float32 softmax. Upstream's own
    alignment, colour conversion, resize, normalization, argmax and label
    choice run unchanged.
    """
    import contextlib
    import sys
    import types

    import numpy as np

    class Tensor:
        def __init__(self, array: Any):
            self.array = np.asarray(array)

        def unsqueeze(self, axis: int) -> Tensor:
            return Tensor(np.expand_dims(self.array, axis))

        def squeeze(self) -> Tensor:
            return Tensor(np.squeeze(self.array))

        def to(self, *_: Any) -> Tensor:
            return self

        def cpu(self) -> Tensor:
            return self

        def numpy(self) -> Any:
            return self.array

    def softmax(x: Tensor, dim: int) -> Tensor:
        z = x.array.astype(np.float32)
        e = np.exp(z - z.max(axis=dim, keepdims=True))
        return Tensor(e / e.sum(axis=dim, keepdims=True))

    class Module:
        def __init__(self, path: str):
            self.run = onnx_runner(path)

        def eval(self) -> Module:
            return self

        def __call__(self, x: Tensor) -> Tensor:
            return Tensor(self.run(x.array.astype(np.float32)))

    torch = types.ModuleType("torch")
    torch.Tensor = Tensor
    torch.device = lambda name: name
    torch.backends = types.SimpleNamespace(mps=types.SimpleNamespace(is_available=lambda: False))
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)
    torch.jit = types.SimpleNamespace(load=lambda path, map_location=None: Module(path))
    torch.randn = lambda *shape: Tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    torch.no_grad = contextlib.nullcontext
    torch.from_numpy = Tensor
    torch.nn = types.SimpleNamespace(functional=types.SimpleNamespace(softmax=softmax))
    sys.modules["torch"] = torch


def _emotion_family(name: str, weights: Weights) -> Family:
    def run(ctx: Context) -> dict[str, Any]:
        import importlib

        import onnxruntime as ort

        def runner(path: str):
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            feed_name = session.get_inputs()[0].name
            return lambda x: session.run(None, {feed_name: x})[0]

        _install_torch_shim(runner)
        emotion = importlib.import_module("uniface.attribute.emotion")
        model = emotion.Emotion(model_name=ctx.weights(weights.enum))
        cases = []
        for image_name, image, face in each_face(ctx):
            result = model.predict(image, face)
            assert (face.emotion, face.emotion_confidence) == (result.emotion, result.confidence)
            cases.append(
                {
                    "image": image_name,
                    **face_inputs(face),
                    "emotion": result.emotion,
                    "confidence": round_floats(result.confidence),
                }  # fmt: skip
            )
        return {"class": "Emotion", "model": weights.enum, "labels": model.emotion_labels, "cases": cases}

    return Family(
        name,
        (weights, REFERENCE_DETECTOR),
        run,
        f"Emotion {weights.enum}: our ONNX stand-in behind a numpy torch shim (upstream ships TorchScript)",
    )


FAMILIES = [
    Family("fairface", (FAIRFACE, REFERENCE_DETECTOR), _fairface, "FairFace ResNet-34 stand-in"),
    Family("faceattribnet", (FACE_ATTRIB_NET, REFERENCE_DETECTOR), _face_attrib_net, "FaceAttribNet stand-in"),
    _emotion_family("emotion7", EMOTION7),
    _emotion_family("emotion8", EMOTION8),
]
