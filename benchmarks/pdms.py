"""Synthetic NAVSIM-style scenes built in code, and the PDMS speed benchmark.

``road_map`` builds a straight or constant-curvature road: two lanes in the ego's direction
and one oncoming lane, each 3.5 m wide and cut into 50 m lanes linked as successors, one
roadblock polygon per direction and the route along the rightmost lane. ``synthetic_scene``
puts the ego on it with a lead vehicle, a vehicle in the next lane, an oncoming vehicle,
a pedestrian beside the road and a traffic cone on the shoulder (tracks at 2 Hz over 5 s),
plus an agent trajectory that keeps the lane at a noisy constant speed.

    python -c "from benchmarks.pdms import benchmark_pdms; print(benchmark_pdms(200))"
"""

from __future__ import annotations

import time

import numpy as np

from onedrive.evaluation.pdms.map import DrivableArea, Lane, PDMSMap, map_from_dict, map_to_dict
from onedrive.evaluation.pdms.reference import Path
from onedrive.evaluation.pdms.runner import score_tokens
from onedrive.evaluation.pdms.scene import EgoState, ObjectTrack, PDMSScene

LANE_WIDTH = 3.5
SEGMENT_LENGTH = 50.0


def _reference_line(length: float, curvature: float, step: float = 1.0) -> np.ndarray:
    """(K, 3) x, y, heading of a road axis starting at the origin along +x."""
    s = np.arange(0.0, length + step / 2, step)
    if abs(curvature) < 1e-9:
        return np.stack([s, np.zeros_like(s), np.zeros_like(s)], axis=1)
    heading = s * curvature
    return np.stack([np.sin(heading) / curvature, (1 - np.cos(heading)) / curvature, heading], axis=1)


def _offset(line: np.ndarray, lateral: float) -> np.ndarray:
    """(K, 3) line moved ``lateral`` metres to its left → (K, 2)."""
    return line[:, :2] + lateral * np.stack([-np.sin(line[:, 2]), np.cos(line[:, 2])], axis=1)


def _band(line: np.ndarray, right: float, left: float) -> np.ndarray:
    """Polygon (K, 2) between two lateral offsets of ``line``."""
    return np.concatenate([_offset(line, right), _offset(line, left)[::-1]], axis=0)


def road_map(length: float = 200.0, curvature: float = 0.0) -> PDMSMap:
    """Two lanes with the ego's direction (lateral centres 0 and +3.5 m), one oncoming (+7 m)."""
    axis = _reference_line(length, curvature)
    lanes: dict[str, Lane] = {}
    per_segment = int(round(SEGMENT_LENGTH))
    starts = list(range(0, len(axis) - 1, per_segment))
    for lane_index, (lateral, reverse) in enumerate([(0.0, False), (LANE_WIDTH, False), (2 * LANE_WIDTH, True)]):
        ids = [f"lane_{lane_index}_{k}" for k in range(len(starts))]
        for k, begin in enumerate(starts):
            piece = axis[begin : min(begin + per_segment, len(axis) - 1) + 1]
            centre = _offset(piece, lateral)
            polygon = _band(piece, lateral - LANE_WIDTH / 2, lateral + LANE_WIDTH / 2)
            if reverse:
                successors = (ids[k - 1],) if k > 0 else ()
                centre = centre[::-1]
            else:
                successors = (ids[k + 1],) if k + 1 < len(ids) else ()
            lanes[ids[k]] = Lane(ids[k], centre, polygon, successors, 13.9)
    areas = [
        DrivableArea("roadblock_forward", "roadblock", _band(axis, -LANE_WIDTH / 2, 1.5 * LANE_WIDTH)),
        DrivableArea("roadblock_oncoming", "roadblock", _band(axis, 1.5 * LANE_WIDTH, 2.5 * LANE_WIDTH)),
    ]
    route = [f"lane_0_{k}" for k in range(len(starts))]
    return map_from_dict(map_to_dict(PDMSMap(tuple(areas), lanes, tuple(route))), "road_map")


def _track(token: str, cls: str, path: Path, start: float, speed: float, size: tuple[float, float]) -> ObjectTrack:
    times = np.arange(11) * 0.5  # 2 Hz over 5 s, as NAVSIM's metric cache samples the log
    poses = path.interpolate(start + speed * times)
    velocities = speed * np.stack([np.cos(poses[:, 2]), np.sin(poses[:, 2])], axis=1)
    return ObjectTrack(token, cls, times, poses, velocities, *size)


def synthetic_scene(token: str, road: PDMSMap, rng: np.random.Generator) -> tuple[PDMSScene, np.ndarray]:
    """A scene on ``road`` and an agent trajectory (8, 3) in the ego's rear-axle frame."""
    lane_ids = [[i for i in road.lanes if i.startswith(f"lane_{k}_")] for k in range(3)]
    lane_ids[2] = lane_ids[2][::-1]  # the oncoming lane runs the other way
    lane_paths = [Path(road.with_route(ids).route_path()) for ids in lane_ids]
    ego_path = lane_paths[0]
    start = rng.uniform(10.0, 30.0)
    speed = rng.uniform(4.0, 12.0)
    pose = ego_path.interpolate(np.array([start]))[0] + rng.normal(0.0, [0.2, 0.2, 0.02])
    ego = EgoState(pose[0], pose[1], pose[2], (speed, 0.0), (rng.normal(0.0, 0.3), 0.0))

    objects = (
        _track("lead", "vehicle", ego_path, start + rng.uniform(15, 40), rng.uniform(3, 12), (4.5, 1.9)),
        _track("side", "vehicle", lane_paths[1], start + rng.uniform(-10, 20), rng.uniform(4, 14), (4.8, 2.0)),
        _track("oncoming", "vehicle", lane_paths[2], lane_paths[2].length - start - 60, rng.uniform(5, 12), (4.6, 1.9)),
        _track("walker", "pedestrian", ego_path.shifted(-3.5), start + 20, 1.2, (0.6, 0.6)),
        _track("cone", "static", ego_path.shifted(-2.2), start + 30, 0.0, (0.4, 0.4)),
    )

    agent_speed = speed + rng.normal(0.0, 1.0)
    future = ego_path.interpolate(start + agent_speed * np.arange(1, 9) * 0.5)  # (8, 3) global
    cos, sin = np.cos(ego.heading), np.sin(ego.heading)
    delta = future[:, :2] - np.array([ego.x, ego.y])
    local = np.stack(
        [cos * delta[:, 0] + sin * delta[:, 1], -sin * delta[:, 0] + cos * delta[:, 1], future[:, 2] - ego.heading], 1
    )
    local[:, 2] = np.arctan2(np.sin(local[:, 2]), np.cos(local[:, 2]))
    return PDMSScene(token, ego, objects, road), local


def synthetic_scenes(num_tokens: int, seed: int = 0) -> tuple[list[PDMSScene], dict[str, np.ndarray]]:
    """``num_tokens`` scenes alternating a straight road and a curve (radius 150 m)."""
    rng = np.random.default_rng(seed)
    roads = [road_map(curvature=0.0), road_map(curvature=1.0 / 150.0)]
    scenes, trajectories = [], {}
    for index in range(num_tokens):
        scene, poses = synthetic_scene(f"synthetic_{index:05d}", roads[index % 2], rng)
        scenes.append(scene)
        trajectories[scene.token] = poses
    return scenes, trajectories


def benchmark_pdms(num_tokens: int = 1000, workers: int = 2, seed: int = 0) -> dict:
    """Time ``score_tokens`` on synthetic scenes; returns seconds, tokens per second and the summary."""
    scenes, trajectories = synthetic_scenes(num_tokens, seed)
    start = time.perf_counter()
    _, summary = score_tokens(scenes, trajectories, workers=workers)
    seconds = time.perf_counter() - start
    return {
        "num_tokens": num_tokens,
        "workers": workers,
        "seconds": seconds,
        "tokens_per_second": num_tokens / seconds,
        **summary,
    }
