"""Upstream uniface 4.x usage examples for the per-face families, run as written with local weights.

The snippets are quoted from upstream's documentation (yakhyo/uniface
docs/modules/*.md at the commits noted) and from the usage examples in the
4.2.1 class docstrings; only the drawing helpers (uniface.draw, another
part of the facade) and camera loops are left out. Weights reach the code
the way they reach a user, through the cache folder under 4.x's file names:
the real detectors and MiniFASNet files from ../shared, stand-ins for the
rest (symlinks; nothing is copied).
"""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pytest

from .conftest import IMAGES, MODELS, need_shared

# cache file (4.x name) -> (origin, file)
CACHE = {
    "retinaface_mnet_v2.onnx": ("shared", "retinaface_mnet025_biubug6.onnx"),
    "scrfd_10g.onnx": ("shared", "scrfd_500m_kps.onnx"),
    "minifasnet_v2.onnx": ("shared", "MiniFASNetV2.onnx"),
    "minifasnet_v1se.onnx": ("shared", "MiniFASNetV1SE.onnx"),
    "2d_106.onnx": ("standin", "2d106det.onnx"),
    "pipnet_r18_wflw_98.onnx": ("standin", "pipnet_r18_wflw_98.onnx"),
    "pipnet_r18_300w_celeba_68.onnx": ("standin", "pipnet_r18_300w_celeba_68.onnx"),
    "face_mesh.onnx": ("standin", "face_mesh.onnx"),
    "face_landmarker.onnx": ("standin", "face_landmarker.onnx"),
    "fairface.onnx": ("standin", "fairface.onnx"),
    "face_attrib_net.onnx": ("standin", "face_attrib_net.onnx"),
    "affecnet7.onnx": ("standin", "affecnet7.onnx"),
    "gaze_resnet34.onnx": ("standin", "gaze_resnet34.onnx"),
    "headpose_resnet18.onnx": ("standin", "headpose_resnet18.onnx"),
    "parsing_resnet18.onnx": ("standin", "parsing_resnet18.onnx"),
    "xseg.onnx": ("standin", "xseg.onnx"),
    "modnet_photographic.onnx": ("standin", "modnet_photographic.onnx"),
    "modnet_webcam.onnx": ("standin", "modnet_photographic.onnx"),
    "ediffiqa_t.onnx": ("standin", "ediffiqa_t.onnx"),
}


@pytest.fixture
def user_cache(tmp_path, monkeypatch, standins):
    need_shared()
    cache = tmp_path / "models"
    cache.mkdir()
    for name, (origin, file) in CACHE.items():
        (cache / name).symlink_to((MODELS if origin == "shared" else standins) / file)
    monkeypatch.setenv("UNIFACE_CACHE_DIR", str(cache))
    monkeypatch.setenv("UNIFACE_BACKEND", "mlx")
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(IMAGES / "yolov5face_zidane.jpg", tmp_path / "photo.jpg")
    shutil.copyfile(IMAGES / "lfw_Rob_Lowe_0001.jpg", tmp_path / "face.jpg")
    return cache


def run(code: str, **namespace) -> dict:
    namespace.setdefault("__name__", "example")
    exec(compile(textwrap.dedent(code), "example", "exec"), namespace)
    return namespace


def photo():
    import cv2

    return cv2.imread(str(IMAGES / "yolov5face_zidane.jpg"))


# docs/modules/landmarks.md @ 03d75bec, "PIPNet (98 / 68 points)"
PIPNET = """
from uniface.detection import RetinaFace
from uniface.landmark import PIPNet

detector = RetinaFace()
landmarker = PIPNet()  # Default: 98 points (WFLW)

faces = detector.detect(image)
if faces:
    landmarks = landmarker.get_landmarks(image, faces[0].bbox)
    print(f"Landmarks shape: {landmarks.shape}")  # (98, 2)
"""
PIPNET_68 = """
from uniface.constants import PIPNetWeights
from uniface.landmark import PIPNet

landmarker = PIPNet(model_name=PIPNetWeights.DW300_CELEBA_68)
landmarks = landmarker.get_landmarks(image, face.bbox)
print(landmarks.shape)  # (68, 2)
"""


def test_landmark_examples(user_cache, capsys):
    ns = run(PIPNET, image=photo())
    assert "Landmarks shape: (98, 2)" in capsys.readouterr().out
    run(PIPNET_68, image=ns["image"], face=ns["faces"][0])
    assert capsys.readouterr().out.strip() == "(68, 2)"


# uniface 4.2.1 FaceMesh class docstring (uniface/landmark/facemesh.py)
FACEMESH = """
from uniface import SCRFD, FaceMesh
from uniface.constants import FaceMeshWeights

detector, mesher = SCRFD(), FaceMesh()
faces = detector.detect(image)
results = mesher.predict(image, faces)
print(results[0].landmarks.shape)
print(mesher.get_landmarks(image, faces[0].bbox).shape)

from uniface.landmark import IRIS_LEFT
iris_mesher = FaceMesh(model_name=FaceMeshWeights.V2_478)
print(iris_mesher.predict(image, faces)[0].landmarks[IRIS_LEFT].shape)
"""


def test_facemesh_example(user_cache, capsys):
    run(FACEMESH, image=photo())
    assert capsys.readouterr().out.split("\n")[:3] == ["(468, 3)", "(468, 2)", "(5, 3)"]


# docs/modules/attributes.md @ 03d75bec, "FairFace" and "Emotion"
FAIRFACE = """
from uniface.attribute import FairFace
from uniface.detection import RetinaFace

detector = RetinaFace()
fairface = FairFace()

faces = detector.detect(image)

for face in faces:
    result = fairface.predict(image, face)
    print(f"Gender: {result.sex}")
    print(f"Age Group: {result.age_group}")
    print(f"Race: {result.race}")
    # face.gender, face.age_group, face.race are also set automatically
"""
EMOTION = """
from uniface.detection import RetinaFace
from uniface.attribute import Emotion
from uniface.constants import DDAMFNWeights

detector = RetinaFace()
emotion = Emotion(model_name=DDAMFNWeights.AFFECNET7)

faces = detector.detect(image)

for face in faces:
    result = emotion.predict(image, face)
    print(f"Emotion: {result.emotion}")
    print(f"Confidence: {result.confidence:.2%}")
"""


def test_attribute_examples(user_cache, capsys):
    ns = run(FAIRFACE, image=photo())
    out = capsys.readouterr().out
    assert len(ns["faces"]) >= 2 and out.count("Race: ") == len(ns["faces"])
    assert all(face.race is not None and face.age_group is not None for face in ns["faces"])
    ns = run(EMOTION, image=photo())
    out = capsys.readouterr().out
    assert out.count("Emotion: ") == len(ns["faces"]) and all(f.emotion for f in ns["faces"])


# docs/modules/gaze.md @ 10755529 "Basic Usage" and "Attention Detection"; docs/modules/headpose.md @ 446e3629
GAZE = """
import cv2
import numpy as np
from uniface.detection import RetinaFace
from uniface.gaze import MobileGaze

detector = RetinaFace()
gaze_estimator = MobileGaze()

image = cv2.imread("photo.jpg")
faces = detector.detect(image)

for face in faces:
    # Crop face
    x1, y1, x2, y2 = map(int, face.bbox)
    face_crop = image[y1:y2, x1:x2]

    if face_crop.size > 0:
        # Estimate gaze
        result = gaze_estimator.estimate(face_crop)

        # Convert to degrees
        pitch_deg = np.degrees(result.pitch)
        yaw_deg = np.degrees(result.yaw)

        print(f"Pitch: {pitch_deg:.1f}°, Yaw: {yaw_deg:.1f}°")

def is_looking_at_camera(result, threshold=15):
    pitch_deg = abs(np.degrees(result.pitch))
    yaw_deg = abs(np.degrees(result.yaw))

    return pitch_deg < threshold and yaw_deg < threshold
"""
HEADPOSE = """
import cv2
from uniface.detection import RetinaFace
from uniface.headpose import HeadPose

detector = RetinaFace()
head_pose = HeadPose()

image = cv2.imread("photo.jpg")
faces = detector.detect(image)

for face in faces:
    # Crop face
    x1, y1, x2, y2 = map(int, face.bbox)
    face_crop = image[y1:y2, x1:x2]

    if face_crop.size > 0:
        # Estimate head pose
        result = head_pose.estimate(face_crop)
        print(f"Pitch: {result.pitch:.1f}°, Yaw: {result.yaw:.1f}°, Roll: {result.roll:.1f}°")
"""


def test_pose_examples(user_cache, capsys):
    ns = run(GAZE)
    assert capsys.readouterr().out.count("Pitch: ") == len(ns["faces"]) >= 2
    assert isinstance(ns["is_looking_at_camera"](ns["result"]), (bool, np.bool_))
    ns = run(HEADPOSE)
    assert capsys.readouterr().out.count("Roll: ") == len(ns["faces"])


# uniface 4.2.1 BiSeNet and XSeg class docstrings (uniface/parsing/bisenet.py, xseg.py)
PARSING = """
from uniface.parsing import BiSeNet, XSeg
from uniface import RetinaFace

detector = RetinaFace()
parser = BiSeNet()

faces = detector.detect(image)
for face in faces:
    bbox = face.bbox
    x1, y1, x2, y2 = map(int, bbox[:4])
    face_crop = image[y1:y2, x1:x2]
    mask = parser.parse(face_crop)
    print(f'Mask shape: {mask.shape}, unique classes: {np.unique(mask)}')
    print(f'Output type: {parser.mask_type}')  # "class_ids"

parser = XSeg()
for face in faces:
    if face.landmarks is not None:
        mask = parser.parse(image, landmarks=face.landmarks)
        print(f'Mask shape: {mask.shape}')
        print(f'Output type: {parser.mask_type}')  # "probability"
"""


def test_parsing_examples(user_cache, capsys):
    image = photo()
    ns = run(PARSING, image=image, np=np)
    out = capsys.readouterr().out
    assert out.count("class_ids") == out.count("probability") == len(ns["faces"]) >= 2
    assert f"Mask shape: {image.shape[:2]}" in out


# docs/modules/matting.md @ 03d75bec, "Basic Usage", "Green Screen", "Model Variants" (webcam by value)
MATTING = """
import cv2
from uniface.matting import MODNet

matting = MODNet()

image = cv2.imread("photo.jpg")
matte = matting.predict(image)

print(f"Matte shape: {matte.shape}")   # (H, W)
print(f"Matte dtype: {matte.dtype}")   # float32
print(f"Matte range: [{matte.min():.2f}, {matte.max():.2f}]")  # [0, 1]

import numpy as np

matte_3ch = matte[:, :, np.newaxis]
bg = np.full_like(image, (0, 177, 64), dtype=np.uint8)
green = (image * matte_3ch + bg * (1 - matte_3ch)).astype(np.uint8)
cv2.imwrite("green_screen.jpg", green)

from uniface.constants import MODNetWeights

matting = MODNet(model_name=MODNetWeights.WEBCAM)
matting = MODNet(input_size=256)
matting = MODNet(model_name="modnet_webcam")
"""


def test_matting_examples(user_cache, capsys, tmp_path):
    ns = run(MATTING)
    out = capsys.readouterr().out
    assert "Matte shape: (720, 1280)" in out and "Matte dtype: float32" in out
    assert (tmp_path / "green_screen.jpg").is_file()
    assert ns["matting"].model_name == ns["MODNetWeights"].WEBCAM


# docs/modules/spoofing.md @ 10755529, "Basic Usage" and "Model Variants"
SPOOFING = """
import cv2
from uniface.detection import RetinaFace
from uniface.spoofing import MiniFASNet

detector = RetinaFace()
spoofer = MiniFASNet()

image = cv2.imread("photo.jpg")
faces = detector.detect(image)

for face in faces:
    result = spoofer.predict(image, face.bbox)

    label = "Real" if result.is_real else "Fake"
    print(f"{label}: {result.confidence:.1%}")

from uniface.constants import MiniFASNetWeights

spoofer = MiniFASNet(model_name=MiniFASNetWeights.V1SE)
"""


def test_spoofing_example(user_cache, capsys):
    ns = run(SPOOFING)
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == len(ns["faces"]) >= 2 and all(line.startswith(("Real: ", "Fake: ")) for line in lines)
    assert ns["spoofer"].scale == 4.0


# docs/modules/quality.md @ 03d75bec, "Basic Usage"
QUALITY = """
import cv2
from uniface.detection import SCRFD
from uniface.quality import EDifFIQA

# Lower SCRFD's confidence threshold so quality scoring sees every plausible
# face — including the low-confidence ones that quality scoring is meant to flag.
detector = SCRFD(confidence_threshold=0.3)
quality = EDifFIQA()

image = cv2.imread("photo.jpg")
faces = detector.detect(image)

for face in faces:
    result = quality.predict(image, face.landmarks)
    print(f"Quality: {result.score:.4f}")
"""


def test_quality_example(user_cache, capsys):
    import cv2

    ns = run(QUALITY)
    assert capsys.readouterr().out.count("Quality: ") == len(ns["faces"]) >= 2
    aligned_face = cv2.imread(str(IMAGES / "facerec_aligned_a_01.jpg"))
    result = run("result = quality.score_aligned(aligned_face)", quality=ns["quality"], aligned_face=aligned_face)[
        "result"
    ]
    assert isinstance(result.score, float)
