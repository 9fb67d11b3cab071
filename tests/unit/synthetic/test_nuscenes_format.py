"""The synthetic set in the nuScenes format, read by the real nuscenes-devkit 1.2.0."""

from __future__ import annotations

import filecmp
import json
import os

import numpy as np
from nuscenes.eval.detection.utils import category_to_detection_name
from nuscenes.utils.data_classes import LidarPointCloud
from nuscenes.utils.geometry_utils import points_in_box
from PIL import Image

from onedrive.synthetic import SyntheticConfig, make_synthetic
from onedrive.synthetic.classes import DETECTION_CLASSES, OBJECT_CLASSES
from onedrive.synthetic.nuscenes_writer import TABLES

CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")


def test_every_sample_has_six_cameras_and_lidar_with_decodable_images(nusc, default_config):
    assert len(nusc.scene) == default_config.scenes
    assert len(nusc.sample) == default_config.scenes * default_config.samples_per_scene
    for sample in nusc.sample:
        assert set(sample["data"]) == set(CAMERAS) | {"LIDAR_TOP"}
        for channel in CAMERAS:
            record = nusc.get("sample_data", sample["data"][channel])
            with Image.open(os.path.join(nusc.dataroot, record["filename"])) as image:
                assert image.size == (record["width"], record["height"]) == default_config.image_size
                image.load()
        lidar = nusc.get("sample_data", sample["data"]["LIDAR_TOP"])
        assert nusc.get("calibrated_sensor", lidar["calibrated_sensor_token"])["camera_intrinsic"] == []
        assert LidarPointCloud.from_file(os.path.join(nusc.dataroot, lidar["filename"])).points.shape[1] > 0


def test_ego_poses_at_2hz(nusc):
    for scene in nusc.scene:
        sample = nusc.get("sample", scene["first_sample_token"])
        times = [sample["timestamp"]]
        while sample["next"]:
            sample = nusc.get("sample", sample["next"])
            times.append(sample["timestamp"])
        assert set(np.diff(times)) == {500_000}


def test_all_ten_classes_with_valid_attributes(nusc):
    names = {category_to_detection_name(a["category_name"]) for a in nusc.sample_annotation}
    assert names == set(DETECTION_CLASSES)
    for ann in nusc.sample_annotation:
        name = category_to_detection_name(ann["category_name"])
        attributes = [nusc.get("attribute", t)["name"] for t in ann["attribute_tokens"]]
        allowed = OBJECT_CLASSES[name].attributes
        assert (attributes == []) if not allowed else (len(attributes) == 1 and attributes[0] in allowed)


def test_instances_are_linked_and_moving_objects_have_finite_velocity(nusc):
    moving = 0
    for instance in nusc.instance:
        chain, token = [], instance["first_annotation_token"]
        while token:
            chain.append(nusc.get("sample_annotation", token))
            token = chain[-1]["next"]
        assert len(chain) == instance["nbr_annotations"] and chain[-1]["token"] == instance["last_annotation_token"]
        for ann in chain:
            attributes = {nusc.get("attribute", t)["name"] for t in ann["attribute_tokens"]}
            if attributes & {"vehicle.moving", "pedestrian.moving"} and len(chain) > 1:
                velocity = nusc.box_velocity(ann["token"])
                assert np.all(np.isfinite(velocity)) and np.linalg.norm(velocity[:2]) > 0.2
                moving += 1
    assert moving > 50


def test_lidar_point_counts_match_the_point_cloud(nusc):
    sample = nusc.sample[3]
    lidar = nusc.get("sample_data", sample["data"]["LIDAR_TOP"])
    cloud = LidarPointCloud.from_file(os.path.join(nusc.dataroot, lidar["filename"]))
    _, boxes, _ = nusc.get_sample_data(lidar["token"])  # boxes in the lidar frame
    by_token = {box.token: box for box in boxes}
    visible = 0
    for token in sample["anns"]:
        ann = nusc.get("sample_annotation", token)
        inside = int(points_in_box(by_token[token], cloud.points[:3]).sum())
        assert inside == ann["num_lidar_pts"], ann
        visible += ann["num_lidar_pts"] > 0
        if ann["num_lidar_pts"] > 0:
            assert ann["num_radar_pts"] >= 0
    assert visible > 5


def test_same_seed_gives_byte_identical_tables(tmp_path):
    config = SyntheticConfig(scenes=2, samples_per_scene=3, seed=7, image_size=(64, 32))
    first = make_synthetic(tmp_path / "a", config, progress=False)
    second = make_synthetic(tmp_path / "b", config, progress=False)
    other = make_synthetic(
        tmp_path / "c", SyntheticConfig(scenes=2, samples_per_scene=3, seed=8, image_size=(64, 32)), progress=False
    )
    names = [f"{table}.json" for table in TABLES] + ["splits.json"]
    _, mismatch, errors = filecmp.cmpfiles(first / "v1.0-synthetic", second / "v1.0-synthetic", names, shallow=False)
    assert mismatch == [] and errors == []
    assert (first / "qa" / "synthetic_val.json").read_bytes() == (second / "qa" / "synthetic_val.json").read_bytes()
    assert (first / "v1.0-synthetic" / "sample_annotation.json").read_bytes() != (
        other / "v1.0-synthetic" / "sample_annotation.json"
    ).read_bytes()
    meta = json.loads((first / "synthetic.json").read_text())
    assert meta["splits"] == {"train": "synthetic_train", "val": "synthetic_val"}
