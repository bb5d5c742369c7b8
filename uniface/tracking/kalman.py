"""Constant-velocity Kalman filter over boxes as (centre x, centre y, aspect w/h, height), vectorized over tracks.

The state is those four plus their velocities. Process and measurement
noise scale with the box height (a big face moves more pixels per frame
than a small one), the usual choice in SORT-family trackers.
"""

from __future__ import annotations

import numpy as np

POSITION_NOISE = 1.0 / 20  # std of position noise, as a fraction of the box height
VELOCITY_NOISE = 1.0 / 160  # std of velocity noise, as a fraction of the box height
ASPECT_NOISE = 1e-2
ASPECT_VELOCITY_NOISE = 1e-5
ASPECT_MEASUREMENT_NOISE = 1e-1


class BoxKalmanFilter:
    """`initiate`, `predict`, `update` on arrays: means [N, 8], covariances [N, 8, 8], measurements [N, 4]."""

    def __init__(self) -> None:
        self.transition = np.eye(8)
        self.transition[:4, 4:] = np.eye(4)  # x_{t+1} = x_t + v_t (one frame per step)
        self.observation = np.eye(4, 8)

    @staticmethod
    def _stds(height: np.ndarray, position: float, aspect: float) -> np.ndarray:
        """[N, 4] standard deviations for (x, y, a, h) given each box's height."""
        h = np.asarray(height, dtype=np.float64)
        return np.stack([position * h, position * h, np.full_like(h, aspect), position * h], axis=-1)

    def initiate(self, measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.atleast_2d(np.asarray(measurements, dtype=np.float64))
        means = np.concatenate([z, np.zeros_like(z)], axis=1)
        h = z[:, 3]
        std = np.concatenate(
            [
                self._stds(h, 2 * POSITION_NOISE, ASPECT_NOISE),
                self._stds(h, 10 * VELOCITY_NOISE, ASPECT_VELOCITY_NOISE),
            ],
            axis=1,
        )
        return means, _diag(std**2)

    def predict(self, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = means[:, 3]
        std = np.concatenate(
            [self._stds(h, POSITION_NOISE, ASPECT_NOISE), self._stds(h, VELOCITY_NOISE, ASPECT_VELOCITY_NOISE)], axis=1
        )
        f = self.transition
        return means @ f.T, f @ covs @ f.T + _diag(std**2)

    def update(self, means: np.ndarray, covs: np.ndarray, measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hmat = self.observation
        noise = _diag(self._stds(means[:, 3], POSITION_NOISE, ASPECT_MEASUREMENT_NOISE) ** 2)
        projected = means @ hmat.T
        s = hmat @ covs @ hmat.T + noise  # innovation covariance [N, 4, 4]
        pht = covs @ hmat.T  # [N, 8, 4]
        gain = np.linalg.solve(s, np.transpose(pht, (0, 2, 1))).transpose(0, 2, 1)  # P H^T S^-1 (S symmetric)
        innovation = np.asarray(measurements, dtype=np.float64) - projected
        new_means = means + np.einsum("nij,nj->ni", gain, innovation)
        new_covs = covs - gain @ s @ np.transpose(gain, (0, 2, 1))
        return new_means, new_covs


def _diag(values: np.ndarray) -> np.ndarray:
    out = np.zeros((*values.shape, values.shape[-1]))
    idx = np.arange(values.shape[-1])
    out[..., idx, idx] = values
    return out


def tlbr_to_xyah(boxes: np.ndarray) -> np.ndarray:
    b = np.atleast_2d(np.asarray(boxes, dtype=np.float64))
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return np.stack([b[:, 0] + w / 2, b[:, 1] + h / 2, w / np.maximum(h, 1e-6), h], axis=1)


def xyah_to_tlbr(states: np.ndarray) -> np.ndarray:
    s = np.atleast_2d(states)
    h = s[:, 3]
    w = s[:, 2] * h
    return np.stack([s[:, 0] - w / 2, s[:, 1] - h / 2, s[:, 0] + w / 2, s[:, 1] + h / 2], axis=1)
