"""Rigid transforms between the nuScenes global frame, the ego frame and sensors.

nuScenes stores poses as ``translation`` (metres) + ``rotation`` (quaternion
``w, x, y, z``); ``nuscenes.utils.geometry_utils.transform_matrix`` turns them into
4 × 4 matrices. The ego frame (``docs/design.md`` §4) is x forward, y left, z up,
origin at the rear-axle centre; yaw is counter-clockwise from x.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyquaternion import Quaternion

from onedrive.extras import extra_module

transform_matrix = extra_module("nuscenes.utils.geometry_utils", "nuscenes").transform_matrix


def pose_matrix(translation: Sequence[float], rotation: Sequence[float]) -> np.ndarray:
    """(4, 4) matrix of a nuScenes pose (``rotation`` as ``w, x, y, z``)."""
    return transform_matrix(np.asarray(translation, dtype=np.float64), Quaternion(rotation))


def invert_pose(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (4, 4) rigid transform (rotation transposed, no general inverse)."""
    inverse = np.eye(4)
    inverse[:3, :3] = matrix[:3, :3].T
    inverse[:3, 3] = -matrix[:3, :3].T @ matrix[:3, 3]
    return inverse


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (4, 4) transform to (N, 3) points; returns (N, 3)."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def yaw_of_rotation(rotation: np.ndarray) -> float:
    """Heading of a (3, 3) rotation: the angle of its x axis in the x-y plane."""
    return float(np.arctan2(rotation[1, 0], rotation[0, 0]))


def box_in_frame(
    center: Sequence[float], rotation: Quaternion, velocity: Sequence[float], world_to_frame: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """A global box centre (3,), orientation and velocity (3,) seen from another frame.

    Returns the centre (3,), the yaw of the box's x axis (its length direction, as in
    the devkit's ``Box``) and the velocity (3,), all in the frame that
    ``world_to_frame`` (4, 4) maps into.
    """
    center_frame = transform_points(world_to_frame, np.asarray(center, dtype=np.float64)[None])[0]
    rotation_frame = world_to_frame[:3, :3] @ rotation.rotation_matrix
    velocity_frame = world_to_frame[:3, :3] @ np.asarray(velocity, dtype=np.float64)
    return center_frame, yaw_of_rotation(rotation_frame), velocity_frame


def ground_height_in_ego(global_to_ego: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Ego-frame z of the global ground plane (global z = 0) under ego (N, 2) points.

    The map expansion is 2D (global z = 0). A global point ``g = R e + t`` lies on the
    plane when ``R[2] · e = -t_z``; solved for ``e_z`` given ``e_x, e_y``. Returns (N,).
    """
    ego_to_global = invert_pose(global_to_ego)
    row = ego_to_global[2, :3]
    return (-ego_to_global[2, 3] - row[0] * xy[:, 0] - row[1] * xy[:, 1]) / row[2]
