"""Fixtures for the evaluation tests: hand-built info records and a tiny nuScenes-format dataset.

The nuScenes tables are real JSON files read by the real devkit (``NuScenes``, ``DetectionEval``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from nuscenes.eval.detection.utils import category_to_detection_name
from PIL import Image
from pyquaternion import Quaternion

from onedrive.data.nuscenes.obstacles import is_obstacle
from onedrive.synthetic.nuscenes_writer import TABLES

NUM_STEPS = 6


def make_record(token: str, **overrides) -> dict:
    """An info record (docs/design.md §4) with a straight 3 s future at 5 m/s, no agents, a wide road."""
    ego = [[2.5 * (t + 1), 0.0] for t in range(NUM_STEPS)]
    record = {
        "token": token,
        "scene_token": "scene",
        "ego2global": np.eye(4).tolist(),
        "ego_fut_traj": ego,
        "ego_fut_mask": [1] * NUM_STEPS,
        "fut_valid": True,
        "gt_boxes": [],
        "gt_names": [],
        "gt_fut_traj": [],
        "gt_fut_yaw": [],
        "gt_fut_mask": [],
        "obstacle_boxes": [],
        "obstacle_categories": [],
        "obstacle_fut_traj": [],
        "obstacle_fut_yaw": [],
        "obstacle_fut_mask": [],
        "lanes": [],
        "drivable_area": [{"exterior": [[-50, -10], [50, -10], [50, 10], [-50, 10]], "holes": []}],
        "qa": [],
    }
    record.update(overrides)
    return record


AGENT_CATEGORIES = {  # the nuScenes category an agent of that name is annotated under
    "car": "vehicle.car",
    "truck": "vehicle.truck",
    "ambulance": "vehicle.emergency.ambulance",  # no detection class
    "pedestrian": "human.pedestrian.adult",
    "traffic_cone": "movable_object.trafficcone",
}


def add_agent(record: dict, name: str, fut_xy, fut_yaw=None, size=(4.0, 2.0), mask=None) -> dict:
    """Append an agent whose future centres are ``fut_xy`` (6, 2); its current box sits at step 1's position.

    As the converter does: a box of a detection class goes into ``gt_*``, a box of an obstacle category
    (``onedrive.data.nuscenes.obstacles``) into ``obstacle_*``.
    """
    fut_xy = np.asarray(fut_xy, dtype=float).reshape(NUM_STEPS, 2)
    fut_yaw = np.zeros(NUM_STEPS) if fut_yaw is None else np.asarray(fut_yaw, dtype=float)
    fut_mask = [1] * NUM_STEPS if mask is None else list(mask)
    box = [*fut_xy[0], 0.0, size[0], size[1], 1.5, float(fut_yaw[0])]
    category = AGENT_CATEGORIES[name]
    detection_name = category_to_detection_name(category)
    if detection_name is not None:
        record["gt_boxes"] = list(record["gt_boxes"]) + [box + [0.0, 0.0]]
        record["gt_names"] = list(record["gt_names"]) + [detection_name]
        record["gt_fut_traj"] = list(record["gt_fut_traj"]) + [fut_xy.tolist()]
        record["gt_fut_yaw"] = list(record["gt_fut_yaw"]) + [fut_yaw.tolist()]
        record["gt_fut_mask"] = list(record["gt_fut_mask"]) + [fut_mask]
    if is_obstacle(category):
        record["obstacle_boxes"] = list(record["obstacle_boxes"]) + [box]
        record["obstacle_categories"] = list(record["obstacle_categories"]) + [category]
        record["obstacle_fut_traj"] = list(record["obstacle_fut_traj"]) + [fut_xy.tolist()]
        record["obstacle_fut_yaw"] = list(record["obstacle_fut_yaw"]) + [fut_yaw.tolist()]
        record["obstacle_fut_mask"] = list(record["obstacle_fut_mask"]) + [fut_mask]
    return record


def write_infos(path: Path, records: list[dict], **metadata) -> Path:
    meta = {"dataset": "nuscenes", "version": "v1.0-mini", "split": "val", "lane_points": 11}
    meta.update(metadata)
    path.write_text(json.dumps({"metadata": meta, "infos": records}))
    return path


@pytest.fixture
def info_factory(tmp_path):
    def build(records, **metadata):
        return write_infos(tmp_path / "test_infos_val.json", records, **metadata)

    return build


# ----------------------------------------------------------------------------- tiny nuScenes
VERSION = "v1.0-mini"
CATEGORIES = {
    "vehicle.car": "car",
    "vehicle.truck": "truck",
    "human.pedestrian.adult": "pedestrian",
    "movable_object.barrier": "barrier",
}
ATTRIBUTES = [
    "vehicle.moving",
    "vehicle.parked",
    "vehicle.stopped",
    "pedestrian.moving",
    "pedestrian.standing",
    "pedestrian.sitting_lying_down",
    "cycle.with_rider",
    "cycle.without_rider",
]


def _yaw_quat(yaw: float) -> list[float]:
    return list(Quaternion(axis=[0, 0, 1], radians=yaw).elements)


def build_nuscenes(root: Path) -> dict:
    """Two scenes of 3 key frames each: scene-0103 (in the devkit's mini_val) and scene-0061 (mini_train).

    Objects: a moving car, a walking pedestrian, a parked truck and a barrier, each tracked over the
    scene. Returns {"root", "version", "scenes": {name: [sample tokens]}, "ego_poses": {sample token: (t, yaw)}}.
    """
    tables: dict[str, list] = {name: [] for name in TABLES}
    tables["sensor"].append({"token": "sensor-lidar", "channel": "LIDAR_TOP", "modality": "lidar"})
    tables["calibrated_sensor"].append(
        {
            "token": "cs-lidar",
            "sensor_token": "sensor-lidar",
            "translation": [0.94, 0.0, 1.84],
            "rotation": [1.0, 0.0, 0.0, 0.0],
            "camera_intrinsic": [],
        }
    )
    tables["visibility"].append({"token": "4", "level": "v80-100", "description": "visible"})
    for name in ATTRIBUTES:
        tables["attribute"].append({"token": f"attr-{name}", "name": name, "description": name})
    for name in CATEGORIES:
        tables["category"].append({"token": f"cat-{name}", "name": name, "description": name})
    tables["log"].append(
        {
            "token": "log-0",
            "logfile": "log-0",
            "vehicle": "n015",
            "date_captured": "2018-08-01",
            "location": "boston-seaport",
        }
    )
    (root / "maps").mkdir(parents=True)
    Image.new("L", (4, 4)).save(root / "maps" / "map-0.png")
    tables["map"].append(
        {"token": "map-0", "log_tokens": ["log-0"], "category": "semantic_prior", "filename": "maps/map-0.png"}
    )

    scenes, poses = {}, {}
    for s_index, scene_name in enumerate(["scene-0103", "scene-0061"]):
        scene_token = f"scene-{s_index}"
        samples = [f"s{s_index}-sample-{k}" for k in range(3)]
        scenes[scene_name] = samples
        tables["scene"].append(
            {
                "token": scene_token,
                "name": scene_name,
                "description": "",
                "log_token": "log-0",
                "nbr_samples": 3,
                "first_sample_token": samples[0],
                "last_sample_token": samples[-1],
            }
        )
        ego_yaw = 0.3 + s_index
        objects = {  # category, attribute, start (x, y) in ego frame, velocity (global m/s), size (w, l, h), yaw
            "car": ("vehicle.car", "vehicle.moving", (12.0, 3.0), (4.0, 1.0), (1.9, 4.5, 1.6), 0.25),
            "ped": ("human.pedestrian.adult", "pedestrian.moving", (8.0, -6.0), (0.0, 1.2), (0.7, 0.7, 1.8), 1.5),
            "truck": ("vehicle.truck", "vehicle.parked", (-15.0, 5.0), (0.0, 0.0), (2.5, 8.0, 3.2), -0.4),
            "barrier": ("movable_object.barrier", "", (5.0, 9.0), (0.0, 0.0), (0.5, 2.0, 1.0), 0.1),
        }
        ann_tokens = {key: [f"s{s_index}-ann-{key}-{k}" for k in range(3)] for key in objects}
        for key, (category, *_rest) in objects.items():
            tables["instance"].append(
                {
                    "token": f"s{s_index}-inst-{key}",
                    "category_token": f"cat-{category}",
                    "nbr_annotations": 3,
                    "first_annotation_token": ann_tokens[key][0],
                    "last_annotation_token": ann_tokens[key][-1],
                }
            )
        ego_start = np.array([100.0 + 500 * s_index, 200.0])
        rot = np.array([[math.cos(ego_yaw), -math.sin(ego_yaw)], [math.sin(ego_yaw), math.cos(ego_yaw)]])
        for k, token in enumerate(samples):
            timestamp = 1_500_000_000_000_000 + 500_000 * k + 10_000_000 * s_index
            ego_xy = ego_start + rot @ np.array([2.0 * k, 0.0])
            poses[token] = (ego_xy, ego_yaw)
            tables["sample"].append(
                {
                    "token": token,
                    "timestamp": timestamp,
                    "scene_token": scene_token,
                    "prev": samples[k - 1] if k else "",
                    "next": samples[k + 1] if k < 2 else "",
                }
            )
            tables["ego_pose"].append(
                {
                    "token": f"pose-{token}",
                    "translation": [*ego_xy, 0.0],
                    "rotation": _yaw_quat(ego_yaw),
                    "timestamp": timestamp,
                }
            )
            tables["sample_data"].append(
                {
                    "token": f"sd-{token}",
                    "sample_token": token,
                    "ego_pose_token": f"pose-{token}",
                    "calibrated_sensor_token": "cs-lidar",
                    "filename": f"samples/LIDAR_TOP/{token}.pcd.bin",
                    "fileformat": "pcd",
                    "width": 0,
                    "height": 0,
                    "timestamp": timestamp,
                    "is_key_frame": True,
                    "prev": "",
                    "next": "",
                }
            )
            for key, (_category, attribute, start, velocity, size, yaw) in objects.items():
                centre = ego_start + rot @ np.array(start) + np.array(velocity) * 0.5 * k
                tables["sample_annotation"].append(
                    {
                        "token": ann_tokens[key][k],
                        "sample_token": token,
                        "instance_token": f"s{s_index}-inst-{key}",
                        "attribute_tokens": [f"attr-{attribute}"] if attribute else [],
                        "visibility_token": "4",
                        "translation": [*centre, 1.0],
                        "size": list(size),
                        "rotation": _yaw_quat(ego_yaw + yaw),
                        "num_lidar_pts": 10,
                        "num_radar_pts": 0,
                        "prev": ann_tokens[key][k - 1] if k else "",
                        "next": ann_tokens[key][k + 1] if k < 2 else "",
                    }
                )
    version_dir = root / VERSION
    version_dir.mkdir(parents=True)
    for name, rows in tables.items():
        (version_dir / f"{name}.json").write_text(json.dumps(rows))
    (version_dir / "splits.json").write_text(json.dumps({"onedrive_eval": ["scene-0103"]}))
    return {"root": root, "version": VERSION, "scenes": scenes, "ego_poses": poses}


@pytest.fixture(scope="session")
def tiny_nuscenes(tmp_path_factory):
    return build_nuscenes(tmp_path_factory.mktemp("nuscenes"))


@pytest.fixture
def infos():
    """Record builders: ``infos.make(token, **overrides)``, ``infos.add_agent(record, name, fut_xy, ...)``."""
    return SimpleNamespace(make=make_record, add_agent=add_agent, write=write_infos)
