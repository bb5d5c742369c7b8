"""Face parsing (BiSeNet class maps on box crops) and masking (XSeg soft masks in image space)."""

from __future__ import annotations

from typing import Any

from ._arrays import encode_labels, encode_unit
from ._per_face import SMALL_SET, box_crop, each_face, face_inputs
from .api import REFERENCE_DETECTOR, STANDIN, Context, Family, Weights

BISENET = Weights("ParsingWeights.RESNET18", "parsing_resnet18.onnx", STANDIN)
XSEG = Weights("XSegWeights.DEFAULT", "xseg.onnx", STANDIN)


def _bisenet(ctx: Context) -> dict[str, Any]:
    from uniface.parsing import BiSeNet

    model = BiSeNet(model_name=ctx.weights(BISENET.enum))
    cases = []
    for image_name, image, face in each_face(ctx, max_num=2):
        crop, box = box_crop(image, face.bbox)
        cases.append({"image": image_name, **face_inputs(face), "crop": box, "mask": encode_labels(model.parse(crop))})
    return {"class": "BiSeNet", "model": BISENET.enum, "mask_type": model.mask_type, "cases": cases}


def _xseg(ctx: Context) -> dict[str, Any]:
    from uniface.parsing import XSeg

    cases = []
    for blur in (0, 3.0):
        model = XSeg(model_name=ctx.weights(XSEG.enum), blur_sigma=blur)
        for image_name, image, face in each_face(ctx, max_num=1):
            case = {"image": image_name, "blur_sigma": blur, **face_inputs(face)}
            case["mask"] = encode_unit(model.parse(image, landmarks=face.landmarks), max_values=8192)
            if not blur:  # the crop-space mask and the inverse warp once per face
                crop_mask, _, inverse = model.parse_with_inverse(image, face.landmarks)
                case.update(crop_mask=encode_unit(crop_mask, max_values=8192), inverse=inverse.tolist())
            cases.append(case)
    return {"class": "XSeg", "model": XSEG.enum, "mask_type": "probability", "cases": cases}


FAMILIES = [
    Family("bisenet", (BISENET, REFERENCE_DETECTOR), _bisenet, "BiSeNet ResNet-18 stand-in", images=SMALL_SET),
    Family("xseg", (XSEG, REFERENCE_DETECTOR), _xseg, "XSeg stand-in", images=SMALL_SET),
]
