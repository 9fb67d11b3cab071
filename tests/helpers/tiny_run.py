"""A tiny, complete training setup on real files: random info file + images, tiny model config.

Used by the training tests and ``benchmark_training``: ``write_random_drive_data`` writes
an info file in the layout of docs/design.md §4 (2 cameras, JPEG images, boxes, lanes,
trajectory, ego history, QA; the planning mode anchors in its metadata) that ``onedrive.data.DriveDataset`` reads like any other, and
``tiny_experiment`` returns an ``ExperimentConfig`` for the tiny random InternVL3
(``model.tiny``), the built-in tokenizer and that data.

    python -c "from tiny_run import write_random_drive_data as w; print(w('/tmp/tiny_drive'))"
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from onedrive.data.ego_history import key_frame_history
from onedrive.data.plan_anchors import mode_anchors
from onedrive.training.config import (
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    RecipeConfig,
    TinyInternVLConfig,
    TrainConfig,
)

TINY_CAMERAS = ("CAM_FRONT", "CAM_BACK")
TINY_TASK = {
    "num_det_queries": 8,
    "num_lane_queries": 4,
    "max_boxes": 8,
    "max_lanes": 4,
    "lane_points": 5,
    "depth_bins": 4,
    "num_plan_modes": 2,
    "det_reference_init": "sunflower",  # these two as in the demo configs (configs/demo/demo_stage1_perception.py)
    "azimuth_prior_logit": 5.0,
}
CLASSES = ("car", "truck", "pedestrian", "barrier")


def write_random_drive_data(
    folder: str | Path,
    num_samples: int = 4,
    cameras: tuple[str, ...] = TINY_CAMERAS,
    image_hw: tuple[int, int] = (56, 112),
    lane_points: int = 5,
    split: str = "train",
    name: str = "tiny",
    seed: int = 0,
) -> Path:
    """Write ``<folder>/infos/<name>_infos_<split>.json`` and its camera images; returns the info path."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    height, width = image_hw
    intrinsics = [
        [0.8 * width, 0.0, width / 2],
        [0.0, 0.8 * width, height / 2],
        [0.0, 0.0, 1.0],
    ]
    records = []
    for index in range(num_samples):
        token = f"{name}{split}{index:04d}"
        cams = {}
        for camera_index, camera in enumerate(cameras):
            relative = f"samples/{camera}/{token}.jpg"
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
                folder / relative, quality=90
            )
            yaw = 2 * np.pi * camera_index / len(cameras)
            cam2ego = np.eye(4)
            # OpenCV camera axes (x right, y down, z forward) looking along ego yaw.
            cam2ego[:3, :3] = [
                [-np.sin(yaw), 0, np.cos(yaw)],
                [np.cos(yaw), 0, np.sin(yaw)],
                [0, -1, 0],
            ]
            cam2ego[:3, 3] = [1.0, 0.0, 1.5]
            cams[camera] = {
                "path": relative,
                "intrinsics": intrinsics,
                "cam2ego": cam2ego.tolist(),
                "width": width,
                "height": height,
            }
        num_boxes, num_lanes = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        boxes = np.concatenate(
            [
                rng.uniform(-20, 20, (num_boxes, 2)),
                rng.uniform(-1, 1, (num_boxes, 1)),
                rng.uniform(1, 4, (num_boxes, 3)),
                rng.uniform(-3, 3, (num_boxes, 3)),
            ],
            axis=1,
        )  # (N, 9)
        lanes = np.cumsum(rng.uniform(-2, 2, (num_lanes, lane_points, 3)), axis=1)  # (M, P, 3)
        speed = float(rng.uniform(2, 8))
        command = int(rng.integers(0, 3))
        trajectory = np.stack(
            [speed * 0.5 * np.arange(1, 7), np.linspace(0, (command - 1) * 0.5, 6)],
            axis=1,
        )  # (6, 2)
        records.append(
            {
                "token": token,
                "scene_token": f"scene{index // 2}",
                "timestamp": 500_000 * index,  # µs: two frames per scene, 0.5 s apart
                "ego2global": [[1, 0, 0, 2.0 * index], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                "cams": cams,
                "ego_status": [speed, 0.0, 0.0, 0.0, 0.0, speed],
                "gt_boxes": boxes.tolist(),
                "gt_names": [CLASSES[int(i)] for i in rng.integers(0, len(CLASSES), num_boxes)],
                "gt_num_lidar_pts": [20] * num_boxes,
                "gt_num_radar_pts": [1] * num_boxes,
                "lanes": lanes.tolist(),
                "ego_fut_traj": trajectory.tolist(),
                "ego_fut_mask": [1] * 6,
                "fut_valid": True,
                "command": command,
                "qa": [
                    {
                        "question": "How many cars are there?",
                        "answer": f"There are {num_boxes} cars.",
                        "type": "count",
                    },
                    {
                        "question": "What should the ego vehicle do next?",
                        "answer": "Keep going straight.",
                        "type": "plan",
                    },
                ],
            }
        )
    for index, record in enumerate(records):  # two key frames per scene: the second's history is the first
        scene = records[index - index % 2 : index + 1]
        poses = [np.array(frame["ego2global"], dtype=np.float64) for frame in scene]
        record["ego_history"] = key_frame_history([frame["ego_status"] for frame in scene], poses, index % 2).tolist()
    path = folder / "infos" / f"{name}_infos_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "dataset": "nuscenes",
        "version": "v1.0-tiny",
        "split": split,
        "lane_points": lane_points,
        **mode_anchors(records, num_modes=TINY_TASK["num_plan_modes"]),
    }
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps({"metadata": metadata, "infos": records}))
    os.replace(staging, path)
    return path


def tiny_experiment(
    data_dir: str | Path,
    output_dir: str | Path,
    stage: str = "perception",
    internvl_dir: str | Path | None = None,
) -> ExperimentConfig:
    """Tiny model on ``write_random_drive_data(data_dir)``, a few fp32 steps on CPU, nothing reported."""
    data_dir = Path(data_dir)
    return ExperimentConfig(
        name=f"tiny_{stage}",
        model=ModelConfig(
            internvl=str(internvl_dir or data_dir / "tiny_internvl"),
            tokenizer="builtin",
            tiny=TinyInternVLConfig(),
            task=dict(TINY_TASK),
        ),
        data=DataConfig(
            dataset="tiny",
            root=str(data_dir),
            version="v1.0-tiny",
            cameras=TINY_CAMERAS,
            augment=True,
            workers=0,
        ),
        train=TrainConfig(
            output_dir=str(output_dir),
            max_steps=3,
            learning_rate=1e-3,
            warmup_steps=0,
            per_device_batch_size=2,
            global_batch_size=None,
            gradient_accumulation_steps=1,
            precision="fp32",
            logging_steps=1,
            save_steps=1000,
            report_to=(),
        ),
        recipe=RecipeConfig(stage=stage, lora_rank=4, lora_alpha=8, lora_dropout=0.0),
    )
