"""Training and evaluation targets built as the reference builds them, on a small synthetic world.

The world (``onedrive.synthetic``) is written in the real nuScenes layout and converted by the
real converter; ``tools/create_data.py``'s layout puts the info files under ``<root>/infos``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from plan_query_helpers import anchors

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.pipeline import create_infos
from onedrive.evaluation.planning import PlanningGroundTruth, collision_steps
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.synthetic import SyntheticConfig, make_synthetic
from onedrive.tiny import tiny_internvl_config
from onedrive.training.build import build_train_dataset
from onedrive.training.config import ConfigError, apply_overrides, check_config, load_config

REPO = Path(__file__).resolve().parents[3]
DEMO_STAGE1 = REPO / "configs" / "demo" / "demo_stage1_perception.py"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reference_targets") / "synthetic"
    make_synthetic(root, SyntheticConfig(scenes=2, samples_per_scene=4, image_size=(32, 16)), progress=False)
    create_infos(ConverterSettings(str(root), "v1.0-synthetic"), root / "infos", progress=False)
    return root


def demo_config(world: Path, *overrides: str):
    # This world's key frames have no complete 6-step future, so its info files hold no planning mode anchors,
    # which the planning queries need: the checks here give hand-made ones.
    hand_made = f"model.task.plan_mode_anchors={anchors(3, 6)}"
    return apply_overrides(load_config(DEMO_STAGE1), [f"data.root={world}", hand_made, *overrides])


@pytest.fixture(scope="module")
def processor() -> OneDriveProcessor:
    return OneDriveProcessor.from_config(OneDriveConfig(**tiny_internvl_config().to_dict()), build_tokenizer())


def target_counts(dataset) -> list[int]:
    return [len(dataset[index].targets.labels) for index in range(len(dataset))]


def test_training_uses_the_configured_detection_target_rule(world, processor):
    records = json.loads((world / "infos" / "nuscenes_infos_synthetic_train.json").read_text())["infos"]
    default = build_train_dataset(demo_config(world), processor)
    every_box = build_train_dataset(
        demo_config(world, "data.detection_targets.min_points=0", "data.detection_targets.bev_range=None"), processor
    )
    expected = []
    for record in records:
        boxes = np.asarray(record["gt_boxes"]).reshape(-1, 9)
        points = np.add(record["gt_num_lidar_pts"], record["gt_num_radar_pts"])
        inside = (np.abs(boxes[:, :2]) < 51.2).all(axis=1)
        expected.append(int((inside & (points > 0)).sum()))
    assert target_counts(default) == expected
    assert target_counts(every_box) == [len(record["gt_names"]) for record in records]
    assert sum(expected) < sum(len(record["gt_names"]) for record in records)


def test_check_config_rejects_an_empty_target_range(world):
    with pytest.raises(ConfigError, match="detection_targets.bev_range"):
        check_config(demo_config(world, "data.detection_targets.bev_range=10,-5,-10,5"))


def test_a_text_loss_on_infos_without_qa_stops_before_any_heavy_work(world, tmp_path):
    bare = (
        tmp_path / "without_qa"
    )  # the same world without its qa/ folder, converted as real nuScenes would be without --qa
    shutil.copytree(world, bare, ignore=shutil.ignore_patterns("qa", "infos"))
    create_infos(ConverterSettings(str(bare), "v1.0-synthetic"), bare / "infos", progress=False)
    check_config(demo_config(world))  # the synthetic world's QA: text targets exist
    with pytest.raises(ConfigError, match=r"text loss is on .* no record of .* has QA turns.*--qa OMNIDRIVE_QA_DIR"):
        check_config(demo_config(bare))
    check_config(demo_config(bare, "model.task.text_weight=0"))


def test_collision_obstacles_are_every_vehicle_emergency_vehicles_included(world, tmp_path):
    root = tmp_path / "with_ambulance"
    shutil.copytree(world, root, ignore=shutil.ignore_patterns("infos"))
    tables = root / "v1.0-synthetic"
    categories = json.loads((tables / "category.json").read_text())
    categories.append({"token": "category-ambulance", "name": "vehicle.emergency.ambulance", "description": ""})
    (tables / "category.json").write_text(json.dumps(categories))
    car = next(c["token"] for c in categories if c["name"] == "vehicle.car")
    instances = json.loads((tables / "instance.json").read_text())
    ambulance = next(i for i in instances if i["category_token"] == car and i["nbr_annotations"] >= 3)
    ambulance["category_token"] = "category-ambulance"
    (tables / "instance.json").write_text(json.dumps(instances))
    create_infos(ConverterSettings(str(root), "v1.0-synthetic"), root / "infos", progress=False)
    records = [
        record
        for split in ("synthetic_train", "synthetic_val")
        for record in json.loads((root / "infos" / f"nuscenes_infos_{split}.json").read_text())["infos"]
    ]
    seen = 0
    for record in records:
        vehicles = [
            i for i, name in enumerate(record["gt_names"]) if name not in ("pedestrian", "traffic_cone", "barrier")
        ]
        has_ambulance = "vehicle.emergency.ambulance" in record["obstacle_categories"]
        seen += has_ambulance
        assert ambulance["token"] not in record["gt_instance_tokens"]  # no detection class
        assert len(record["obstacle_categories"]) == len(vehicles) + has_ambulance
        assert all(category.startswith("vehicle.") for category in record["obstacle_categories"])
        detection_vehicles = [
            i for i, c in enumerate(record["obstacle_categories"]) if c != "vehicle.emergency.ambulance"
        ]
        np.testing.assert_allclose(  # the same boxes and futures as the detection ground truth of those vehicles
            np.asarray(record["obstacle_boxes"]).reshape(-1, 7)[detection_vehicles],
            np.asarray(record["gt_boxes"]).reshape(-1, 9)[vehicles, :7],
        )
        np.testing.assert_allclose(
            np.asarray(record["obstacle_fut_traj"]).reshape(-1, 6, 2)[detection_vehicles],
            np.asarray(record["gt_fut_traj"]).reshape(-1, 6, 2)[vehicles],
        )
    assert seen >= 3
    # A plan through the ambulance's future position collides.
    gt = PlanningGroundTruth.from_infos(records, with_drivable=False)
    index, row = next(
        (index, row)
        for index, record in enumerate(records)
        for row, category in enumerate(record["obstacle_categories"])
        if category == "vehicle.emergency.ambulance" and any(record["obstacle_fut_mask"][row])
    )
    step = records[index]["obstacle_fut_mask"][row].index(1)
    plan = np.asarray(records[index]["ego_fut_traj"], dtype=float)  # (6, 2)
    plan[step] = records[index]["obstacle_fut_traj"][row][step]  # the ego box holds its waypoint
    assert collision_steps(plan[None], gt, np.array([index]))[0, step]
