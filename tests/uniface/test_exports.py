"""`from uniface import X` for every name upstream 4.2.1 and 1.3.1 export, and every name this package exported before."""

from __future__ import annotations

import importlib

import uniface

import pytest

# uniface 4.2.1's __all__ (its uniface/__init__.py).
UPSTREAM_4 = [
    "__author__", "__license__", "__version__", "Face", "FaceAnalyzer", "BlazeFace", "CenterFace", "RetinaFace",
    "SCRFD", "YOLOv5Face", "YOLOv8Face", "AdaFace", "ArcFace", "EdgeFace", "MobileFace", "SphereFace", "FaceMesh",
    "FaceMeshResult", "Landmark106", "PIPNet", "GazeResult", "MobileGaze", "HeadPose", "HeadPoseResult", "MODNet",
    "BiSeNet", "XSeg", "AgeGender", "DemographyResult", "Emotion", "EmotionResult", "FaceAttribNet",
    "FaceStateResult", "FairFace", "MiniFASNet", "SpoofingResult", "EDifFIQA", "QualityResult", "BYTETracker",
    "BlurFace", "FAISS", "Logger", "compute_similarity", "download_models", "enable_logging", "face_alignment",
    "get_cache_dir", "set_cache_dir", "verify_model_weights",
]  # fmt: skip

# uniface 1.3.1's __all__, plus what this package exported before 4.x support.
UPSTREAM_1 = [
    "__author__", "__license__", "__version__", "Face", "FaceAnalyzer", "create_detector", "create_landmarker",
    "create_recognizer", "detect_faces", "list_available_detectors", "RetinaFace", "SCRFD", "YOLOv5Face", "ArcFace",
    "MobileFace", "SphereFace", "Landmark106", "AgeGender", "Emotion", "compute_similarity", "draw_detections",
    "face_alignment", "verify_model_weights", "Logger", "enable_logging",
]  # fmt: skip
OURS_BEFORE = [
    "AgeGender", "AgeGenderWeights", "ArcFace", "ArcFaceWeights", "Backend", "DDAMFNWeights", "Emotion", "Face",
    "FaceAnalyzer", "Landmark106", "LandmarkWeights", "MobileFace", "MobileFaceWeights", "RetinaFace",
    "RetinaFaceWeights", "SCRFD", "SCRFDWeights", "SphereFace", "SphereFaceWeights", "YOLOv5Face",
    "YOLOv5FaceWeights", "YuNet", "YuNetWeights", "compute_similarity", "create_detector", "detect_faces",
    "draw_detections", "face_alignment", "get_backend", "list_available_detectors", "set_backend",
    "verify_model_weights",
]  # fmt: skip

# Built on other branches: the per-face predictor families (a second helper, from this branch) and the
# vector store / tracker (uniface.stores, uniface.tracking). This set must shrink to nothing as they land.
PLANNED: set[str] = set()

# Upstream 4.x modules that code imports from directly.
MODULES = [
    "uniface.analyzer", "uniface.attribute", "uniface.common", "uniface.constants", "uniface.detection",
    "uniface.draw", "uniface.face_utils", "uniface.landmark", "uniface.log", "uniface.model_store",
    "uniface.onnx_utils", "uniface.privacy", "uniface.recognition", "uniface.types", "uniface.gaze",
    "uniface.headpose", "uniface.parsing", "uniface.matting", "uniface.spoofing", "uniface.quality",
    "uniface.stores", "uniface.tracking",
    # 1.x
    "uniface.face", "uniface.visualization", "uniface.recognition.models", "uniface.landmark.models",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(set(UPSTREAM_4 + UPSTREAM_1 + OURS_BEFORE) - PLANNED))
def test_name_imports(name):
    namespace: dict = {}
    exec(f"from uniface import {name}", namespace)
    assert namespace[name] is getattr(uniface, name)


def test_planned_names_are_exactly_the_missing_ones():
    missing = {n for n in UPSTREAM_4 if not hasattr(uniface, n)}
    assert missing == PLANNED, "update PLANNED: a planned family landed, or an upstream name went missing"


@pytest.mark.parametrize("module", MODULES)
def test_module_imports(module):
    importlib.import_module(module)


def test_weight_enums_match_upstream_registry():
    """Every upstream 4.2.1 enum member is a registry slot with the upstream URL, sha256 and cache name."""
    from uniface import constants

    slots = {m for m in constants.MODEL_REGISTRY if type(m).__name__ != "YuNetWeights"}
    assert len(slots) == 63
    for member in slots:
        info = constants.MODEL_REGISTRY[member]
        assert info.url.startswith("https://github.com/yakhyo/") and len(info.sha256) == 64
        assert info.filename == member.value + info.url[info.url.rindex(".") :]
    assert constants.MODEL_REGISTRY[constants.RetinaFaceWeights.MNET_V2].sha256.startswith("3ca44c04")
    assert constants.DDAMFNWeights is constants.EmotionWeights  # 1.x name of the emotion enum
