"""uniface-compatible face analysis on MLX translations of the upstream ONNX models.

One package for code written against uniface 1.x and 4.x:

    from uniface import RetinaFace, ArcFace, compute_similarity     # both generations
    faces = RetinaFace().detect(image)
    faces[0]['bbox'], faces[0].bbox                                  # 1.x dict reads and 4.x attributes

Backend: MLX by default where it imports, onnxruntime otherwise; override with
`UNIFACE_BACKEND=mlx|onnx`, `uniface.backend.set_backend()` or `backend=`.
Weights: downloaded on first use into `UNIFACE_CACHE_DIR` (default
~/.uniface/models), or passed as `model_path=`.
"""

from __future__ import annotations

from . import draw as draw  # uniface.draw, as in upstream 4.x
from .analyzer import FaceAnalyzer
from .attribute import AgeGender, Emotion, FaceAttribNet, FairFace
from .backend import Backend, get_backend, set_backend
from .constants import (
    AdaFaceWeights,
    AgeGenderWeights,
    ArcFaceWeights,
    BlazeFaceWeights,
    CenterFaceWeights,
    DDAMFNWeights,
    EdgeFaceWeights,
    EmotionWeights,
    LandmarkWeights,
    MobileFaceWeights,
    RetinaFaceWeights,
    SCRFDWeights,
    SphereFaceWeights,
    YOLOv5FaceWeights,
    YOLOv8FaceWeights,
    YuNetWeights,
)
from .detection import (
    SCRFD,
    BlazeFace,
    CenterFace,
    RetinaFace,
    YOLOv5Face,
    YOLOv8Face,
    YuNet,
    create_detector,
    detect_faces,
    list_available_detectors,
)
from .face_utils import compute_similarity, face_alignment
from .gaze import MobileGaze
from .headpose import HeadPose
from .landmark import FaceMesh, Landmark106, PIPNet, create_landmarker
from .log import Logger, enable_logging
from .matting import MODNet, RobustVideoMatting
from .model_store import download_models, get_cache_dir, set_cache_dir, verify_model_weights
from .parsing import BiSeNet, XSeg
from .privacy import BlurFace, anonymize_faces
from .quality import EDifFIQA
from .recognition import AdaFace, ArcFace, EdgeFace, MobileFace, SphereFace, create_recognizer
from .spoofing import MiniFASNet
from .stores import FAISS
from .tracking import BYTETracker
from .types import (
    DemographyResult,
    EmotionResult,
    Face,
    FaceMeshResult,
    FaceStateResult,
    GazeResult,
    HeadPoseResult,
    QualityResult,
    SpoofingResult,
)
from .visualization import draw_detections

__version__ = "0.1.0"
__author__ = "mlx-uniface contributors"
__license__ = "MIT"

__all__ = [
    "AdaFace", "AdaFaceWeights", "AgeGender", "AgeGenderWeights", "ArcFace", "ArcFaceWeights", "Backend",
    "BlazeFace", "BlazeFaceWeights", "BlurFace", "CenterFace", "CenterFaceWeights", "DDAMFNWeights", "DemographyResult",
    "EdgeFace", "EdgeFaceWeights", "Emotion", "EmotionResult", "EmotionWeights", "Face", "FaceAnalyzer",
    "FaceMeshResult", "FaceStateResult", "GazeResult", "HeadPoseResult", "Landmark106", "LandmarkWeights", "Logger",
    "MobileFace", "MobileFaceWeights", "QualityResult", "RetinaFace", "RetinaFaceWeights", "SCRFD", "SCRFDWeights",
    "SphereFace", "SphereFaceWeights", "SpoofingResult", "YOLOv5Face", "YOLOv5FaceWeights", "YOLOv8Face",
    "YOLOv8FaceWeights", "YuNet", "YuNetWeights", "__author__", "__license__", "__version__", "anonymize_faces", "compute_similarity",
    "create_detector", "create_landmarker", "create_recognizer", "detect_faces", "download_models",
    "draw_detections", "enable_logging", "face_alignment", "get_backend", "get_cache_dir", "list_available_detectors",
    "set_backend", "set_cache_dir", "verify_model_weights",
    # the 4.x per-face families
    "BiSeNet", "EDifFIQA", "FaceAttribNet", "FaceMesh", "FairFace", "HeadPose", "MODNet", "MiniFASNet", "MobileGaze",
    "PIPNet", "RobustVideoMatting", "XSeg",
    # search and video
    "BYTETracker", "FAISS",
]  # fmt: skip
