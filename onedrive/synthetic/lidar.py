"""What the roof lidar sees in one key frame: occlusion, point counts and a point cloud.

Occlusion is decided in bird's eye view: the sight lines from the lidar to five points
of a box footprint (centre and four corners pulled 20 % inwards) are tested against
the footprints of the other boxes taller than ``OCCLUDER_MIN_HEIGHT``; the fraction of
free sight lines is the box's visibility (nuScenes bins it into 0–40, 40–60, 60–80,
80–100 %). A box seen by at least one sight line and within ``LIDAR_RANGE`` gets
``n ≈ POINT_DENSITY · visibility · exposed area / distance²`` points (at least one,
at most ``MAX_POINTS_PER_BOX``) sampled on its faces that face the sensor, so the
recorded ``num_lidar_pts`` is exactly the number of cloud points inside the box.
The cloud also holds ground rings (none inside boxes) and is returned in the
LIDAR_TOP frame as nuScenes' ``(N, 5)`` float32 rows ``x, y, z, intensity, ring``.
Radar point counts follow a similar distance rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from onedrive.synthetic.cameras import lidar2ego, rotation_z

LIDAR_RANGE = 70.0
OCCLUDER_MIN_HEIGHT = 1.2
POINT_DENSITY = 5000.0
MAX_POINTS_PER_BOX = 300
GROUND_RADII = np.geomspace(3.0, 60.0, 16)
GROUND_AZIMUTHS = 72


@dataclass
class LidarFrame:
    """Per-box observation (N,) and the point cloud (P, 5) in the LIDAR_TOP frame."""

    visibility: np.ndarray
    num_lidar_pts: np.ndarray
    num_radar_pts: np.ndarray
    points: np.ndarray


def box_footprints(boxes: np.ndarray, shrink: float = 1.0) -> np.ndarray:
    """Footprint corners (N, 4, 2) of boxes (N, 7) = x, y, z, l, w, h, yaw."""
    half = np.stack([boxes[:, 3], boxes[:, 4]], axis=-1)[:, None] / 2 * shrink  # (N, 1, 2)
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)  # (4, 2)
    local = signs[None] * half  # (N, 4, 2)
    c, s = np.cos(boxes[:, 6])[:, None], np.sin(boxes[:, 6])[:, None]
    x = boxes[:, 0:1] + c * local[..., 0] - s * local[..., 1]
    y = boxes[:, 1:2] + s * local[..., 0] + c * local[..., 1]
    return np.stack([x, y], axis=-1)


def visible_fraction(origin: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Fraction (N,) of the five sight lines from ``origin`` (2,) to each box that are free."""
    n = len(boxes)
    if n == 0:
        return np.zeros(0)
    targets = np.concatenate([boxes[:, None, :2], box_footprints(boxes, shrink=0.8)], axis=1)  # (N, 5, 2)
    lines = shapely.linestrings(
        np.stack([np.broadcast_to(origin, targets.shape), targets], axis=2).reshape(-1, 2, 2)
    ).reshape(n, 5)
    polygons = shapely.polygons(box_footprints(boxes))  # (N,)
    blocked = shapely.intersects(lines[:, :, None], polygons[None, None, :])  # (N, 5, N)
    is_occluder = (boxes[:, 5] >= OCCLUDER_MIN_HEIGHT)[None, None, :] & ~np.eye(n, dtype=bool)[:, None, :]
    return 1.0 - np.any(blocked & is_occluder, axis=-1).mean(axis=1)


def _surface_points(box: np.ndarray, origin: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points (count, 3) on the side faces of ``box`` that face ``origin`` (3,)."""
    x, y, z, length, width, height, yaw = box
    rot = rotation_z(yaw)
    to_sensor = rot.T @ (origin - np.array([x, y, z]))  # sensor in the box frame
    faces = []  # (axis, sign, area)
    for axis, half, other in ((0, length / 2, width), (1, width / 2, length)):
        sign = 1.0 if to_sensor[axis] > 0 else -1.0
        if abs(to_sensor[axis]) > half:
            faces.append((axis, sign, other * height))
    if not faces:
        faces = [(0, 1.0, width * height)]
    areas = np.array([f[2] for f in faces])
    which = rng.choice(len(faces), size=count, p=areas / areas.sum())
    local = rng.uniform(-0.49, 0.49, size=(count, 3)) * np.array([length, width, height])
    for i, (axis, sign, _) in enumerate(faces):
        local[which == i, axis] = sign * ((length, width)[axis] / 2 - 0.02)
    return local @ rot.T + np.array([x, y, z])


def observe(boxes: np.ndarray, categories: list[str], ego_pose: np.ndarray, rng: np.random.Generator) -> LidarFrame:
    """Lidar/radar observation of boxes (N, 7) (map frame) from the ego at ``ego_pose`` (x, y, yaw)."""
    sensor2ego = lidar2ego()
    ego2map = np.eye(4)
    ego2map[:3, :3] = rotation_z(ego_pose[2])
    ego2map[:2, 3] = ego_pose[:2]
    sensor2map = ego2map @ sensor2ego
    origin = sensor2map[:3, 3]
    n = len(boxes)
    distance = np.linalg.norm(boxes[:, :2] - origin[:2], axis=1) if n else np.zeros(0)
    visibility = visible_fraction(origin[:2], boxes) * (distance <= LIDAR_RANGE)

    clouds, intensities = [], []
    num_lidar = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if visibility[i] <= 0:
            continue
        length, width, height, yaw = boxes[i, 3:7]
        bearing = np.arctan2(origin[1] - boxes[i, 1], origin[0] - boxes[i, 0]) - yaw
        exposed = height * (length * abs(np.sin(bearing)) + width * abs(np.cos(bearing)))
        count = int(
            np.clip(round(POINT_DENSITY * visibility[i] * exposed / max(distance[i], 1.0) ** 2), 1, MAX_POINTS_PER_BOX)
        )
        clouds.append(_surface_points(boxes[i], origin, count, rng))
        intensities.append(np.full(count, 40.0))
        num_lidar[i] = count

    radius, azimuth = np.meshgrid(
        GROUND_RADII, np.linspace(0, 2 * np.pi, GROUND_AZIMUTHS, endpoint=False), indexing="ij"
    )
    ground = np.stack([origin[0] + radius * np.cos(azimuth), origin[1] + radius * np.sin(azimuth)], axis=-1).reshape(
        -1, 2
    )
    if n:
        offset = ground[None, :, :] - boxes[:, None, :2]  # (N, G, 2)
        c, s = np.cos(boxes[:, 6])[:, None], np.sin(boxes[:, 6])[:, None]
        along = np.abs(c * offset[..., 0] + s * offset[..., 1]) <= boxes[:, 3:4] / 2 + 0.05
        across = np.abs(-s * offset[..., 0] + c * offset[..., 1]) <= boxes[:, 4:5] / 2 + 0.05
        ground = ground[~np.any(along & across, axis=0)]
    clouds.append(np.concatenate([ground, np.zeros((len(ground), 1))], axis=1))
    intensities.append(np.full(len(ground), 5.0))
    points_map = np.concatenate(clouds, axis=0)  # (P, 3)
    points_sensor = (points_map - sensor2map[:3, 3]) @ sensor2map[:3, :3]  # (P, 3)
    ring = np.zeros(len(points_sensor))
    cloud = np.concatenate([points_sensor, np.concatenate(intensities)[:, None], ring[:, None]], axis=1).astype(
        np.float32
    )

    radar_scale = (
        np.where(np.isin(categories, ["traffic_cone", "barrier", "pedestrian"]), 0.2, 1.0) if n else np.zeros(0)
    )
    num_radar = np.where(
        visibility > 0, np.round(visibility * radar_scale * (2.0 + 150.0 / np.maximum(distance, 1.0))), 0
    ).astype(np.int64)
    return LidarFrame(visibility, num_lidar, num_radar, cloud)
