"""The devkit's DetectionEval runs on the held-out split (custom and predefined split names)."""

from __future__ import annotations

import json

import numpy as np
from nuscenes import NuScenes
from nuscenes.eval.detection.config import config_factory
from nuscenes.eval.detection.evaluate import DetectionEval
from nuscenes.eval.detection.utils import category_to_detection_name
from nuscenes.utils.splits import get_scenes_of_split

from onedrive.synthetic import SyntheticConfig, make_synthetic


def _ground_truth_as_predictions(nusc: NuScenes, split: str, path) -> None:
    scenes = set(get_scenes_of_split(split, nusc))
    results = {}
    for sample in nusc.sample:
        if nusc.get("scene", sample["scene_token"])["name"] not in scenes:
            continue
        boxes = []
        for token in sample["anns"]:
            ann = nusc.get("sample_annotation", token)
            if ann["num_lidar_pts"] + ann["num_radar_pts"] == 0:
                continue  # the devkit drops such ground truth; a perfect detector does not report them
            velocity = nusc.box_velocity(token)[:2]
            attribute = nusc.get("attribute", ann["attribute_tokens"][0])["name"] if ann["attribute_tokens"] else ""
            boxes.append(
                {
                    "sample_token": sample["token"],
                    "translation": ann["translation"],
                    "size": ann["size"],
                    "rotation": ann["rotation"],
                    "velocity": [0.0, 0.0] if np.any(np.isnan(velocity)) else list(velocity),
                    "detection_name": category_to_detection_name(ann["category_name"]),
                    "detection_score": 0.9,
                    "attribute_name": attribute,
                }
            )
        results[sample["token"]] = boxes
    meta = {"use_camera": True, "use_lidar": False, "use_radar": False, "use_map": False, "use_external": False}
    path.write_text(json.dumps({"meta": meta, "results": results}))


def test_custom_val_split_evaluates_and_is_disjoint_from_train(nusc, tmp_path):
    train, val = get_scenes_of_split("synthetic_train", nusc), get_scenes_of_split("synthetic_val", nusc)
    assert train and val and not set(train) & set(val)
    assert set(train) | set(val) == {scene["name"] for scene in nusc.scene}
    _ground_truth_as_predictions(nusc, "synthetic_val", tmp_path / "results.json")
    evaluation = DetectionEval(
        nusc,
        config_factory("detection_cvpr_2019"),
        str(tmp_path / "results.json"),
        eval_set="synthetic_val",
        output_dir=str(tmp_path / "eval"),
        verbose=False,
    )
    metrics, _ = evaluation.evaluate()
    assert metrics.mean_ap > 0.95  # ground truth scores (almost) perfectly


def test_trainval_version_evaluates_on_the_predefined_val_split(tmp_path):
    config = SyntheticConfig(scenes=3, samples_per_scene=3, image_size=(32, 16))
    root = make_synthetic(tmp_path / "data", config, version="v1.0-trainval", progress=False)
    nusc = NuScenes(version="v1.0-trainval", dataroot=str(root), verbose=False)
    _ground_truth_as_predictions(nusc, "val", tmp_path / "results.json")
    evaluation = DetectionEval(
        nusc,
        config_factory("detection_cvpr_2019"),
        str(tmp_path / "results.json"),
        eval_set="val",
        output_dir=str(tmp_path / "eval"),
        verbose=False,
    )
    metrics, _ = evaluation.evaluate()
    assert 0.0 < metrics.nd_score <= 1.0
