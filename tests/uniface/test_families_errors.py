"""Bad input to the 4.x per-face families gets a clear, typed error naming what is wrong."""

from __future__ import annotations

from runtime.face.preprocess import ImageFormatError
from uniface.attribute import FairFace
from uniface.gaze import MobileGaze
from uniface.landmark import FaceMesh, PIPNet
from uniface.matting import MODNet
from uniface.quality import EDifFIQA

import numpy as np
import pytest

from .families import make

IMAGE = np.full((120, 160, 3), 127, dtype=np.uint8)


def test_box_outside_the_image(standins):
    box = np.array([500.0, 500.0, 600.0, 600.0], dtype=np.float32)
    with pytest.raises(ValueError, match="outside the 160x120 image"):
        make(PIPNet, standins / "pipnet_r18_wflw_98.onnx", "onnx").get_landmarks(IMAGE, box)
    with pytest.raises(ValueError, match="does not overlap the 160x120 image"):
        make(FairFace, standins / "fairface.onnx", "onnx").predict(IMAGE, box)


def test_empty_or_malformed_images(standins):
    gaze = make(MobileGaze, standins / "gaze_resnet34.onnx", "onnx")
    with pytest.raises(ImageFormatError, match="empty"):
        gaze.estimate(IMAGE[10:10, 20:40])  # a box crop of zero height
    with pytest.raises(ImageFormatError, match="got None"):
        gaze.estimate(None)
    with pytest.raises(ImageFormatError, match="channels"):
        gaze.estimate(np.zeros((8, 8, 2), np.uint8))


def test_image_too_small_for_modnet(standins):
    with pytest.raises(ValueError, match="too small for MODNet"):
        make(MODNet, standins / "modnet_photographic.onnx", "onnx", input_size=16).predict(IMAGE[:20, :20])


def test_wrong_model_for_the_class(standins):
    with pytest.raises(ValueError, match="five outputs"):
        PIPNet(model_path=standins / "fairface.onnx", backend="onnx")
    with pytest.raises(ValueError, match="two outputs"):
        FaceMesh(model_path=standins / "pipnet_r18_wflw_98.onnx", backend="onnx")
    with pytest.raises(ValueError, match="three outputs"):
        FairFace(model_path=standins / "gaze_resnet34.onnx", backend="onnx")
    with pytest.raises(ValueError, match="2 outputs"):
        MobileGaze(model_path=standins / "fairface.onnx", backend="onnx")
    with pytest.raises(FileNotFoundError, match="model_path does not exist"):
        EDifFIQA(model_path=standins / "no_such_file.onnx", backend="onnx")
    with pytest.raises(TypeError, match="weights enum member"):
        EDifFIQA(model_name="ediffiqa_x", backend="onnx")  # not a slot's value
