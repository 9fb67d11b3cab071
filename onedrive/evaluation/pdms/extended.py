"""NAVSIM v2's new rule metrics on simulated proposals: DDC, TLC and LK.

Follows ``PDMScorer`` of NAVSIM v2 (``navsim/planning/simulation/planner/pdm_planner/
scoring/pdm_scorer.py``) with the thresholds of its scorer config (``pdm_scorer.yaml``):

* Driving-direction compliance (``_calculate_driving_direction_compliance``, multiplier):
  at each 0.1 s state the box centre is "in oncoming traffic" when it lies in no on-route
  lane polygon (the lanes of the route's roadblocks, ``PDMSMap.on_route_lanes``) and not
  in an intersection; the distance the centre moved into such a state is summed over every
  window of the last 1 s (11 states); the largest sum < 2 m → 1, < 6 m → 0.5, else 0.
* Traffic-light compliance (``_calculate_traffic_light_compliance``, multiplier): 0 when
  the ego box at state t intersects an on-route lane connector whose light is red at the
  2 Hz frame t // 5 (NAVSIM repeats each frame's status for the 5 states after it).
* Lane keeping (``_calculate_lane_keeping``, weight 2): 0 when the box centre is more
  than 0.5 m from the route centerline for 20 consecutive states (2 s) outside
  intersections; states inside an intersection neither count nor break the run.
"""

from __future__ import annotations

import numpy as np
import shapely

from onedrive.evaluation.pdms.map import PDMSMap

DIRECTION_WINDOW = 10  # states (1.0 s): driving_direction_horizon / interval
DIRECTION_COMPLIANT, DIRECTION_VIOLATION = 2.0, 6.0  # m of oncoming progress
LANE_DEVIATION = 0.5  # m, lane_keeping_deviation_limit
LANE_RUN = 20  # states (2.0 s), lane_keeping_horizon_window / interval
STATES_PER_FRAME = 5  # 0.1 s states per 2 Hz frame


def driving_direction_compliance(centres: np.ndarray, road: PDMSMap) -> np.ndarray:
    """centres (P, T, 2) of the ego boxes → (P,) in {0, 0.5, 1}."""
    oncoming = ~road.in_lanes(centres, road.on_route_lanes()) & ~road.in_intersection(centres)  # (P, T)
    moved = np.zeros(centres.shape[:2])
    moved[:, 1:] = np.linalg.norm(np.diff(centres, axis=1), axis=-1)
    moved *= oncoming
    cumulative = np.concatenate([np.zeros((len(moved), 1)), np.cumsum(moved, axis=1)], axis=1)  # (P, T + 1)
    ends = np.arange(1, moved.shape[1] + 1)
    window = cumulative[:, ends] - cumulative[:, np.maximum(0, ends - DIRECTION_WINDOW - 1)]  # (P, T)
    worst = window.max(axis=1)
    return np.where(worst < DIRECTION_COMPLIANT, 1.0, np.where(worst < DIRECTION_VIOLATION, 0.5, 0.0))


def red_light_polygons(road: PDMSMap, red_lights) -> list[np.ndarray]:
    """Per 2 Hz frame, the polygons of the on-route lane connectors whose light is red (``red_lights``: ids)."""
    on_route = set(road.on_route_lanes())
    lanes = road.geometry.lane_polygons
    return [np.array([lanes[lane] for lane in frame if lane in on_route], dtype=object) for frame in red_lights]


def traffic_light_compliance(corners: np.ndarray, polygons_per_frame: list[np.ndarray]) -> np.ndarray:
    """corners (P, T, 4, 2) of the ego boxes, red polygons per 2 Hz frame → (P,) in {0, 1}."""
    num_proposals, num_steps = corners.shape[:2]
    compliant = np.ones(num_proposals)
    for step in range(num_steps):
        red = polygons_per_frame[step // STATES_PER_FRAME]
        if len(red) == 0:
            continue
        boxes = shapely.polygons(corners[:, step])  # (P,)
        hit = shapely.intersects(boxes[:, None], red[None, :]).any(axis=1)
        compliant[hit] = 0.0
    return compliant


def lane_keeping(centres: np.ndarray, road: PDMSMap, centerline: shapely.LineString) -> np.ndarray:
    """centres (P, T, 2) of the ego boxes and the route centerline → (P,) in {0, 1}."""
    deviation = shapely.distance(shapely.points(centres), centerline)  # (P, T)
    in_intersection = road.in_intersection(centres)
    keeping = np.ones(len(centres))
    for proposal in range(len(centres)):
        run = 0
        for step in range(centres.shape[1]):
            if in_intersection[proposal, step]:
                continue
            run = run + 1 if deviation[proposal, step] > LANE_DEVIATION else 0
            if run >= LANE_RUN:
                keeping[proposal] = 0.0
                break
    return keeping
