"""Detection through the real nuscenes-devkit on a tiny nuScenes-format dataset written to disk."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from nuscenes import NuScenes
from nuscenes.eval.common.config import config_factory
from nuscenes.eval.detection.evaluate import DetectionEval
from nuscenes.eval.detection.utils import category_to_detection_name
from pyquaternion import Quaternion

from onedrive.evaluation import boxes_to_submission, evaluate_detection, write_submission
from onedrive.evaluation.detection import default_attribute
from onedrive.evaluation.predictions import load_detection

ABSENT = ["bus", "trailer", "construction_vehicle", "motorcycle", "bicycle", "traffic_cone"]


@pytest.fixture(scope="module")
def nusc(tiny_nuscenes):
    return NuScenes(version=tiny_nuscenes["version"], dataroot=str(tiny_nuscenes["root"]), verbose=False)


def gt_submission(nusc, tokens):
    """The devkit's own GT annotations written as a submission (score 1)."""
    results = {}
    for token in tokens:
        entries = []
        for ann_token in nusc.get("sample", token)["anns"]:
            ann = nusc.get("sample_annotation", ann_token)
            attrs = [nusc.get("attribute", a)["name"] for a in ann["attribute_tokens"]]
            entries.append(
                {
                    "sample_token": token,
                    "translation": ann["translation"],
                    "size": ann["size"],
                    "rotation": ann["rotation"],
                    "velocity": nusc.box_velocity(ann_token)[:2].tolist(),
                    "detection_name": category_to_detection_name(ann["category_name"]),
                    "detection_score": 1.0,
                    "attribute_name": attrs[0] if attrs else "",
                }
            )
        results[token] = entries
    return {
        "meta": {"use_camera": True, "use_lidar": False, "use_radar": False, "use_map": False, "use_external": False},
        "results": results,
    }


def all_tokens(tiny_nuscenes):
    return [t for tokens in tiny_nuscenes["scenes"].values() for t in tokens]


@pytest.mark.parametrize("split", ["mini_val", "onedrive_eval"])
def test_ground_truth_scores_perfect_on_present_classes(tiny_nuscenes, nusc, tmp_path, split):
    split_tokens = tiny_nuscenes["scenes"]["scene-0103"]
    # The file also holds scene-0061's samples: allowed, they are not scored.
    submission = gt_submission(nusc, all_tokens(tiny_nuscenes))
    metrics = evaluate_detection(
        submission, split_tokens, tiny_nuscenes["root"], tiny_nuscenes["version"], split, tmp_path
    )
    assert metrics["det/classes_present"] == ["barrier", "car", "pedestrian", "truck"]
    assert metrics["det/mAP_present"] == pytest.approx(1.0)
    assert metrics["det/NDS_present"] == pytest.approx(1.0)
    for name in metrics["det/classes_present"]:
        assert metrics[f"det/AP/{name}"] == pytest.approx(1.0)
    # The devkit averages over all 10 classes: absent ones count AP 0 and TP error 1.
    for name in ABSENT:
        assert metrics[f"det/AP/{name}"] == 0.0
    assert metrics["det/mAP"] == pytest.approx(4 / 10)
    assert metrics["det/mATE"] == pytest.approx(6 / 10, abs=1e-6)  # 4 present classes at 0, 6 absent at 1
    assert (tmp_path / "detection" / "metrics_summary.json").is_file()


def test_numbers_equal_a_direct_devkit_run(tiny_nuscenes, nusc, tmp_path):
    split_tokens = tiny_nuscenes["scenes"]["scene-0103"]
    submission = gt_submission(nusc, split_tokens)
    rng = np.random.default_rng(0)
    for entries in submission["results"].values():  # perturb so the numbers are not trivial
        for entry in entries:
            entry["translation"] = (np.asarray(entry["translation"]) + rng.normal(0, 0.6, 3)).tolist()
            entry["detection_score"] = float(rng.uniform(0.2, 1.0))
    ours = evaluate_detection(
        submission, split_tokens, tiny_nuscenes["root"], tiny_nuscenes["version"], "onedrive_eval"
    )
    path = write_submission(submission["results"], tmp_path / "direct.json")
    direct = DetectionEval(
        nusc, config_factory("detection_cvpr_2019"), str(path), "onedrive_eval", str(tmp_path / "direct"), verbose=False
    ).main(plot_examples=0, render_curves=False)
    assert ours["det/NDS"] == direct["nd_score"]
    assert ours["det/mAP"] == direct["mean_ap"]
    assert ours["det/mATE"] == direct["tp_errors"]["trans_err"]
    assert ours["det/mAOE"] == direct["tp_errors"]["orient_err"]
    for name, ap in direct["mean_dist_aps"].items():
        assert ours[f"det/AP/{name}"] == ap
    assert 0.0 < ours["det/mAP_present"] < 1.0


def test_ego_frame_converter_round_trips_through_the_devkit(tiny_nuscenes, nusc):
    """GT boxes expressed in the ego frame, converted back with boxes_to_submission, score perfectly."""
    split_tokens = tiny_nuscenes["scenes"]["scene-0103"]
    results = {}
    for token in split_tokens:
        (ego_xy, ego_yaw) = tiny_nuscenes["ego_poses"][token]
        ego2global = np.eye(4)
        ego2global[:3, :3] = Quaternion(axis=[0, 0, 1], radians=ego_yaw).rotation_matrix
        ego2global[:2, 3] = ego_xy
        boxes, names = [], []
        for ann_token in nusc.get("sample", token)["anns"]:
            ann = nusc.get("sample_annotation", ann_token)
            centre = ego2global[:3, :3].T @ (np.asarray(ann["translation"]) - ego2global[:3, 3])
            yaw = Quaternion(ann["rotation"]).yaw_pitch_roll[0] - ego_yaw
            velocity = ego2global[:3, :3].T @ np.r_[nusc.box_velocity(ann_token)[:2], 0.0]
            width, length, height = ann["size"]  # nuScenes stores w, l, h
            boxes.append([*centre, length, width, height, yaw, velocity[0], velocity[1]])
            names.append(category_to_detection_name(ann["category_name"]))
        results[token] = boxes_to_submission(token, np.array(boxes), np.ones(len(boxes)), names, ego2global)
    # Round trip is exact up to float error.
    first = results[split_tokens[0]][0]
    ann = nusc.get("sample_annotation", nusc.get("sample", split_tokens[0])["anns"][0])
    np.testing.assert_allclose(first["translation"], ann["translation"], atol=1e-9)
    np.testing.assert_allclose(first["size"], ann["size"], atol=1e-12)
    assert abs(abs(np.dot(first["rotation"], ann["rotation"])) - 1) < 1e-9  # same rotation (q or -q)
    submission = {
        "meta": {"use_camera": True, "use_lidar": False, "use_radar": False, "use_map": False, "use_external": False},
        "results": results,
    }
    metrics = evaluate_detection(
        submission, split_tokens, tiny_nuscenes["root"], tiny_nuscenes["version"], "onedrive_eval"
    )
    assert metrics["det/mAP_present"] == pytest.approx(1.0)
    assert metrics["det/NDS_present"] == pytest.approx(1.0)  # attributes by default_attribute match the GT's


def test_default_attribute_rule():
    assert default_attribute("car", 3.0) == "vehicle.moving"
    assert default_attribute("car", 0.1) == "vehicle.parked"
    assert default_attribute("bicycle", 1.0) == "cycle.with_rider"
    assert default_attribute("pedestrian", 0.0) == "pedestrian.moving"
    assert default_attribute("barrier", 5.0) == ""
    with pytest.raises(ValueError, match="unknown detection class 'van'"):
        default_attribute("van", 1.0)


def test_submission_checks_name_samples_and_reason(tiny_nuscenes, nusc, tmp_path):
    split_tokens = tiny_nuscenes["scenes"]["scene-0103"]
    submission = gt_submission(nusc, split_tokens)
    path = tmp_path / "detection.json"

    broken = json.loads(json.dumps(submission))
    del broken["results"][split_tokens[1]]
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=rf"no prediction for 1 split sample\(s\), e.g. \['{split_tokens[1]}'\]"):
        load_detection(path, split_tokens)

    broken = json.loads(json.dumps(submission))
    broken["results"][split_tokens[0]][0]["translation"][0] = math.nan
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=rf"NaN/inf for 1 split sample\(s\), e.g. \['{split_tokens[0]}'\]"):
        load_detection(path, split_tokens)

    broken = json.loads(json.dumps(submission))
    broken["results"][split_tokens[2]][0]["rotation"] = [1.0, 0.0, 0.0]
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=rf"wrong length .* e.g. \['{split_tokens[2]}'\]"):
        load_detection(path, split_tokens)


def test_split_mismatch_with_the_devkit_is_an_error(tiny_nuscenes, nusc):
    split_tokens = tiny_nuscenes["scenes"]["scene-0103"]
    submission = gt_submission(nusc, all_tokens(tiny_nuscenes))
    with pytest.raises(ValueError, match="does not match the info file"):
        evaluate_detection(
            submission, split_tokens[:2], tiny_nuscenes["root"], tiny_nuscenes["version"], "onedrive_eval"
        )
