"""NC, DAC, TTC, C, EP and their aggregation for a batch of simulated proposals.

Follows NAVSIM v1.1's ``PDMScorer`` (``navsim/planning/simulation/planner/pdm_planner/
scoring/pdm_scorer.py``) with ``get_collision_type`` (``pdm_scorer_utils.py``) and
nuplan-devkit's ``is_agent_ahead`` / ``is_agent_behind`` / ``is_track_stopped``
(``nuplan/planning/simulation/observation/idm/utils.py``):

* Ego areas per state (``_calculate_ego_area``): "several lanes" and "non-drivable" from the
  box corners against lane / drivable polygons (``PDMSMap.ego_area_flags``).
* NC (``_calculate_no_at_fault_collision``): at each 0.1 s state, every object whose box
  intersects the ego box is classified: ego speed ≤ 0.05 m/s → stopped ego (not at fault);
  object stopped (static class, or first-sample speed ≤ 0.05 m/s) → at fault; object centre
  more than 150° off the ego heading, seen from the rear axle → rear collision (not at
  fault); ego front edge (front-left → front-right) touching the object → active front (at
  fault); otherwise active lateral, at fault only while the ego spans several lanes or is
  off the drivable area. At fault: 0 for vehicles / pedestrians / bicycles, 0.5 for static
  objects; minimum over time. A not-at-fault object is ignored afterwards.
* DAC (``_calculate_drivable_area_compliance``): 0 if at any state a corner lies in no
  drivable polygon.
* TTC (``_calculate_ttc``): at each state the ego box is shifted along its heading by
  speed × {0, 0.3, 0.6, 0.9} s and tested against the objects 0, 3, 6, 9 frames later;
  an overlap counts (TTC 0) when the object centre is within 30° of the ego heading, or
  when the ego spans several lanes / is off-road / has its rear axle in an intersection and
  the object is not more than 150° off; other overlaps make that object ignored; states
  slower than 5e-3 m/s are skipped.
* C (``comfort.py``), EP (``_calculate_progress`` + ``_aggregate_scores``): progress is the
  advance of the box centre projected on the route centerline, clipped at 0; multiplied by
  NC·DAC and divided by the largest such value among the proposals scored together when
  that exceeds 5 m, else 1 (0 where NC·DAC = 0).
* Score = NC·DAC·(5·TTC + 5·EP + 2·C) / 12. The driving-direction metric has weight 0 in
  v1 and is not computed.

Differences: geometry comes from ``PDMSMap`` (see ``map.py``); candidate object pairs are
pre-selected by bounding circles before the exact ``shapely.intersects`` test (the same
pairs an STRtree query finds); the arccos of the ahead/behind angle is clipped to [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from onedrive.evaluation.pdms.comfort import is_comfortable
from onedrive.evaluation.pdms.map import PDMSMap
from onedrive.evaluation.pdms.observation import Observation, box_corners
from onedrive.evaluation.pdms.scene import VehicleParameters
from onedrive.evaluation.pdms.tracker import HEADING, VX, VY, X, Y
from onedrive.evaluation.pdms.trajectory import DT

STOPPED_EGO_SPEED = 5e-2  # m/s, get_collision_type
TTC_MIN_SPEED = 5e-3  # m/s, PDMScorerConfig.stopped_speed_threshold
TTC_FRAME_OFFSETS = (0, 3, 6, 9)  # 10 Hz frames: 0, 0.3, 0.6, 0.9 s
AHEAD_DEG, BEHIND_DEG = 30.0, 150.0
PROGRESS_THRESHOLD = 5.0  # m, PDMScorerConfig.progress_distance_threshold
WEIGHTS = {"ttc": 5.0, "ep": 5.0, "comfort": 2.0}


@dataclass
class ProposalScores:
    """Per-proposal results, each (P,)."""

    nc: np.ndarray
    dac: np.ndarray
    ttc: np.ndarray
    comfort: np.ndarray
    ep: np.ndarray
    progress: np.ndarray  # metres along the centerline (≥ 0), before normalisation
    score: np.ndarray


def ego_boxes(states: np.ndarray, vehicle: VehicleParameters) -> tuple[np.ndarray, np.ndarray]:
    """states (P, T, 11) → corners (P, T, 4, 2) and box centres (P, T, 2)."""
    heading = states[..., HEADING]
    centres = states[..., [X, Y]] + vehicle.rear_axle_to_center * np.stack([np.cos(heading), np.sin(heading)], -1)
    poses = np.concatenate([centres, heading[..., None]], axis=-1)
    return box_corners(poses, vehicle.length, vehicle.width), centres


def _relative_angle(states: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Angle (rad) between the ego heading and the ray rear axle → point; (N, 11), (N, 2) → (N,), NaN at 0 m."""
    ray = points - states[:, [X, Y]]
    norm = np.linalg.norm(ray, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = (np.cos(states[:, HEADING]) * ray[:, 0] + np.sin(states[:, HEADING]) * ray[:, 1]) / norm
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def _overlaps(
    corners: np.ndarray, centres: np.ndarray, radius: float, observation: Observation, frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (proposal, step, object) whose boxes intersect; ego step t meets observation frame ``frames[t]``.

    corners (P, T, 4, 2), centres (P, T, 2), frames (T,) → three (K,) index arrays ordered by
    proposal, step, object. Objects ignored from the start are left out.
    """
    if observation.num_objects == 0:
        empty = np.zeros(0, dtype=int)
        return empty, empty, empty
    object_centres = observation.poses[frames][..., :2]  # (T, M, 2)
    distance = np.linalg.norm(centres[:, :, None] - object_centres[None], axis=-1)  # (P, T, M)
    candidate = (distance <= radius + observation.radius + 1e-6) & observation.present[frames][None]
    candidate &= ~observation.ignored
    p, t, m = np.nonzero(candidate)
    if len(p) == 0:
        return p, t, m
    hit = shapely.intersects(shapely.polygons(corners[p, t]), observation.polygons[frames[t], m])
    return p[hit], t[hit], m[hit]


class PDMScorer:
    """Scores (P, T, 11) simulated proposals against one observation, map and centerline."""

    def __init__(self, vehicle: VehicleParameters, road: PDMSMap, centerline: shapely.LineString):
        self.vehicle = vehicle
        self.road = road
        self.centerline = centerline

    def score(self, states: np.ndarray, observation: Observation) -> ProposalScores:
        corners, centres = ego_boxes(states, self.vehicle)
        multiple_lanes, non_drivable = self.road.ego_area_flags(corners)  # (P, T) each
        nc = self._no_at_fault_collision(states, corners, centres, observation, multiple_lanes | non_drivable)
        dac = np.where(non_drivable.any(axis=1), 0.0, 1.0)
        ttc = self._time_to_collision(states, corners, centres, observation, multiple_lanes | non_drivable)
        comfort = is_comfortable(states, DT).astype(np.float64)
        start_end = shapely.points(centres[:, [0, -1]])  # (P, 2)
        located = shapely.line_locate_point(self.centerline, start_end)
        progress = np.clip(located[:, 1] - located[:, 0], 0.0, None)
        return aggregate(nc, dac, ttc, comfort, progress)

    def _no_at_fault_collision(self, states, corners, centres, observation, lateral_at_fault) -> np.ndarray:
        num_proposals, num_steps = states.shape[:2]
        nc = np.ones(num_proposals)
        p, t, m = _overlaps(corners, centres, self._radius, observation, np.arange(num_steps))
        if len(p) == 0:
            return nc
        hit_states = states[p, t]
        speed = np.hypot(hit_states[:, VX], hit_states[:, VY])
        behind = _relative_angle(hit_states, observation.poses[t, m, :2]) > np.deg2rad(BEHIND_DEG)
        front_edges = shapely.linestrings(corners[p, t][:, [0, 3]])  # front-left → front-right
        front = shapely.intersects(front_edges, observation.polygons[t, m])
        ignored: list[set[int]] = [set() for _ in range(num_proposals)]
        for k in range(len(p)):
            proposal, obj = p[k], m[k]
            if obj in ignored[proposal]:
                continue
            if speed[k] <= STOPPED_EGO_SPEED:
                at_fault = False  # stopped ego
            elif observation.stopped[obj]:
                at_fault = True  # stopped track
            elif behind[k]:
                at_fault = False  # active rear
            elif front[k]:
                at_fault = True  # active front
            else:
                at_fault = bool(lateral_at_fault[proposal, t[k]])  # active lateral
            if at_fault:
                nc[proposal] = min(nc[proposal], 0.0 if observation.is_agent[obj] else 0.5)
            else:
                ignored[proposal].add(obj)
        return nc

    def _time_to_collision(self, states, corners, centres, observation, area_at_fault) -> np.ndarray:
        num_proposals, num_steps = states.shape[:2]
        ttc = np.ones(num_proposals)
        speed = np.hypot(states[..., VX], states[..., VY])  # (P, T)
        shift = speed[..., None] * np.stack(
            [np.cos(states[..., HEADING]), np.sin(states[..., HEADING])], -1
        )  # (P, T, 2)
        rear_axles = states[..., [X, Y]]
        loose = area_at_fault | self.road.in_intersection(rear_axles)  # (P, T): "not behind" suffices
        hits = []  # (step, offset index, proposal, object)
        for offset_index, offset in enumerate(TTC_FRAME_OFFSETS):
            delta = shift * offset * DT
            frames = np.arange(num_steps) + offset
            p, t, m = _overlaps(corners + delta[..., None, :], centres + delta, self._radius, observation, frames)
            hits.append(np.stack([t, np.full_like(t, offset_index), p, m], axis=1))
        hits = np.concatenate(hits, axis=0)
        if len(hits) == 0:
            return ttc
        hits = hits[np.lexsort((hits[:, 1], hits[:, 0]))]  # time-major, then look-ahead
        t, offsets, p, m = hits.T
        frames = t + np.asarray(TTC_FRAME_OFFSETS)[offsets]
        angle = _relative_angle(states[p, t], observation.poses[frames, m, :2])
        ahead, behind = angle < np.deg2rad(AHEAD_DEG), angle > np.deg2rad(BEHIND_DEG)
        ignored: list[set[int]] = [set() for _ in range(num_proposals)]
        for k in range(len(p)):
            proposal, obj = p[k], m[k]
            if ttc[proposal] == 0.0 or obj in ignored[proposal] or speed[proposal, t[k]] < TTC_MIN_SPEED:
                continue
            if ahead[k] or (loose[proposal, t[k]] and not behind[k]):
                ttc[proposal] = 0.0
            else:
                ignored[proposal].add(obj)
        return ttc

    @property
    def _radius(self) -> float:
        return float(np.hypot(self.vehicle.half_length, self.vehicle.half_width))


def aggregate(nc, dac, ttc, comfort, progress) -> ProposalScores:
    """EP normalisation over the proposals scored together and the weighted PDM score (``_aggregate_scores``)."""
    multiplier = nc * dac
    weighted_progress = progress * multiplier
    best = weighted_progress.max()
    if best > PROGRESS_THRESHOLD:
        ep = weighted_progress / best
    else:
        ep = np.where(multiplier == 0.0, 0.0, 1.0)
    weighted = (WEIGHTS["ttc"] * ttc + WEIGHTS["ep"] * ep + WEIGHTS["comfort"] * comfort) / sum(WEIGHTS.values())
    return ProposalScores(nc, dac, ttc, comfort, ep, progress, multiplier * weighted)
