"""Sensor rigs of the synthetic ego: pinhole cameras and a roof lidar, in the ego frame.

Ego frame: origin at the rear-axle centre on the ground, x forward, y left, z up.
Camera frame: OpenCV (x right, y down, z forward). Mounting positions and yaws follow
the nuScenes rig (``calibrated_sensor.json`` of v1.0: fronts at ~1.5 m height, side
cameras turned ±55° / ±110°, the back camera facing backwards); fields of view are
70° for every camera except ``CAM_BACK`` (110°), as in the nuScenes sensor sheet.
The NAVSIM rig (``navsim_rig``) has the eight OpenScene / nuPlan cameras ``CAM_F0``
(front), ``CAM_L0``/``CAM_R0`` (front sides, ±50°), ``CAM_L1``/``CAM_R1`` (sides, ±100°),
``CAM_L2``/``CAM_R2`` (rear sides, ±145°) and ``CAM_B0`` (back), all 70°, and a merged
lidar whose axes are the ego's (``NAVSIM_LIDAR_TRANSLATION``), as nuPlan's
``MergedPointCloud``. Intrinsics follow from the field of view and the image size (square pixels,
principal point at the image centre), so any ``(width, height)`` renders the same
geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Rotation taking OpenCV camera axes to the ego axes of a forward-looking camera:
# camera z (forward) -> ego x, camera x (right) -> ego -y, camera y (down) -> ego -z.
_CAM_TO_EGO_AXES = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def rotation_z(yaw: float) -> np.ndarray:
    """3 × 3 rotation about z by ``yaw`` radians (counter-clockwise)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: name, image size, intrinsics ``(3, 3)``, ``cam2ego`` ``(4, 4)``."""

    name: str
    width: int
    height: int
    intrinsics: np.ndarray
    cam2ego: np.ndarray

    @property
    def rotation(self) -> np.ndarray:
        return self.cam2ego[:3, :3]

    @property
    def translation(self) -> np.ndarray:
        return self.cam2ego[:3, 3]


@dataclass(frozen=True)
class CameraMount:
    """Where a camera sits on the ego (metres, radians) and its horizontal field of view."""

    name: str
    translation: tuple[float, float, float]
    yaw: float
    fov_deg: float

    def camera(self, width: int, height: int) -> Camera:
        if width < 8 or height < 8:
            raise ValueError(f"camera image must be at least 8 × 8 pixels, got {width} × {height} for {self.name}")
        focal = (width / 2) / math.tan(math.radians(self.fov_deg) / 2)
        intrinsics = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
        cam2ego = np.eye(4)
        cam2ego[:3, :3] = rotation_z(self.yaw) @ _CAM_TO_EGO_AXES
        cam2ego[:3, 3] = self.translation
        return Camera(self.name, width, height, intrinsics, cam2ego)


NUSCENES_CAMERA_MOUNTS: tuple[CameraMount, ...] = (
    CameraMount("CAM_FRONT", (1.70, 0.02, 1.51), 0.0, 70.0),
    CameraMount("CAM_FRONT_RIGHT", (1.55, -0.49, 1.50), math.radians(-55.0), 70.0),
    CameraMount("CAM_FRONT_LEFT", (1.52, 0.49, 1.51), math.radians(55.0), 70.0),
    CameraMount("CAM_BACK", (0.03, 0.0, 1.57), math.pi, 110.0),
    CameraMount("CAM_BACK_LEFT", (1.04, 0.48, 1.56), math.radians(110.0), 70.0),
    CameraMount("CAM_BACK_RIGHT", (1.04, -0.48, 1.56), math.radians(-110.0), 70.0),
)

# Roof lidar as in nuScenes: 1.84 m up, its x axis pointing to the ego's right.
LIDAR_TRANSLATION: tuple[float, float, float] = (0.94, 0.0, 1.84)
LIDAR_YAW: float = -math.pi / 2


def lidar2ego() -> np.ndarray:
    """``(4, 4)`` transform from the LIDAR_TOP frame to the ego frame."""
    out = np.eye(4)
    out[:3, :3] = rotation_z(LIDAR_YAW)
    out[:3, 3] = LIDAR_TRANSLATION
    return out


def nuscenes_rig(width: int = 224, height: int = 112) -> list[Camera]:
    """The six nuScenes cameras (``CAM_FRONT`` … ``CAM_BACK_RIGHT``) at ``width × height``."""
    return [mount.camera(width, height) for mount in NUSCENES_CAMERA_MOUNTS]


NAVSIM_CAMERA_MOUNTS: tuple[CameraMount, ...] = (
    CameraMount("CAM_F0", (1.80, 0.00, 1.60), 0.0, 70.0),
    CameraMount("CAM_L0", (1.70, 0.45, 1.60), math.radians(50.0), 70.0),
    CameraMount("CAM_L1", (1.20, 0.50, 1.60), math.radians(100.0), 70.0),
    CameraMount("CAM_L2", (0.20, 0.45, 1.60), math.radians(145.0), 70.0),
    CameraMount("CAM_R0", (1.70, -0.45, 1.60), math.radians(-50.0), 70.0),
    CameraMount("CAM_R1", (1.20, -0.50, 1.60), math.radians(-100.0), 70.0),
    CameraMount("CAM_R2", (0.20, -0.45, 1.60), math.radians(-145.0), 70.0),
    CameraMount("CAM_B0", (-0.50, 0.00, 1.60), math.pi, 70.0),
)
NAVSIM_LIDAR_TRANSLATION: tuple[float, float, float] = (1.50, 0.0, 1.90)


def navsim_lidar2ego() -> np.ndarray:
    """``(4, 4)`` transform from the NAVSIM merged-lidar frame (ego axes) to the ego frame."""
    out = np.eye(4)
    out[:3, 3] = NAVSIM_LIDAR_TRANSLATION
    return out


def navsim_rig(width: int = 224, height: int = 112) -> list[Camera]:
    """The eight NAVSIM cameras (``CAM_F0``, ``CAM_L0`` … ``CAM_R2``, ``CAM_B0``) at ``width × height``."""
    return [mount.camera(width, height) for mount in NAVSIM_CAMERA_MOUNTS]
