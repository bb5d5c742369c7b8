"""Similarity-transform face alignment (ArcFace 5-point template) and box-centred crops."""

from __future__ import annotations

import cv2
import numpy as np

# ArcFace reference points for a 112x112 crop: eyes, nose tip, mouth corners.
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def umeyama(src: np.ndarray, dst: np.ndarray, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity transform (3x3) mapping `src` points onto `dst`.

    Umeyama (1991), "Least-squares estimation of transformation parameters
    between two point patterns": the SVD of the cross-covariance gives the
    rotation (with a reflection guard), the singular values the scale. This
    is the estimator scikit-image's SimilarityTransform uses, with its dtype
    behaviour: the statistics are computed in the points' own dtype (float32
    landmarks from a detector stay float32, as upstream uniface's alignment
    does), the matrix is assembled in float64. At image coordinates of ~1000
    px the two precisions give translations ~1e-4 px apart, enough to move
    a pixel of the warped crop, so the reference's precision is kept.
    """
    src, dst = np.asarray(src), np.asarray(dst)
    n, dim = src.shape
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    d = np.ones(dim, dtype=np.float64)
    if np.linalg.det(cov) < 0:
        d[-1] = -1.0
    t = np.eye(dim + 1, dtype=np.float64)
    u, s, vt = np.linalg.svd(cov)
    rank = int(np.count_nonzero(s > s.max() * max(cov.shape) * np.finfo(float).eps))
    if rank == 0:
        return np.full_like(t, np.nan)
    if rank == dim - 1:
        if np.linalg.det(u) * np.linalg.det(vt) > 0:
            t[:dim, :dim] = u @ vt
        else:
            flip = d.copy()
            flip[-1] = -1.0
            t[:dim, :dim] = u @ np.diag(flip) @ vt
    else:
        t[:dim, :dim] = u @ np.diag(d) @ vt
    scale = 1.0 / src_c.var(axis=0).sum() * (s @ d) if estimate_scale else 1.0
    t[:dim, dim] = dst_mean - scale * (t[:dim, :dim] @ src_mean.T)
    t[:dim, :dim] *= scale
    return t


def estimate_norm(landmarks: np.ndarray, image_size: int = 112) -> tuple[np.ndarray, np.ndarray]:
    """(2x3 matrix into the aligned crop, 2x3 inverse) for 5 landmarks and a crop size.

    Sizes that are multiples of 112 scale the template; multiples of 128
    scale it and shift it right by 8/128 of the size (insightface convention).
    """
    landmarks = np.asarray(landmarks)
    if landmarks.dtype.kind != "f":
        landmarks = landmarks.astype(np.float64)
    landmarks = landmarks.reshape(-1, 2)
    if landmarks.shape != (5, 2):
        raise ValueError(f"expected 5 landmarks (5, 2), got shape {landmarks.shape}")
    size = image_size[0] if isinstance(image_size, tuple) else int(image_size)
    if size % 112 == 0:
        ratio, shift = size / 112.0, 0.0
    elif size % 128 == 0:
        ratio = size / 128.0
        shift = 8.0 * ratio
    else:
        raise ValueError(f"image_size must be a multiple of 112 or 128, got {size}")
    template = ARCFACE_TEMPLATE * ratio
    template[:, 0] += shift
    t = umeyama(landmarks, template)
    return t[:2, :], np.linalg.inv(t)[:2, :]


def face_alignment(
    image: np.ndarray, landmarks: np.ndarray, image_size: int | tuple[int, int] = 112
) -> tuple[np.ndarray, np.ndarray]:
    """Warp the face to the ArcFace template; returns (aligned crop, inverse 2x3 matrix)."""
    matrix, inverse = estimate_norm(landmarks, image_size)
    out_size = image_size if isinstance(image_size, tuple) else (image_size, image_size)
    return cv2.warpAffine(image, matrix, out_size, borderValue=0.0), inverse


def bbox_center_matrix(
    center: tuple[float, float], output_size: int, scale: float, rotation: float = 0.0
) -> np.ndarray:
    """2x3 matrix: scale about the origin, move `center` to the origin, rotate (degrees), re-centre.

    The insightface crop for the attribute and 106-landmark models.
    """
    rot = np.deg2rad(float(rotation))
    c, s = np.cos(rot), np.sin(rot)
    cx, cy = center[0] * scale, center[1] * scale
    half = output_size / 2.0
    m = np.array([[scale * c, -scale * s, 0.0], [scale * s, scale * c, 0.0]])
    m[:, 2] = np.array([[c, -s], [s, c]]) @ np.array([-cx, -cy]) + half
    return m


def bbox_center_alignment(
    image: np.ndarray, center: tuple[float, float], output_size: int, scale: float, rotation: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Crop a square `output_size` patch around `center`; returns (crop, 2x3 matrix)."""
    m = bbox_center_matrix(center, output_size, scale, rotation)
    return cv2.warpAffine(image, m, (output_size, output_size), borderValue=0.0), m


def transform_points_2d(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    pts = np.asarray(points, dtype=np.float32)
    m = np.asarray(matrix, dtype=np.float32)
    return (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)
