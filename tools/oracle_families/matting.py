"""Portrait matting: MODNet on whole photos, at the default working size and a smaller one."""

from __future__ import annotations

from typing import Any

from ._arrays import encode_unit
from .api import STANDIN, Context, Family, Weights

MODNET = Weights("MODNetWeights.PHOTOGRAPHIC", "modnet_photographic.onnx", STANDIN)
# Small, square, non-square (portrait), and large enough to be scaled down.
PHOTOS = ("lfw_Rob_Lowe_0001.jpg", "uniface_image1.jpg", "uniface_image5.jpg", "uniface_test.jpg")


def _modnet(ctx: Context) -> dict[str, Any]:
    from uniface.matting import MODNet

    cases = []
    for input_size in (512, 256):
        model = MODNet(model_name=ctx.weights(MODNET.enum), input_size=input_size)
        for image_name, image in ctx.images:
            tensor, h, w = model.preprocess(image)
            cases.append(
                {
                    "image": image_name,
                    "input_size": input_size,
                    "working_size": list(tensor.shape[2:]),
                    "matte": encode_unit(model.predict(image)),
                }
            )
    return {"class": "MODNet", "model": MODNET.enum, "cases": cases}


FAMILIES = [Family("modnet", (MODNET,), _modnet, "MODNet stand-in", images=PHOTOS)]
