"""The image-blind box prior: which training boxes it uses, what it predicts, and its submission file."""

import numpy as np
import pytest

from onedrive.errors import InputError
from onedrive.evaluation.baselines import box_prior, box_prior_file, constant_velocity, mean_trajectory

CLASS_RANGE = {"car": 50.0, "pedestrian": 40.0}


def record(token, boxes, names, lidar, radar=None, ego2global=None):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 9)
    return {
        "token": token,
        "gt_boxes": boxes.tolist(),
        "gt_names": list(names),
        "gt_num_lidar_pts": list(lidar),
        "gt_num_radar_pts": list(radar if radar is not None else [0] * len(boxes)),
        "ego2global": (np.eye(4) if ego2global is None else ego2global).tolist(),
    }


def car(x, y, yaw=0.0, vx=0.0):
    return [x, y, 0.8, 4.5, 1.9, 1.6, yaw, vx, 0.0]


def test_box_prior_clusters_the_evaluable_training_boxes_and_scores_them_by_frequency():
    # Cars at two spots (three times at (10, 0), once at (-20, 5)); one more car without any point,
    # one beyond the car range, and a class the prior does not know: none of those three may be used.
    records = [
        record(
            "a", [car(10.0, 0.0, yaw=3.1), car(-20.0, 5.0), car(0.0, 30.0), car(60.0, 0.0)], ["car"] * 4, [5, 5, 0, 5]
        ),
        record("b", [car(10.2, 0.0, yaw=-3.1, vx=2.0), car(1.0, 1.0)], ["car", "bus"], [5, 5]),
        record("c", [car(9.8, 0.0, yaw=3.1, vx=4.0)], ["car"], [0], radar=[2]),
    ]
    boxes, scores, names = box_prior(records, CLASS_RANGE, clusters=2)
    assert names == ["car", "car"]
    order = np.argsort(-scores)
    np.testing.assert_allclose(scores[order], [1.0, 1.0 / 3.0])
    near, far = boxes[order]
    np.testing.assert_allclose(near[:2], [10.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(near[2:6], [0.8, 4.5, 1.9, 1.6])
    assert abs(abs(near[6]) - 3.1) < 0.05  # circular mean of 3.1, -3.1, 3.1: near ±π, not 1.03
    np.testing.assert_allclose(near[7:9], [2.0, 0.0])
    np.testing.assert_allclose(far[:2], [-20.0, 5.0])


def test_box_prior_takes_at_most_the_boxes_a_class_has_and_refuses_a_split_without_evaluable_boxes():
    boxes, scores, names = box_prior([record("a", [car(5.0, 5.0)], ["pedestrian"], [3])], CLASS_RANGE, clusters=50)
    assert boxes.shape == (1, 9) and names == ["pedestrian"] and scores.tolist() == [1.0]
    with pytest.raises(ValueError, match="no evaluable box"):
        box_prior([record("a", [car(5.0, 5.0)], ["car"], [0])], CLASS_RANGE)


def test_box_prior_file_puts_the_same_ego_frame_boxes_into_every_sample_in_the_global_frame():
    pytest.importorskip("nuscenes")
    train = [record("t", [car(10.0, 0.0)], ["car"], [4])]
    moved = np.eye(4)
    moved[:2, 3] = [100.0, 200.0]
    name, payload = box_prior_file(train, [record("v1", [], [], []), record("v2", [], [], [], ego2global=moved)])
    assert name == "detection.json"
    assert payload["meta"]["use_camera"] is True
    (first,), (second,) = payload["results"]["v1"], payload["results"]["v2"]
    assert first["detection_name"] == "car" and first["sample_token"] == "v1"
    np.testing.assert_allclose(first["translation"], [10.0, 0.0, 0.8])
    np.testing.assert_allclose(second["translation"], [110.0, 200.0, 0.8])


def test_planning_baselines_blame_a_nan_in_the_info_file_on_the_file_and_sample():
    good = {
        "token": "a",
        "ego_status": [2.0, 0.0, 0.0, 0.0, 0.0, 2.0],
        "command": 2,
        "fut_valid": True,
        "ego_fut_traj": [[float(t), 0.0] for t in range(1, 7)],
    }
    bad = dict(good, token="b", ego_status=[float("nan"), 0.0, 0.0, 0.0, 0.0, 2.0])
    np.testing.assert_allclose(constant_velocity([good])["a"][:, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    with pytest.raises(InputError, match=r"info file x_infos_val.json, sample 'b': ego_status holds NaN or inf"):
        constant_velocity([good, bad], source="info file x_infos_val.json")
    bad = dict(good, token="c", ego_fut_traj=[[float("nan"), 0.0]] * 6)
    with pytest.raises(InputError, match=r"info file x_infos_train.json, sample 'c': ego_fut_traj holds NaN or inf"):
        mean_trajectory([good, bad], [good], source="info file x_infos_train.json")
