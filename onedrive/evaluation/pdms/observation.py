"""Other objects as boxes at 10 Hz: the logged future (scoring) and a constant-velocity forecast (reference planner).

* ``log_observation``: NAVSIM's metric cache (``metric_cache_processor.py``
  ``_interpolate_gt_observation`` + ``PDMObservation.update_detections_tracks``) samples the
  logged tracks at 0.0, 0.1, …, 5.0 s by linear interpolation (heading unwrapped); a track
  exists only between its first and last sample, a single-sample track at every step.
  The object that decides "stopped track" is its first sample (NAVSIM's ``unique_objects``).
  Sample times here are compared with a 1e-6 s tolerance (NAVSIM compares floats exactly,
  so 15 × 0.1 s can miss a track that ends at 1.5 s).
* ``forecast_observation``: PDM-Closed's own view (``PDMObservation.update`` +
  ``PDMObjectManager``): objects present at the current frame, agents moved at constant
  velocity along their heading (flipped when they drive backwards), static objects fixed,
  positions refreshed every 0.2 s; objects the ego already overlaps are ignored.
  NAVSIM also keeps only objects within 100 m and the nearest 50 vehicles / 25 pedestrians
  / 10 bicycles / 50 static objects, and adds red-light lane connectors as obstacles;
  neither is done here (this map format carries no traffic lights).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from onedrive.evaluation.pdms.scene import PDMSScene
from onedrive.evaluation.pdms.trajectory import DT, wrap_angle

NUM_FRAMES = 51  # 0.0 … 5.0 s at 10 Hz: the 4 s horizon plus TTC's 0.9 s look-ahead
STOPPED_TRACK_SPEED = 5e-2  # m/s, nuPlan is_track_stopped
TIME_TOLERANCE = 1e-6


def box_corners(poses: np.ndarray, length: np.ndarray, width: np.ndarray) -> np.ndarray:
    """poses (..., 3) centre x, y, heading; length/width broadcastable to (...) → (..., 4, 2).

    Order front-left, rear-left, rear-right, front-right (NAVSIM ``BBCoordsIndex``).
    """
    cos, sin = np.cos(poses[..., 2]), np.sin(poses[..., 2])
    forward = np.stack([cos, sin], axis=-1) * (np.asarray(length) / 2.0)[..., None]
    left = np.stack([-sin, cos], axis=-1) * (np.asarray(width) / 2.0)[..., None]
    centre = poses[..., :2]
    return np.stack(
        [centre + forward + left, centre - forward + left, centre - forward - left, centre + forward - left], axis=-2
    )


@dataclass
class Observation:
    """Objects on a fixed 10 Hz frame grid; frame f is time f·0.1 s.

    tokens (M,); present (F, M); poses (F, M, 3) box centres; corners (F, M, 4, 2);
    radius (M,) half diagonal; is_agent (M,) vehicle/pedestrian/bicycle; stopped (M,) per
    nuPlan's ``is_track_stopped`` on the first sample; initial_heading / initial_speed (M,)
    of that sample; ignored (M,) objects already overlapping the ego at t = 0.
    """

    tokens: list[str]
    present: np.ndarray
    poses: np.ndarray
    corners: np.ndarray
    radius: np.ndarray
    is_agent: np.ndarray
    stopped: np.ndarray
    initial_heading: np.ndarray
    initial_speed: np.ndarray
    ignored: np.ndarray
    _polygons: list = field(default_factory=list, repr=False)

    @property
    def num_objects(self) -> int:
        return len(self.tokens)

    @property
    def polygons(self) -> np.ndarray:
        """(F, M) shapely polygons, None where an object is absent."""
        if not self._polygons:
            polygons = np.full(self.present.shape, None, dtype=object)
            if self.present.any():
                polygons[self.present] = shapely.polygons(self.corners[self.present])
            self._polygons.append(polygons)
        return self._polygons[0]


def _empty(num_frames: int) -> Observation:
    return Observation(
        [], np.zeros((num_frames, 0), bool), np.zeros((num_frames, 0, 3)), np.zeros((num_frames, 0, 4, 2)),
        np.zeros(0), np.zeros(0, bool), np.zeros(0, bool), np.zeros(0), np.zeros(0), np.zeros(0, bool),
    )  # fmt: skip


def log_observation(scene: PDMSScene, num_frames: int = NUM_FRAMES) -> Observation:
    """The logged tracks sampled at 10 Hz (what NAVSIM scores against)."""
    if not scene.objects:
        return _empty(num_frames)
    times = np.arange(num_frames) * DT
    present = np.zeros((num_frames, len(scene.objects)), dtype=bool)
    poses = np.zeros((num_frames, len(scene.objects), 3))
    for m, track in enumerate(scene.objects):
        track_times = np.asarray(track.times, dtype=np.float64)
        track_poses = np.asarray(track.poses, dtype=np.float64)
        if len(track_times) == 1:
            present[:, m] = True
            poses[:, m] = track_poses[0]
            continue
        present[:, m] = (times >= track_times[0] - TIME_TOLERANCE) & (times <= track_times[-1] + TIME_TOLERANCE)
        query = np.clip(times, track_times[0], track_times[-1])
        headings = np.unwrap(track_poses[:, 2])
        poses[:, m, 0] = np.interp(query, track_times, track_poses[:, 0])
        poses[:, m, 1] = np.interp(query, track_times, track_poses[:, 1])
        poses[:, m, 2] = wrap_angle(np.interp(query, track_times, headings))
    return _build(scene, list(range(len(scene.objects))), present, poses, np.zeros(len(scene.objects), bool))


def forecast_observation(scene: PDMSScene, footprint: shapely.Polygon, num_frames: int = NUM_FRAMES) -> Observation:
    """Constant-velocity forecast of the objects present now, refreshed every 0.2 s (PDM-Closed's view)."""
    indices = [m for m, track in enumerate(scene.objects) if abs(float(np.asarray(track.times)[0])) <= TIME_TOLERANCE]
    if not indices:
        return _empty(num_frames)
    start = np.array([np.asarray(scene.objects[m].poses, dtype=np.float64)[0] for m in indices])  # (M, 3)
    velocity = np.array([np.asarray(scene.objects[m].velocities, dtype=np.float64)[0] for m in indices])  # (M, 2)
    is_agent = np.array([scene.objects[m].object_class != "static" for m in indices])
    speed = np.hypot(velocity[:, 0], velocity[:, 1]) * is_agent
    backwards = np.abs(wrap_angle(start[:, 2] - np.arctan2(velocity[:, 1], velocity[:, 0]))) >= np.pi / 2
    direction = np.where(backwards, start[:, 2] + np.pi, start[:, 2])
    step_velocity = np.stack([np.cos(direction), np.sin(direction)], axis=1) * speed[:, None]  # (M, 2)

    elapsed = (np.arange(num_frames) // 2) * 2 * DT  # (F,) positions refresh every 0.2 s
    poses = np.repeat(start[None], num_frames, axis=0)  # (F, M, 3)
    poses[..., :2] += elapsed[:, None, None] * step_velocity[None]
    present = np.ones((num_frames, len(indices)), dtype=bool)
    observation = _build(scene, indices, present, poses, np.zeros(len(indices), bool))
    overlapping = shapely.intersects(footprint, observation.polygons[0])
    observation.ignored = np.asarray(overlapping, dtype=bool)
    return observation


def _build(
    scene: PDMSScene, indices: list[int], present: np.ndarray, poses: np.ndarray, ignored: np.ndarray
) -> Observation:
    tracks = [scene.objects[m] for m in indices]
    length = np.array([t.length for t in tracks], dtype=np.float64)
    width = np.array([t.width for t in tracks], dtype=np.float64)
    first_velocity = np.array([np.asarray(t.velocities, dtype=np.float64)[0] for t in tracks])  # (M, 2)
    is_agent = np.array([t.object_class != "static" for t in tracks])
    first_speed = np.hypot(first_velocity[:, 0], first_velocity[:, 1])
    return Observation(
        tokens=[t.token for t in tracks],
        present=present,
        poses=poses,
        corners=box_corners(poses, length[None], width[None]),
        radius=np.hypot(length, width) / 2.0,
        is_agent=is_agent,
        stopped=~is_agent | (first_speed <= STOPPED_TRACK_SPEED),
        initial_heading=np.array([np.asarray(t.poses, dtype=np.float64)[0, 2] for t in tracks]),
        initial_speed=first_speed,
        ignored=ignored,
    )
