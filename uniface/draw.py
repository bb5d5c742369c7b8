"""Drawing results onto images, with uniface 4.x's functions and look (OpenCV, in place).

`draw_detections` also takes the 1.x call forms (`uniface.visualization`):
keyword `bboxes=`/`scores=`/`landmarks=` (1.3.1) and our earlier positional
`draw_detections(image, faces)`. Every function draws into `image` and
returns it (upstream returns None for most; returning the image changes
nothing for code that ignores it).
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = [
    "FACE_PARSING_COLORS",
    "FACE_PARSING_LABELS",
    "calculate_optimal_line_thickness",
    "calculate_optimal_text_scale",
    "draw_corner_bbox",
    "draw_detections",
    "draw_gaze",
    "draw_head_pose",
    "draw_head_pose_axis",
    "draw_head_pose_cube",
    "draw_mesh",
    "draw_quality_score",
    "draw_text_label",
    "draw_tracks",
    "vis_parsing_maps",
]

# The 19 CelebAMask-HQ face parsing classes and their colours (BGR), as upstream shows them.
FACE_PARSING_LABELS = [
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
    "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
]  # fmt: skip
FACE_PARSING_COLORS = [
    [0, 0, 0], [0, 85, 255], [0, 170, 255], [85, 0, 255], [170, 0, 255], [0, 255, 0], [0, 255, 85],
    [0, 255, 170], [85, 255, 0], [170, 255, 0], [255, 0, 0], [255, 0, 85], [255, 0, 170], [255, 85, 0],
    [255, 170, 0], [0, 255, 255], [85, 255, 255], [170, 255, 255], [255, 0, 255],
]  # fmt: skip

# One colour per 5-point landmark (BGR): the two eyes, nose, the two mouth corners.
LANDMARK_COLORS = ((0, 0, 255), (0, 255, 255), (255, 0, 255), (0, 255, 0), (255, 0, 0))
GREEN, RED, BLUE, WHITE, BLACK = (0, 255, 0), (0, 0, 255), (255, 0, 0), (255, 255, 255), (0, 0, 0)
IRIS_COLOR = (60, 60, 255)
UNTRACKED_COLOR = (128, 128, 128)


def _line_thickness(image: np.ndarray) -> int:
    return calculate_optimal_line_thickness(image.shape[1::-1])


def _label_scale(y_min: float, y_max: float) -> float:
    """Label font scale from the box height, clamped to [0.4, 0.7]."""
    return max(0.4, min(0.7, (y_max - y_min) / 200))


def track_color(track_id: int) -> tuple[int, int, int]:
    """A distinct BGR colour per id: golden-ratio hue steps at saturation 0.85, value 0.95."""
    r, g, b = colorsys.hsv_to_rgb((track_id * 0.618033988749895) % 1.0, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def calculate_optimal_line_thickness(resolution_wh: tuple[int, int]) -> int:
    """Line thickness for an image of (width, height): 0.3% of the mean side, at least 2."""
    return max(round(sum(resolution_wh) / 2 * 0.003), 2)


def calculate_optimal_text_scale(resolution_wh: tuple[int, int]) -> float:
    """Font scale for an image of (width, height): 1/1000 of the shorter side."""
    return min(resolution_wh) * 1e-3


def draw_corner_bbox(
    image: np.ndarray,
    bbox: Sequence[float],
    color: tuple[int, int, int] = GREEN,
    thickness: int = 3,
    proportion: float = 0.2,
) -> np.ndarray:
    """A thin rectangle with thick corner brackets `proportion` of the shorter side long."""
    x1, y1, x2, y2 = map(int, bbox[:4])
    length = int(proportion * min(x2 - x1, y2 - y1))
    cv2.rectangle(image, (x1, y1), (x2, y2), color, 1)
    for cx, cy, dx, dy in ((x1, y1, 1, 1), (x2, y1, -1, 1), (x1, y2, 1, -1), (x2, y2, -1, -1)):
        cv2.line(image, (cx, cy), (cx + dx * length, cy), color, thickness)
        cv2.line(image, (cx, cy), (cx, cy + dy * length), color, thickness)
    return image


def draw_text_label(
    image: np.ndarray,
    text: str,
    x: int,
    y: int,
    bg_color: tuple[int, int, int],
    text_color: tuple[int, int, int] = WHITE,
    font_scale: float = 0.5,
    font_thickness: int = 2,
    padding: int = 5,
) -> np.ndarray:
    """Text on a filled box whose bottom-left corner is (x, y), e.g. just above a face box."""
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, font_thickness)
    cv2.rectangle(image, (x, y - th - baseline - 2 * padding), (x + tw + 2 * padding, y), bg_color, -1)
    cv2.putText(
        image, text, (x + padding, y - padding), cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_color, font_thickness
    )
    return image


def _box(image: np.ndarray, bbox: Any, color: tuple[int, int, int], thickness: int, corner: bool) -> None:
    if corner:
        draw_corner_bbox(image, bbox, color=color, thickness=thickness, proportion=0.2)
    else:
        x1, y1, x2, y2 = map(int, bbox[:4])
        cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)


def _points(image: np.ndarray, landmarks: Any, radius: int) -> None:
    for j, (px, py) in enumerate(np.asarray(landmarks, dtype=np.int32).reshape(-1, 2)):
        cv2.circle(image, (int(px), int(py)), radius, LANDMARK_COLORS[j % len(LANDMARK_COLORS)], -1)


def _field(face: Any, name: str) -> Any:
    if isinstance(face, dict):
        return face.get(name)
    return getattr(face, name, None)


def draw_detections(
    *args: Any,
    image: np.ndarray | None = None,
    faces: Sequence[Any] | None = None,
    bboxes: Sequence[Any] | None = None,
    scores: Sequence[float] | None = None,
    landmarks: Sequence[Any] | None = None,
    vis_threshold: float = 0.6,
    draw_score: bool = False,
    corner_bbox: bool = True,
    fancy_bbox: bool | None = None,
) -> np.ndarray:
    """Boxes, 5-point landmarks and (optionally) scores of faces at or above `vis_threshold`.

    4.x: `draw_detections(image=img, faces=faces)` or with `bboxes=`,
    `scores=`, `landmarks=`. 1.x: the same keywords (`fancy_bbox` is 1.x's
    name for `corner_bbox`), or positionally `draw_detections(img, faces)` /
    `draw_detections(img, bboxes, scores, landmarks, vis_threshold)`.
    `faces` may be `Face` objects or 1.x detection dicts.
    """
    if args:
        names = ("image", "faces", "scores", "landmarks", "vis_threshold")
        given = dict(zip(names, args))
        if len(args) > len(names):
            raise TypeError(f"draw_detections takes at most {len(names)} positional arguments")
        image = given.get("image", image)
        if "scores" in given:  # the (image, bboxes, scores, landmarks, ...) form
            bboxes, scores = given["faces"], given["scores"]
            landmarks = given.get("landmarks", landmarks)
        elif "faces" in given:
            faces = given["faces"]
        vis_threshold = given.get("vis_threshold", vis_threshold)
    if image is None:
        raise TypeError("draw_detections needs an image")
    if fancy_bbox is not None:
        corner_bbox = fancy_bbox
    if faces is not None:
        bboxes = [_field(f, "bbox") for f in faces]
        scores = [_field(f, "confidence") for f in faces]
        landmarks = [_field(f, "landmarks") for f in faces]
    elif bboxes is None or scores is None:
        raise ValueError("provide faces, or bboxes and scores (and landmarks)")
    if landmarks is None:
        landmarks = [None] * len(bboxes)
    thickness = _line_thickness(image)
    for bbox, score, points in zip(bboxes, scores, landmarks):
        if score < vis_threshold:
            continue
        box = np.asarray(bbox, dtype=np.int32)
        _box(image, box, GREEN, thickness, corner_bbox)
        if draw_score:
            draw_text_label(image, f"{score:.2f}", int(box[0]), int(box[1]), GREEN, BLACK, _label_scale(box[1], box[3]))
        if points is not None:
            _points(image, points, thickness + 1)
    return image


def draw_tracks(
    *, image: np.ndarray, faces: Sequence[Any], draw_landmarks: bool = True, draw_id: bool = True,
    corner_bbox: bool = True,
) -> np.ndarray:  # fmt: skip
    """Tracked faces in one colour per `track_id` (grey without one), labelled 'ID:n'."""
    thickness = _line_thickness(image)
    for face in faces:
        box = np.asarray(_field(face, "bbox"), dtype=np.int32)
        track_id = _field(face, "track_id")
        color = track_color(track_id) if track_id is not None else UNTRACKED_COLOR
        _box(image, box, color, thickness, corner_bbox)
        if draw_id and track_id is not None:
            draw_text_label(
                image, f"ID:{track_id}", int(box[0]), int(box[1]), color, WHITE, _label_scale(box[1], box[3])
            )
        points = _field(face, "landmarks")
        if draw_landmarks and points is not None:
            _points(image, points, thickness + 1)
    return image


def draw_gaze(
    image: np.ndarray,
    bbox: Sequence[float],
    pitch: float,
    yaw: float,
    *,
    draw_bbox: bool = True,
    corner_bbox: bool = True,
    draw_angles: bool = True,
) -> np.ndarray:
    """An arrow from the box centre along the gaze (radians), its length the box width."""
    x_min, y_min, x_max, y_max = map(int, bbox[:4])
    thickness = _line_thickness(image)
    if draw_bbox:
        _box(image, bbox, GREEN, thickness, corner_bbox)
    cx, cy = (x_min + x_max) // 2, (y_min + y_max) // 2
    length = x_max - x_min
    dx = int(-length * np.sin(yaw) * np.cos(pitch))
    dy = int(-length * np.sin(pitch))
    cv2.circle(image, (cx, cy), radius=max(thickness + 1, 4), color=RED, thickness=-1)
    cv2.arrowedLine(image, (cx, cy), (cx + dx, cy + dy), color=RED, thickness=thickness, line_type=cv2.LINE_AA, tipLength=0.25)  # fmt: skip
    if draw_angles:
        text = f"P:{np.degrees(pitch):.0f}deg Y:{np.degrees(yaw):.0f}deg"
        draw_text_label(image, text, x_min, y_min, RED, WHITE, _label_scale(y_min, y_max))
    return image


def _pose_axes(pitch: float, yaw: float, roll: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image-plane projections of the head's x, y and z axes (unit length) for angles in degrees."""
    y, p, r = np.radians([-yaw, pitch, roll])
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    ex = np.array([cy * cr, cp * sr + cr * sp * sy])
    ey = np.array([-cy * sr, cp * cr - sp * sy * sr])
    ez = np.array([sy, -cy * sp])
    return ex, ey, ez


def draw_head_pose_cube(
    image: np.ndarray, bbox: Sequence[float], pitch: float, yaw: float, roll: float, size: int | None = None
) -> np.ndarray:
    """A wireframe cube on the face: front face red, back face green, edges blue (angles in degrees)."""
    x_min, y_min, x_max, y_max = map(int, bbox[:4])
    half = (x_max - x_min if size is None else size) * 0.5
    ex, ey, ez = _pose_axes(pitch, yaw, roll)
    center = np.array([(x_min + x_max) * 0.5, (y_min + y_max) * 0.5])

    def corner(sx: int, sy: int, sz: int) -> tuple[int, int]:
        v = center + half * (sx * ex + sy * ey + sz * ez)
        return int(v[0]), int(v[1])

    square = ((-1, -1), (1, -1), (1, 1), (-1, 1))
    front = [corner(sx, sy, -1) for sx, sy in square]
    back = [corner(sx, sy, 1) for sx, sy in square]
    for pts, color in ((front, RED), (back, GREEN)):
        for i in range(4):
            cv2.line(image, pts[i], pts[(i + 1) % 4], color, 2)
    for f, b in zip(front, back):
        cv2.line(image, f, b, BLUE, 2)
    return image


def draw_head_pose_axis(
    image: np.ndarray, bbox: Sequence[float], pitch: float, yaw: float, roll: float, size_ratio: float = 0.5
) -> np.ndarray:
    """The head's x (red), y (green) and z (blue) axes from the box centre (angles in degrees)."""
    x_min, y_min, x_max, y_max = map(int, bbox[:4])
    tdx, tdy = int(x_min + (x_max - x_min) * 0.5), int(y_min + (y_max - y_min) * 0.5)
    size = min(x_max - x_min, y_max - y_min) * size_ratio
    for axis, color in zip(_pose_axes(pitch, yaw, roll), (RED, GREEN, BLUE)):
        cv2.line(image, (tdx, tdy), (int(size * axis[0] + tdx), int(size * axis[1] + tdy)), color, 2)
    return image


def draw_head_pose(
    image: np.ndarray,
    bbox: Sequence[float],
    pitch: float,
    yaw: float,
    roll: float,
    *,
    draw_type: str = "cube",
    draw_bbox: bool = False,
    corner_bbox: bool = True,
    draw_angles: bool = True,
) -> np.ndarray:
    """Head pose as a cube (`draw_type='cube'`) or axes ('axis'), optionally with the box and the angles."""
    x_min, y_min, x_max, y_max = map(int, bbox[:4])
    if draw_bbox:
        _box(image, np.asarray(bbox), GREEN, _line_thickness(image), corner_bbox)
    box = [x_min, y_min, x_max, y_max]
    if draw_type == "axis":
        draw_head_pose_axis(image, box, pitch, yaw, roll)
    else:
        draw_head_pose_cube(image, box, pitch, yaw, roll)
    if draw_angles:
        text = f"P:{pitch:.0f} Y:{yaw:.0f} R:{roll:.0f}"
        draw_text_label(image, text, x_min, y_min, RED, WHITE, _label_scale(y_min, y_max))
    return image


def draw_quality_score(
    image: np.ndarray,
    bbox: Sequence[float],
    score: float,
    *,
    draw_bbox: bool = True,
    corner_bbox: bool = True,
    low_threshold: float = 0.3,
    high_threshold: float = 0.6,
) -> np.ndarray:
    """The quality score 'Q:0.xx', red below `low_threshold`, orange below `high_threshold`, green above."""
    x_min, y_min, x_max, y_max = map(int, bbox[:4])
    color = RED if score < low_threshold else (0, 165, 255) if score < high_threshold else GREEN
    if draw_bbox:
        _box(image, bbox, color, _line_thickness(image), corner_bbox)
    draw_text_label(image, f"Q:{score:.2f}", x_min, y_min, color, WHITE, _label_scale(y_min, y_max))
    return image


def draw_mesh(
    image: np.ndarray,
    landmarks: np.ndarray,
    *,
    mode: str = "partial",
    color: tuple[int, int, int] = GREEN,
    point_color: tuple[int, int, int] = (0, 220, 255),
    point_radius: int | None = None,
) -> np.ndarray:
    """A dense face mesh (468 or 478 points): 'partial' contours and points, 'full' tessellation, or 'points'.

    The tessellation tables come from `uniface.landmark` (the FaceMesh family).
    """
    if mode not in ("full", "partial", "points"):
        raise ValueError(f"mode must be 'full', 'partial' or 'points', got {mode!r}")
    try:
        from .landmark import (
            FACEMESH_TESSELATION_FULL,
            FACEMESH_TESSELATION_PARTIAL,
            IRIS_LEFT,
            IRIS_RIGHT,
            NUM_MESH_LANDMARKS,
        )
    except ImportError as exc:
        raise ImportError("draw_mesh needs the FaceMesh tessellation tables in uniface.landmark") from exc
    points = np.rint(np.asarray(landmarks)[:, :2]).astype(np.int32)
    mesh = points[:NUM_MESH_LANDMARKS]
    radius = point_radius if point_radius is not None else max(1, round((mesh[:, 1].max() - mesh[:, 1].min()) / 120))
    if mode != "points":
        for a, b in FACEMESH_TESSELATION_FULL if mode == "full" else FACEMESH_TESSELATION_PARTIAL:
            cv2.line(image, points[a], points[b], color, 1, cv2.LINE_AA)
    if mode != "full":
        for x, y in mesh:
            cv2.circle(image, (int(x), int(y)), radius, point_color, -1, cv2.LINE_AA)
    for iris in (points[IRIS_LEFT], points[IRIS_RIGHT]):
        if len(iris) == 0:
            continue
        iris_radius = round(float(np.linalg.norm(iris[1:] - iris[0], axis=1).mean()))
        cv2.circle(image, iris[0], max(iris_radius, 1), IRIS_COLOR, 1, cv2.LINE_AA)
        for x, y in iris:
            cv2.circle(image, (int(x), int(y)), max(radius, 2), IRIS_COLOR, -1, cv2.LINE_AA)
    return image


def vis_parsing_maps(
    image: np.ndarray, segmentation_mask: np.ndarray, *, save_image: bool = False, save_path: str = "result.png"
) -> np.ndarray:
    """The image blended 60/40 with the parsing classes' colours (unknown classes black); a new array."""
    image = np.array(image).astype(np.uint8)
    mask = np.asarray(segmentation_mask).astype(np.uint8)
    palette = np.zeros((max(int(mask.max()) + 1, len(FACE_PARSING_COLORS)), 3), dtype=np.uint8)
    palette[: len(FACE_PARSING_COLORS)] = FACE_PARSING_COLORS
    blended = cv2.addWeighted(image, 0.6, palette[mask], 0.4, 0)
    if save_image:
        cv2.imwrite(save_path, blended, [int(cv2.IMWRITE_JPEG_QUALITY), 100])
    return blended
