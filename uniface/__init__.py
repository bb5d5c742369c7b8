"""uniface-compatible face analysis running on MLX translations of the upstream ONNX models.

    from uniface import RetinaFace, ArcFace, compute_similarity

Backend: MLX by default where it imports, onnxruntime otherwise; override with
`UNIFACE_BACKEND=mlx|onnx` or `uniface.backend.set_backend()`.
Weights: downloaded on first use into `UNIFACE_CACHE_DIR` (default
~/.uniface/models), or passed as `model_path=`.
"""

from __future__ import annotations

from .analyzer import FaceAnalyzer
from .attribute import AgeGender, Emotion
from .backend import Backend, get_backend, set_backend
from .constants import (
    AgeGenderWeights,
    ArcFaceWeights,
    DDAMFNWeights,
    LandmarkWeights,
    MobileFaceWeights,
    RetinaFaceWeights,
    SCRFDWeights,
    SphereFaceWeights,
    YOLOv5FaceWeights,
    YuNetWeights,
)
from .detection import SCRFD, RetinaFace, YOLOv5Face, YuNet, create_detector, detect_faces, list_available_detectors
from .face import Face
from .face_utils import compute_similarity, face_alignment
from .landmark import Landmark106
from .model_store import verify_model_weights
from .recognition import ArcFace, MobileFace, SphereFace
from .visualization import draw_detections

__version__ = "0.1.0"

__all__ = [
    "AgeGender", "AgeGenderWeights", "ArcFace", "ArcFaceWeights", "Backend", "DDAMFNWeights", "Emotion", "Face",
    "FaceAnalyzer", "Landmark106", "LandmarkWeights", "MobileFace", "MobileFaceWeights", "RetinaFace",
    "RetinaFaceWeights", "SCRFD", "SCRFDWeights", "SphereFace", "SphereFaceWeights", "YOLOv5Face",
    "YOLOv5FaceWeights", "YuNet", "YuNetWeights", "compute_similarity", "create_detector", "detect_faces",
    "draw_detections", "face_alignment", "get_backend", "list_available_detectors", "set_backend",
    "verify_model_weights",
]  # fmt: skip
