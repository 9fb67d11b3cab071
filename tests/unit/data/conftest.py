"""Fixtures for onedrive.data tests: a tiny config, the built tokenizer and info files
written by hand into tmp_path (docs/design.md §4 schema, images written with PIL)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from onedrive import OneDriveConfig
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.tiny import tiny_internvl_config

CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")
CAMERA_YAWS_DEG = (0.0, -55.0, 55.0, 180.0, 110.0, -110.0)
IMAGE_WH = (160, 96)  # aspect 5:3, processed to 2:1 → anisotropic resize


def camera_intrinsics(width: int = IMAGE_WH[0], height: int = IMAGE_WH[1]) -> np.ndarray:
    return np.array([[0.9 * width, 0.0, width / 2 - 0.5], [0.0, 0.9 * width, height / 2 - 0.5], [0.0, 0.0, 1.0]])


def camera_to_ego(yaw_deg: float) -> np.ndarray:
    """Camera (x right, y down, z forward) looking along ego yaw ``yaw_deg``, 1.5 m up."""
    yaw = np.deg2rad(yaw_deg)
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    transform = np.eye(4)
    transform[:3, :3] = np.stack([right, down, forward], axis=1)
    transform[:3, 3] = [1.0, 0.0, 1.5]
    return transform


def make_record(root: Path, token: str, index: int, qa: list[dict] | None = None) -> dict:
    """One info record with 6 camera images (distinct colours) written under ``root``."""
    cams = {}
    for camera_index, (name, yaw) in enumerate(zip(CAMERAS, CAMERA_YAWS_DEG, strict=True)):
        relative = f"samples/{name}/{token}.png"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        colour = (30 * camera_index + 10, 200 - 20 * index % 200, 90)
        Image.new("RGB", IMAGE_WH, colour).save(root / relative)
        cams[name] = {
            "path": relative,
            "intrinsics": camera_intrinsics().tolist(),
            "cam2ego": camera_to_ego(yaw).tolist(),
            "width": IMAGE_WH[0],
            "height": IMAGE_WH[1],
        }
    lanes = np.zeros((2, 11, 3))
    lanes[:, :, 0] = np.linspace(0, 20, 11)
    lanes[1, :, 1] = 3.5
    return {
        "token": token,
        "scene_token": "scene0",
        "scene_name": "scene-0001",
        "timestamp": 1_000_000 * index,
        "location": "boston-seaport",
        "ego2global": np.eye(4).tolist(),
        "cams": cams,
        "ego_status": [4.0, 0.1, 0.2, 0.0, 0.01, 4.0 + index],
        "ego_status_source": "poses",
        "gt_boxes": [
            [10.0, 1.0, 0.8, 4.5, 1.9, 1.6, 0.1, 4.0, 0.0],
            [5.0, -3.0, 0.9, 0.6, 0.6, 1.7, 1.0, 0.5, 0.5],
            [20.0, 4.0, 0.5, 0.4, 0.4, 0.9, 0.0, 0.0, 0.0],
        ],
        "gt_names": ["car", "pedestrian", "traffic_cone"],
        "gt_attributes": ["vehicle.moving", "pedestrian.moving", ""],
        "gt_instance_tokens": ["i0", "i1", "i2"],
        "gt_annotation_tokens": ["a0", "a1", "a2"],
        "gt_visibility": [4, 4, 4],
        "gt_num_lidar_pts": [10, 5, 1],
        "gt_num_radar_pts": [0, 0, 0],
        "ego_fut_traj": [[2.0 * step, 0.1 * step] for step in range(1, 7)],
        "ego_fut_mask": [1, 1, 1, 1, 0, 0],
        "fut_valid": False,
        "command": index % 3,
        "lanes": lanes.tolist(),
        "drivable_area": [],
        "qa": qa if qa is not None else [],
    }


def write_info_file(root: Path, records: list[dict], split: str = "val") -> Path:
    path = root / f"demo_infos_{split}.json"
    metadata = {
        "dataset": "nuscenes",
        "version": "v1.0-mini",
        "data_root": str(root),
        "split": split,
        "lane_points": 11,
        "classes": ["car", "pedestrian"],
        "created_by": "tests",
    }
    path.write_text(json.dumps({"metadata": metadata, "infos": records}))
    return path


QA_TURNS = [
    {"question": "How many cars are there?", "answer": "There is 1 car.", "type": "perception"},
    {"question": "What is the nearest object?", "answer": "A pedestrian 5.8 metres away.", "type": "perception"},
    {"question": "What should the ego vehicle do next?", "answer": "Keep going straight.", "type": "planning"},
]


@pytest.fixture(scope="session")
def tiny_config() -> OneDriveConfig:
    return OneDriveConfig(**tiny_internvl_config().to_dict())


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="session")
def processor(tiny_config, tokenizer) -> OneDriveProcessor:
    return OneDriveProcessor.from_config(tiny_config, tokenizer)


@pytest.fixture
def info_dir(tmp_path) -> Path:
    """tmp_path holding an info file of 4 records (two with QA, two without) and their images."""
    records = [make_record(tmp_path, f"tok{index}", index, QA_TURNS if index < 2 else []) for index in range(4)]
    write_info_file(tmp_path, records)
    return tmp_path


@pytest.fixture
def records():
    """Helpers to build records by hand (importlib mode: tests cannot import this module)."""
    return SimpleNamespace(
        make=make_record,
        write=write_info_file,
        intrinsics=camera_intrinsics,
        cam2ego=camera_to_ego,
        cameras=CAMERAS,
        image_wh=IMAGE_WH,
        qa=QA_TURNS,
    )
