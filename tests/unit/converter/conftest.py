"""A tiny nuScenes world written to disk in the real layout, read by the real devkit.

Two scenes in ``boston-seaport`` (v1.0-tiny, custom splits ``tiny_train`` /
``tiny_val`` in ``splits.json``):

* scene-0001: the ego drives straight east at 5 m/s along y = 1.75 (10 key frames);
  a car ahead, a pedestrian seen in key frames 0–4, a barrier seen once (NaN devkit
  velocity), an animal (not a detection class).
* scene-0002: the ego curves left (y = 1.75 + 0.4 t², small pitch, 8 key frames); a
  truck annotated in key frames 0, 1 and 3 (a gap).

Map: an east and a west lane along y = ±1.75 (x from -20 to 220), a north lane at
x = 101.75, drivable area = the main road plus an overlapping side road. Cameras are
32 × 16 PNGs, each camera captured 10 ms after the previous one with its own ego pose.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pyquaternion import Quaternion

CAMERAS = {  # channel: yaw of the optical axis in the ego frame
    "CAM_FRONT": 0.0,
    "CAM_FRONT_RIGHT": -0.96,
    "CAM_FRONT_LEFT": 0.96,
    "CAM_BACK": math.pi,
    "CAM_BACK_LEFT": 1.9,
    "CAM_BACK_RIGHT": -1.9,
}
VERSION = "v1.0-tiny"
START_US = 1_530_000_000_000_000


@dataclass
class TinyWorld:
    root: Path
    version: str
    scene_tokens: list[str]
    sample_tokens: dict[str, list[str]]  # scene name → key-frame tokens in order


def yaw_quaternion(yaw: float, pitch: float = 0.0) -> list[float]:
    rotation = Quaternion(axis=[0, 0, 1], angle=yaw) * Quaternion(axis=[0, 1, 0], angle=pitch)
    return [float(v) for v in rotation.elements]


def camera_rotation(yaw: float) -> list[float]:
    front = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # OpenCV camera → ego
    turn = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    return [float(v) for v in Quaternion(matrix=turn @ front).elements]


def ego_state(scene: int, t: float) -> tuple[list[float], list[float]]:
    if scene == 1:
        return [5.0 + 5.0 * t, 1.75, 0.0], yaw_quaternion(0.0)
    return [20.0 + 6.0 * t, 1.75 + 0.4 * t * t, 0.0], yaw_quaternion(math.atan2(0.8 * t, 6.0), pitch=0.01)


def _box_tracks(scene: int) -> list[dict]:
    """Instances: category, size (w, l, h), {key-frame index: (x, y, yaw)}."""
    if scene == 1:
        return [
            {
                "category": "vehicle.car",
                "size": [1.9, 4.5, 1.6],
                "poses": {k: (30 + 2.0 * k, 1.75, 0.0) for k in range(10)},
            },
            {
                "category": "human.pedestrian.adult",
                "size": [0.6, 0.7, 1.8],
                "poses": {k: (40.0, 6.0 - 0.5 * k, -math.pi / 2) for k in range(5)},
            },
            {"category": "movable_object.barrier", "size": [2.0, 0.5, 1.0], "poses": {2: (60.0, -5.0, 0.3)}},
            {"category": "animal", "size": [0.5, 1.0, 0.6], "poses": {k: (25.0, -6.0, 1.0) for k in range(10)}},
        ]
    return [
        {
            "category": "vehicle.truck",
            "size": [2.5, 8.0, 3.2],
            "poses": {0: (45.0, -1.75, math.pi), 1: (40.0, -1.75, math.pi), 3: (30.0, -1.75, math.pi)},
        }
    ]


def _write_map(root: Path) -> None:
    nodes, polygons, tokens = [], [], iter(range(10_000))

    def polygon(corners):
        token = f"polygon-{next(tokens)}"
        node_tokens = []
        for x, y in corners:
            node = f"node-{next(tokens)}"
            nodes.append({"token": node, "x": x, "y": y})
            node_tokens.append(node)
        polygons.append({"token": token, "exterior_node_tokens": node_tokens, "holes": []})
        return token

    def rectangle(x0, y0, x1, y1):
        return polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def straight(x, y, yaw, length):
        return [
            {
                "start_pose": [x, y, yaw],
                "end_pose": [x + length * math.cos(yaw), y + length * math.sin(yaw), yaw],
                "shape": "LSR",
                "radius": 999.999,
                "segment_length": [0.0, length, 0.0],
            }
        ]

    lanes = {
        "lane-east": (rectangle(-20, 0, 220, 3.5), straight(-20.0, 1.75, 0.0, 240.0)),
        "lane-west": (rectangle(-20, -3.5, 220, 0), straight(220.0, -1.75, math.pi, 240.0)),
        "lane-north": (rectangle(100, 7, 103.5, 107), straight(101.75, 7.0, math.pi / 2, 100.0)),
    }
    drivable = [rectangle(-30, -7, 230, 7), rectangle(96.5, 0, 103.5, 110)]
    empty = ["road_segment", "road_block", "ped_crossing", "walkway", "stop_line", "carpark_area"]
    empty += ["road_divider", "lane_divider", "traffic_light", "lane_connector", "line"]
    document = {
        "version": "1.3",
        "canvas_edge": [400.0, 400.0],
        "node": nodes,
        "polygon": polygons,
        "drivable_area": [{"token": "drivable-0", "polygon_tokens": drivable}],
        "lane": [
            {"token": token, "polygon_token": poly, "left_lane_divider_segments": [], "right_lane_divider_segments": []}
            for token, (poly, _) in lanes.items()
        ],
        "arcline_path_3": {token: arcs for token, (_, arcs) in lanes.items()},
        "connectivity": {token: {"incoming": [], "outgoing": []} for token in lanes},
        **{layer: [] for layer in empty},
    }
    path = root / "maps" / "expansion" / "boston-seaport.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))


def write_tiny_nuscenes(root: Path) -> TinyWorld:
    tables: dict[str, list[dict]] = {
        name: []
        for name in (
            "category",
            "attribute",
            "visibility",
            "instance",
            "sensor",
            "calibrated_sensor",
            "ego_pose",
            "log",
            "scene",
            "sample",
            "sample_data",
            "sample_annotation",
            "map",
        )
    }
    categories = ["vehicle.car", "vehicle.truck", "human.pedestrian.adult", "movable_object.barrier", "animal"]
    tables["category"] = [{"token": f"cat-{name}", "name": name, "description": ""} for name in categories]
    tables["attribute"] = [{"token": "attr-moving", "name": "vehicle.moving", "description": ""}]
    tables["visibility"] = [{"token": str(level), "level": f"v{level}", "description": ""} for level in range(1, 5)]
    channels = {**CAMERAS, "LIDAR_TOP": None}
    for channel, yaw in channels.items():
        tables["sensor"].append(
            {"token": f"sensor-{channel}", "channel": channel, "modality": "lidar" if yaw is None else "camera"}
        )
        tables["calibrated_sensor"].append(
            {
                "token": f"calib-{channel}",
                "sensor_token": f"sensor-{channel}",
                "translation": [1.0, 0.0, 1.8] if yaw is None else [1.5 * math.cos(yaw), 0.5 * math.sin(yaw), 1.6],
                "rotation": yaw_quaternion(0.0) if yaw is None else camera_rotation(yaw),
                "camera_intrinsic": [] if yaw is None else [[20.0, 0.0, 16.0], [0.0, 20.0, 8.0], [0.0, 0.0, 1.0]],
            }
        )
    tables["log"].append(
        {
            "token": "log-0",
            "logfile": "tiny-log",
            "vehicle": "n015",
            "date_captured": "2018-07-01",
            "location": "boston-seaport",
        }
    )
    (root / "maps").mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), 255).save(root / "maps" / "prior.png")
    tables["map"].append(
        {"token": "map-0", "log_tokens": ["log-0"], "category": "semantic_prior", "filename": "maps/prior.png"}
    )
    _write_map(root)

    world = TinyWorld(root=root, version=VERSION, scene_tokens=[], sample_tokens={})
    for scene, count in ((1, 10), (2, 8)):
        name = f"scene-{scene:04d}"
        tokens = [f"s{scene}-sample-{k}" for k in range(count)]
        world.scene_tokens.append(f"scene-token-{scene}")
        world.sample_tokens[name] = tokens
        tables["scene"].append(
            {
                "token": f"scene-token-{scene}",
                "name": name,
                "description": "",
                "log_token": "log-0",
                "nbr_samples": count,
                "first_sample_token": tokens[0],
                "last_sample_token": tokens[-1],
            }
        )
        previous = {channel: "" for channel in channels}
        for k, token in enumerate(tokens):
            t = 0.5 * k + 0.002 * (k % 3)  # slightly irregular key-frame spacing
            timestamp = START_US + scene * 100_000_000 + round(t * 1e6)
            tables["sample"].append(
                {
                    "token": token,
                    "timestamp": timestamp,
                    "scene_token": f"scene-token-{scene}",
                    "prev": tokens[k - 1] if k else "",
                    "next": tokens[k + 1] if k + 1 < count else "",
                }
            )
            for index, channel in enumerate(channels):
                offset = 0.0 if channel == "LIDAR_TOP" else 0.01 * (index + 1)
                translation, rotation = ego_state(scene, t + offset)
                sd_token = f"sd-{token}-{channel}"
                tables["ego_pose"].append(
                    {
                        "token": f"pose-{sd_token}",
                        "translation": translation,
                        "rotation": rotation,
                        "timestamp": timestamp + int(offset * 1e6),
                    }
                )
                filename = (
                    f"samples/{channel}/{sd_token}.png"
                    if channel != "LIDAR_TOP"
                    else f"samples/LIDAR_TOP/{sd_token}.pcd.bin"
                )
                if channel != "LIDAR_TOP":
                    (root / filename).parent.mkdir(parents=True, exist_ok=True)
                    Image.new("RGB", (32, 16), (k * 20, index * 30, 90)).save(root / filename)
                tables["sample_data"].append(
                    {
                        "token": sd_token,
                        "sample_token": token,
                        "ego_pose_token": f"pose-{sd_token}",
                        "calibrated_sensor_token": f"calib-{channel}",
                        "filename": filename,
                        "fileformat": "png" if channel != "LIDAR_TOP" else "pcd",
                        "width": 32 if channel != "LIDAR_TOP" else 0,
                        "height": 16 if channel != "LIDAR_TOP" else 0,
                        "timestamp": timestamp + int(offset * 1e6),
                        "is_key_frame": True,
                        "prev": previous[channel],
                        "next": "",
                    }
                )
                if previous[channel]:
                    next(r for r in tables["sample_data"] if r["token"] == previous[channel])["next"] = sd_token
                previous[channel] = sd_token
        for number, track in enumerate(_box_tracks(scene)):
            instance = f"inst-{scene}-{number}"
            frames = sorted(track["poses"])
            ann_tokens = [f"ann-{instance}-{k}" for k in frames]
            tables["instance"].append(
                {
                    "token": instance,
                    "category_token": f"cat-{track['category']}",
                    "nbr_annotations": len(frames),
                    "first_annotation_token": ann_tokens[0],
                    "last_annotation_token": ann_tokens[-1],
                }
            )
            for i, k in enumerate(frames):
                x, y, yaw = track["poses"][k]
                tables["sample_annotation"].append(
                    {
                        "token": ann_tokens[i],
                        "sample_token": tokens[k],
                        "instance_token": instance,
                        "visibility_token": str(1 + (k + number) % 4),
                        "attribute_tokens": ["attr-moving"] if track["category"].startswith("vehicle") else [],
                        "translation": [x, y, track["size"][2] / 2],
                        "size": track["size"],
                        "rotation": yaw_quaternion(yaw),
                        "num_lidar_pts": 10 + k,
                        "num_radar_pts": k,
                        "prev": ann_tokens[i - 1] if i else "",
                        "next": ann_tokens[i + 1] if i + 1 < len(frames) else "",
                    }
                )
    table_root = root / VERSION
    table_root.mkdir(parents=True, exist_ok=True)
    for name, records in tables.items():
        (table_root / f"{name}.json").write_text(json.dumps(records))
    (table_root / "splits.json").write_text(json.dumps({"tiny_train": ["scene-0001"], "tiny_val": ["scene-0002"]}))
    return world


@pytest.fixture
def tiny_world(tmp_path) -> TinyWorld:
    return write_tiny_nuscenes(tmp_path / "nuscenes")
