"""Per-token scenes for the PDM scorer (``onedrive.evaluation.pdms``), written next to the info files.

``<out>/navsim_pdms_<split>.json`` (written atomically)::

    {"format": "onedrive-pdms-scenes", "version": 1, "split": ..., "data_root": ...,
     "maps": {map_location: "maps/<map_location>.json"},     # relative to data_root
     "scenes": {token: {
         "map_location": ..., "route": [lane id, ...],          # the frame's roadblock_ids
         "ego": {"x", "y", "heading", "velocity": [vx, vy], "acceleration": [ax, ay]},
         "objects": [{"token", "object_class", "times": [s], "poses": [[x, y, heading]],
                      "velocities": [[vx, vy]], "length", "width"}],
         "log_name": ..., "time": s,                            # the token's log and timestamp
         "history": [[x, y, heading, vx, vy, ax, ay] × 3],     # frames 1.5, 1.0, 0.5 s before
         "human": [[x, y, heading] × 8],                        # the logged future, current frame
         "red_lights": [[lane connector id, ...] × 9]}}}        # red at 0, 0.5, ..., 4 s

Global frame, metres, seconds since the token's frame. The ego is the current frame's
rear-axle pose with its ``ego_dynamic_state`` (yaw rate and steering 0, as in nuPlan
logs). Objects are the annotated tracks of the current frame and the 10 future frames
(5 s, NAVSIM's metric cache horizon), one track per ``track_token``, class from the
nuPlan name (``vehicle``, ``pedestrian``, ``bicycle``; everything else ``static``).
``history``, ``human`` and ``red_lights`` are NAVSIM v2's extended-score inputs
(``EPDMSInputs``): the history frames' poses and ``ego_dynamic_state``, the future poses
(``scenes.future_poses``) and the ``traffic_lights`` entries ``[lane_connector_id, is_red]``
with ``is_red`` true of the current and the next 8 frames.

The map is the PDM scorer's JSON map (``onedrive/evaluation/pdms/map.py``) at
``<data_root>/maps/<map_location>.json`` and the route is a chain of its lane ids. The
synthetic NAVSIM logs provide both; for OpenScene logs of nuPlan a map in that format
must be made from the nuPlan maps first (not provided here), and conversion stops with
an error naming the token and the expected map path.

    python -c "from onedrive.evaluation.pdms.scene_file import load_pdms_scenes; help(load_pdms_scenes)"
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from onedrive.data.navsim.logs import ego2global, global_pose, lidar2ego
from onedrive.data.navsim.scenes import NUM_HISTORY, NavsimScene, future_poses
from onedrive.evaluation.pdms.map import PDMSMap, load_map
from onedrive.evaluation.pdms.scene import HISTORY_FRAMES, LIGHT_FRAMES
from onedrive.evaluation.pdms.scene_file import SCENES_FORMAT, SCENES_VERSION
from onedrive.io import write_json_atomic

AGENT_CLASSES = {"vehicle": "vehicle", "pedestrian": "pedestrian", "bicycle": "bicycle"}


def map_path(data_root: str | Path, location: str) -> Path:
    return Path(data_root) / "maps" / f"{location}.json"


def _history_state(frame: dict) -> list[float]:
    """[x, y, heading, vx, vy, ax, ay]: the frame's global rear-axle pose and its ``ego_dynamic_state``."""
    return [float(v) for v in global_pose(frame)] + [float(v) for v in frame["ego_dynamic_state"]]


def _red_lights(scene: NavsimScene, frame: dict) -> list[str]:
    lights = frame.get("traffic_lights")
    if lights is None:
        raise ValueError(f"token {scene.token!r}: frame {frame['token']!r} has no 'traffic_lights'")
    try:
        return [str(lane) for lane, is_red in lights if bool(is_red)]
    except (TypeError, ValueError):
        raise ValueError(
            f"token {scene.token!r}: frame {frame['token']!r} traffic_lights must be [lane_connector_id, is_red] "
            f"pairs, got {lights!r}"
        ) from None


def pdms_entry(scene: NavsimScene) -> dict:
    """The scorer's view of one token (JSON-ready, see module docstring)."""
    current = scene.current
    x, y, heading = global_pose(current)
    vx, vy, ax, ay = (float(v) for v in current["ego_dynamic_state"])
    t0 = current["timestamp"]
    tracks: dict[str, dict] = {}
    for frame in scene.frames[NUM_HISTORY - 1 :]:
        anns = frame.get("anns")
        if anns is None:
            raise ValueError(f"token {scene.token!r}: frame {frame['token']!r} has no 'anns' (annotations)")
        to_global = ego2global(frame)
        velocity_rotation = to_global[:3, :3] @ lidar2ego(frame)[:3, :3]  # lidar-frame velocities → global
        boxes = np.asarray(anns["gt_boxes"], dtype=np.float64).reshape(-1, 7)
        velocities = np.asarray(anns["gt_velocity_3d"], dtype=np.float64).reshape(-1, 3)
        yaw = global_pose(frame)[2]
        for row, track_token in enumerate(anns["track_tokens"]):
            centre = to_global[:3, :3] @ boxes[row, :3] + to_global[:3, 3]
            box_heading = float(np.arctan2(np.sin(boxes[row, 6] + yaw), np.cos(boxes[row, 6] + yaw)))
            track = tracks.setdefault(
                track_token,
                {
                    "token": track_token,
                    "object_class": AGENT_CLASSES.get(str(anns["gt_names"][row]), "static"),
                    "times": [],
                    "poses": [],
                    "velocities": [],
                    "length": float(boxes[row, 3]),
                    "width": float(boxes[row, 4]),
                },
            )
            track["times"].append((frame["timestamp"] - t0) / 1e6)
            track["poses"].append([float(centre[0]), float(centre[1]), box_heading])
            track["velocities"].append([float(v) for v in (velocity_rotation @ velocities[row])[:2]])
    return {
        "map_location": current["map_location"],
        "route": [str(lane) for lane in current["roadblock_ids"]],
        "ego": {
            "x": float(x),
            "y": float(y),
            "heading": float(heading),
            "velocity": [vx, vy],
            "acceleration": [ax, ay],
        },
        "objects": list(tracks.values()),
        "log_name": current["log_name"],
        "time": t0 / 1e6,
        "history": [
            _history_state(frame) for frame in scene.frames[NUM_HISTORY - 1 - HISTORY_FRAMES : NUM_HISTORY - 1]
        ],
        "human": future_poses(scene).tolist(),
        "red_lights": [
            _red_lights(scene, frame) for frame in scene.frames[NUM_HISTORY - 1 : NUM_HISTORY - 1 + LIGHT_FRAMES]
        ],
    }


def check_entry(token: str, entry: dict, maps: dict[str, PDMSMap], data_root: Path) -> None:
    """Raise ``ValueError`` naming the token when its map is missing or its route is not a lane chain of it."""
    location = entry["map_location"]
    if location not in maps:
        path = map_path(data_root, location)
        if not path.is_file():
            raise ValueError(f"token {token!r}: map {location!r} not found, expected the PDM map file {path}")
        maps[location] = load_map(path)
    try:
        maps[location].with_route(entry["route"])
    except ValueError as error:
        raise ValueError(f"token {token!r}: route (roadblock_ids) does not fit map {location!r}: {error}") from None


def write_pdms_scenes(path: str | Path, split: str, data_root: str | Path, entries: dict[str, dict]) -> Path:
    """Write the scene file of ``entries`` (token → ``pdms_entry``) atomically."""
    locations = sorted({entry["map_location"] for entry in entries.values()})
    document = {
        "format": SCENES_FORMAT,
        "version": SCENES_VERSION,
        "split": split,
        "data_root": str(Path(data_root).resolve()),
        "maps": {location: f"maps/{location}.json" for location in locations},
        "scenes": entries,
    }
    return write_json_atomic(path, document)
