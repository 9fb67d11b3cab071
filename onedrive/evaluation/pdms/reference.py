"""The reference trajectory EP is normalised by: a PDM-Closed-style planner on the route centerline.

NAVSIM's metric cache runs PDM-Closed once per token (``metric_cache_processor.py``,
``pdm_closed_planner.py``, ``abstract_pdm_closed_planner.py``, ``proposal/pdm_generator.py``,
``proposal/batch_idm_policy.py``) and stores the chosen trajectory; it is then scored next
to the agent's (proposal 0 beside the agent), so EP compares the agent's progress with it.
This module rebuilds that planner:

* Paths: the route centerline and two copies shifted laterally by -1 m and +1 m.
* Speeds: an IDM policy per fraction 0.2, 0.4, 0.6, 0.8, 1.0 of the starting lane's speed
  limit (15 m/s when the lane has none); minimum gap 1 m, headway 1.5 s, maximum
  acceleration 1.5 m/s², maximum deceleration 3 m/s², exponent 10, Euler steps of 0.1 s.
  15 proposals of 41 poses (t = 0 is the ego's projection on the path).
* Leading object: every second step, the objects of PDM-Closed's constant-velocity forecast
  (``observation.forecast_observation``) inside the driving corridor (path ahead of the ego
  over max target speed × 5 s, widened by the ego width with square caps) and ahead of the
  ego's progress; the nearest by box distance sets the gap, its speed projected on the ego
  heading the lead speed (0 for static objects); without one the path end is the lead.
  NAVSIM's generator quirks are kept so that the reference moves as NAVSIM's does: at odd
  steps the previous lead state is reused, which at step 1 is the all-zero initial state (a
  0.1 s brake at the start whenever the ego moves), and the lead state is shared between
  the proposals of a path while they are visited.
* Selection: all proposals are tracked (``tracker.py``) and scored with the PDM scorer on
  the forecast; the best one's (untracked) poses are the reference.

Simplifications against NAVSIM: the centerline is the route's lanes (no Dijkstra search,
no route repair; see ``map.py``), no red-light obstacles, no 100 m object radius or
per-class object limits; the reference is planned over the 4 s scoring horizon only
(NAVSIM plans 5 s and samples the first 4 s, which gives the same poses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import shapely.ops

from onedrive.evaluation.pdms.map import FALLBACK_SPEED_LIMIT
from onedrive.evaluation.pdms.observation import Observation, box_corners, forecast_observation
from onedrive.evaluation.pdms.scene import PDMSScene, VehicleParameters
from onedrive.evaluation.pdms.scorer import PDMScorer
from onedrive.evaluation.pdms.tracker import BatchTracker, initial_state
from onedrive.evaluation.pdms.trajectory import DT, NUM_STEPS, wrap_angle


class Path:
    """A polyline with headings, (K, 3) x, y, heading, interpolated by arc length (NAVSIM ``PDMPath``)."""

    def __init__(self, poses: np.ndarray):
        self.poses = poses.copy()
        self.poses[:, 2] = np.unwrap(self.poses[:, 2])
        segment = np.linalg.norm(np.diff(poses[:, :2], axis=0), axis=1)
        self.progress = np.concatenate([[0.0], np.cumsum(segment)])  # (K,)
        self.linestring = shapely.linestrings(poses[:, :2])

    @property
    def length(self) -> float:
        return float(self.progress[-1])

    def interpolate(self, distances: np.ndarray) -> np.ndarray:
        """(N,) arc lengths (clipped to the path) → (N, 3) poses."""
        clipped = np.clip(distances, 1e-5, self.length)
        columns = [np.interp(clipped, self.progress, self.poses[:, c]) for c in range(3)]
        columns[2] = wrap_angle(columns[2])
        return np.stack(columns, axis=-1)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) points → (N,) arc length of their closest path point."""
        return shapely.line_locate_point(self.linestring, shapely.points(points))

    def shifted(self, offset: float) -> Path:
        """The path moved ``offset`` metres to its left (negative: right), vertex by vertex."""
        normal = np.stack([-np.sin(self.poses[:, 2]), np.cos(self.poses[:, 2])], axis=1)
        poses = self.poses.copy()
        poses[:, :2] += offset * normal
        poses[:, 2] = wrap_angle(poses[:, 2])
        return Path(poses)

    def corridor(self, start: float, end: float, half_width: float) -> shapely.Geometry:
        """The path between two arc lengths widened by ``half_width`` with square caps."""
        start, end = np.clip([start, end], 0.0, self.length)
        inside = (self.progress >= start) & (self.progress <= end)
        if inside.sum() > 1:
            line = shapely.linestrings(self.poses[inside, :2])
        else:
            line = shapely.ops.substring(self.linestring, start, end)
        corridor = shapely.buffer(line, half_width, cap_style="square")
        shapely.prepare(corridor)  # intersected with the objects at every second step
        return corridor


@dataclass(frozen=True)
class ReferenceConfig:
    """PDM-Closed parameters of NAVSIM's ``MetricCacheProcessor``."""

    speed_fractions: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    lateral_offsets: tuple[float, ...] = (-1.0, 1.0)
    min_gap: float = 1.0
    headway: float = 1.5
    accel_max: float = 1.5
    decel_max: float = 3.0
    exponent: float = 10.0
    lead_update_every: int = 2
    corridor_steps: int = 50  # NAVSIM's trajectory sampling (5 s) sets the corridor length


def _idm_step(state: np.ndarray, lead: np.ndarray, target: np.ndarray, config: ReferenceConfig) -> np.ndarray:
    """IDM update (B, 2) progress/velocity with lead (B, 3) progress/velocity/rear length → (B, 2)."""
    progress, velocity = state[:, 0], state[:, 1]
    desired_gap = (
        config.min_gap
        + velocity * config.headway
        + velocity * (velocity - lead[:, 1]) / (2.0 * np.sqrt(config.accel_max * config.decel_max))
    )
    gap = np.maximum(lead[:, 0] - progress - lead[:, 2], config.min_gap)
    accel = config.accel_max * (1.0 - (velocity / target) ** config.exponent - (desired_gap / gap) ** 2)
    accel = np.clip(accel, -config.decel_max, config.accel_max)
    return np.stack([progress + DT * velocity, velocity + DT * accel], axis=1)


def _unroll(
    path: Path,
    scene: PDMSScene,
    targets: np.ndarray,
    observation: Observation,
    config: ReferenceConfig,
) -> np.ndarray:
    """IDM proposals along one path for each target speed → poses (S, 41, 3)."""
    vehicle = scene.vehicle
    num = len(targets)
    ego = scene.ego
    start_progress = float(path.project(np.array([[ego.x, ego.y]]))[0])
    idm = np.zeros((num, NUM_STEPS + 1, 2))
    idm[:, 0] = start_progress, ego.velocity[0]
    poses = np.zeros((num, NUM_STEPS + 1, 3))
    poses[:, 0] = path.interpolate(np.array([start_progress]))[0]
    leads = np.zeros((num, NUM_STEPS + 1, 3))
    corridor = path.corridor(
        start_progress, start_progress + abs(targets.max()) * config.corridor_steps * DT, vehicle.half_width
    )
    # objects in the corridor (F, M) and their progress along the path, for all frames at once
    in_corridor = observation.present & ~observation.ignored
    in_corridor[in_corridor] = shapely.intersects(corridor, observation.polygons[in_corridor])
    object_progress = np.full(in_corridor.shape, np.nan)
    if in_corridor.any():
        object_progress[in_corridor] = path.project(observation.poses[in_corridor][:, :2])
    for step in range(1, NUM_STEPS + 1):
        if step % config.lead_update_every:
            leads[:, step] = leads[:, step - 1]
        else:
            candidates = np.flatnonzero(in_corridor[step])
            leads[:, step] = _leading_objects(
                path, poses[:, step - 1], idm[:, step - 1, 0], candidates, object_progress[step, candidates],
                observation, step, vehicle,
            )  # fmt: skip
        idm[:, step] = _idm_step(idm[:, step - 1], leads[:, step], targets, config)
        poses[:, step] = path.interpolate(idm[:, step, 0])
    return poses


def _leading_objects(
    path: Path,
    ego_poses: np.ndarray,
    ego_progress: np.ndarray,
    candidates: np.ndarray,
    candidate_progress: np.ndarray,
    observation: Observation,
    frame: int,
    vehicle: VehicleParameters,
) -> np.ndarray:
    """Lead state (S, 3) progress/velocity/rear length for each proposal of one path at ``frame``.

    candidates (C,): objects in the driving corridor at ``frame``; candidate_progress (C,):
    their centres projected on the path.
    """
    leads = np.zeros((len(ego_poses), 3))
    ahead = candidate_progress[None] > ego_progress[:, None]  # (S, C)
    distance = np.full(ahead.shape, np.inf)
    if ahead.any():
        heading = ego_poses[:, 2]
        centres = ego_poses[:, :2] + vehicle.rear_axle_to_center * np.stack([np.cos(heading), np.sin(heading)], 1)
        boxes = shapely.polygons(box_corners(np.column_stack([centres, heading]), vehicle.length, vehicle.width))
        rows, cols = np.nonzero(ahead)
        distance[rows, cols] = shapely.distance(boxes[rows], observation.polygons[frame, candidates[cols]])
    lead = np.zeros(3)  # shared while visiting the proposals, as in NAVSIM's generator
    for i in range(len(ego_poses)):
        if ahead[i].any():
            nearest = candidates[int(np.argmin(distance[i]))]
            lead[0] = ego_progress[i] + distance[i].min()
            if observation.is_agent[nearest]:
                relative = wrap_angle(observation.initial_heading[nearest] - ego_poses[i, 2])
                lead[1] = observation.initial_speed[nearest] * np.cos(relative)
            else:
                lead[1] = 0.0
        else:
            lead[0] = path.length
            lead[2] = vehicle.length / 2.0
        leads[i] = lead
    return leads


def reference_poses(
    scene: PDMSScene, centerline: Path, tracker: BatchTracker, config: ReferenceConfig = ReferenceConfig()
) -> np.ndarray:
    """The chosen PDM-Closed-style proposal for ``scene``: (41, 3) global rear-axle poses at 10 Hz."""
    vehicle, ego = scene.vehicle, scene.ego
    heading = ego.heading
    centre = np.array([ego.x, ego.y]) + vehicle.rear_axle_to_center * np.array([np.cos(heading), np.sin(heading)])
    footprint = shapely.polygons(box_corners(np.array([*centre, heading]), vehicle.length, vehicle.width))
    observation = forecast_observation(scene, footprint)

    lane = scene.map.starting_lane(ego.pose, footprint)
    speed_limit = lane.speed_limit if lane.speed_limit is not None else FALLBACK_SPEED_LIMIT
    targets = np.asarray(config.speed_fractions) * speed_limit  # (S,)

    paths = [centerline] + [centerline.shifted(offset) for offset in config.lateral_offsets]
    proposals = np.concatenate([_unroll(path, scene, targets, observation, config) for path in paths])  # (15, 41, 3)
    simulated = tracker.simulate(proposals, initial_state(ego))
    scores = PDMScorer(vehicle, scene.map, centerline.linestring).score(simulated, observation)
    return proposals[int(np.argmax(scores.score))]
