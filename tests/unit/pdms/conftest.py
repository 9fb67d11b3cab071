"""Hand-built PDMS scenarios on a straight road written as a real map file.

Tests reach the helpers through the ``pdms`` fixture (pytest runs with importlib mode,
so test modules cannot import this file).

Road along +x from x = 0 to 300 m: forward lanes ``r0a``→``r0b`` (centre y = 0, split at
x = 150) and ``r1`` (y = 3.5), oncoming lane ``o0`` (y = 7, driving towards -x); lanes are
3.5 m wide; roadblocks ``fwd`` (y ∈ [-1.75, 5.25]) and ``onc`` (y ∈ [5.25, 8.75]); an
intersection polygon covers x ∈ [250, 300]. Route ``r0a``, ``r0b``; speed limit 10 m/s.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from onedrive.evaluation.pdms.map import load_map
from onedrive.evaluation.pdms.scene import EgoState, ObjectTrack, PDMSScene

EGO_X = 20.0


def _rect(x0: float, x1: float, y0: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def road_dict() -> dict:
    def lane(lane_id, x0, x1, y, successors, reverse=False):
        centre = [[x, y] for x in np.linspace(x0, x1, 31)]
        return {
            "id": lane_id,
            "centerline": centre[::-1] if reverse else centre,
            "polygon": _rect(x0, x1, y - 1.75, y + 1.75),
            "successors": successors,
            "speed_limit": 10.0,
        }

    return {
        "format": "onedrive-pdms-map",
        "version": 1,
        "drivable_areas": [
            {"id": "fwd", "type": "roadblock", "exterior": _rect(0, 250, -1.75, 5.25)},
            {"id": "onc", "type": "roadblock", "exterior": _rect(0, 250, 5.25, 8.75)},
            {"id": "junction", "type": "intersection", "exterior": _rect(250, 300, -1.75, 8.75)},
        ],
        "lanes": [
            lane("r0a", 0, 150, 0.0, ["r0b"]),
            lane("r0b", 150, 300, 0.0, []),
            lane("r1", 0, 300, 3.5, []),
            lane("o0", 0, 300, 7.0, [], reverse=True),
        ],
        "route": ["r0a", "r0b"],
    }


@pytest.fixture
def road_file(tmp_path):
    path = tmp_path / "road.json"
    path.write_text(json.dumps(road_dict()), encoding="utf-8")
    return path


@pytest.fixture
def road(road_file):
    return load_map(road_file)


def vehicle_track(token: str, x: float, y: float, vx: float, cls: str = "vehicle", size=(4.5, 1.9)) -> ObjectTrack:
    """An object moving along x at constant ``vx`` (heading follows the sign), 2 Hz over 5 s."""
    times = np.arange(11) * 0.5
    heading = 0.0 if vx >= 0 else np.pi
    poses = np.stack([x + vx * times, np.full_like(times, y), np.full_like(times, heading)], axis=1)
    velocities = np.stack([np.full_like(times, vx), np.zeros_like(times)], axis=1)
    return ObjectTrack(token, cls, times, poses, velocities, *size)


def make_scene(road, speed: float, objects=(), token: str = "tok", accel: float = 0.0) -> PDMSScene:
    return PDMSScene(token, EgoState(EGO_X, 0.0, 0.0, (speed, 0.0), (accel, 0.0)), tuple(objects), road)


def straight_poses(speed: float, accel: float = 0.0, lateral: float = 0.0) -> np.ndarray:
    """(8, 3) poses along +x starting at ``speed`` with constant ``accel`` (never reversing),
    drifting linearly to ``lateral`` metres at 4 s."""
    t = np.arange(1, 9) * 0.5
    stop = t if accel >= 0 else np.minimum(t, speed / -accel)
    x = speed * stop + 0.5 * accel * stop**2
    return np.stack([x, lateral * t / 4.0, np.zeros_like(t)], axis=1)


class _Helpers:
    EGO_X = EGO_X
    road_dict = staticmethod(road_dict)
    vehicle_track = staticmethod(vehicle_track)
    make_scene = staticmethod(make_scene)
    straight_poses = staticmethod(straight_poses)


@pytest.fixture
def pdms():
    """The scenario helpers of this file."""
    return _Helpers
