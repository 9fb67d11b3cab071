"""The converter on a tiny world in the real nuScenes layout, checked against
independent computations through the real devkit."""

import json
import math

import numpy as np
import pytest
from nuscenes import NuScenes
from nuscenes.eval.common.utils import quaternion_yaw
from nuscenes.map_expansion.map_api import NuScenesMap
from pyquaternion import Quaternion
from shapely.geometry import LineString, Point, Polygon

from benchmarks.conversion import benchmark_conversion
from onedrive.data.nuscenes.converter import CAMERA_ORDER, ConverterSettings
from onedrive.data.nuscenes.pipeline import create_infos, info_path

from .conftest import write_tiny_nuscenes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_tiny_nuscenes(tmp_path_factory.mktemp("tiny") / "nuscenes")


@pytest.fixture(scope="module")
def nusc(world):
    return NuScenes(version=world.version, dataroot=str(world.root), verbose=False)


@pytest.fixture(scope="module")
def infos(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("infos")
    paths = create_infos(ConverterSettings(str(world.root), world.version), out, progress=False)
    documents = {path.name: json.loads(path.read_text()) for path in paths}
    return out, documents


@pytest.fixture(scope="module")
def records(infos):
    return {record["token"]: record for document in infos[1].values() for record in document["infos"]}


def _lidar_pose(nusc, sample_token):
    sample = nusc.get("sample", sample_token)
    pose = nusc.get("ego_pose", nusc.get("sample_data", sample["data"]["LIDAR_TOP"])["ego_pose_token"])
    return np.array(pose["translation"]), Quaternion(pose["rotation"])


def test_files_metadata_and_order(infos, world):
    out, documents = infos
    assert sorted(documents) == ["nuscenes_infos_tiny_train.json", "nuscenes_infos_tiny_val.json"]
    train = documents["nuscenes_infos_tiny_train.json"]
    assert train["metadata"] == {
        "dataset": "nuscenes",
        "version": world.version,
        "data_root": str(world.root),
        "split": "tiny_train",
        "bev_range": [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0],
        "lane_points": 11,
        "openlane_v2": [],
        "classes": [
            "car",
            "truck",
            "bus",
            "trailer",
            "construction_vehicle",
            "pedestrian",
            "motorcycle",
            "bicycle",
            "traffic_cone",
            "barrier",
        ],
        "created_by": "onedrive 0.1.0",
        "qa_source": "none",
        "samples_without_qa": 10,
        "ego_status_sources": {"no_past": 1, "poses": 8, "poses_no_accel": 1},
        "can_bus_fallbacks": {"not_requested": 10},
        "lane_sources": {"nuscenes_map_expansion": 10},
        "plan_mode_anchors": None,  # 4 complete futures: fewer than the 6 modes
        "plan_mode_anchor_counts": [0, 0, 4],
    }
    assert [r["token"] for r in train["infos"]] == world.sample_tokens["scene-0001"]
    val = documents["nuscenes_infos_tiny_val.json"]["infos"]
    assert [r["token"] for r in val] == world.sample_tokens["scene-0002"]
    assert all(list(r["cams"]) == list(CAMERA_ORDER) for r in train["infos"] + val)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_boxes_return_to_their_annotations(records, nusc):
    checked = 0
    for record in records.values():
        ego2global = np.array(record["ego2global"])
        translation, rotation = _lidar_pose(nusc, record["token"])
        np.testing.assert_allclose(ego2global[:3, 3], translation, atol=1e-12)
        for row, name, ann_token in zip(record["gt_boxes"], record["gt_names"], record["gt_annotation_tokens"]):
            box = nusc.get_box(ann_token)
            center_global = ego2global[:3, :3] @ np.array(row[:3]) + ego2global[:3, 3]
            np.testing.assert_allclose(center_global, box.center, atol=1e-6)
            np.testing.assert_allclose([row[4], row[3], row[5]], box.wlh, atol=1e-6)  # w, l, h
            # Yaw: the devkit's own way of moving a box into the ego frame, and its
            # evaluation's yaw (heading of the box's x axis).
            box.translate(-translation)
            box.rotate(rotation.inverse)
            assert abs(math.remainder(row[6] - quaternion_yaw(box.orientation), 2 * math.pi)) < 1e-6
            velocity = nusc.box_velocity(ann_token)
            velocity = np.where(np.isnan(velocity), 0.0, velocity)
            np.testing.assert_allclose(row[7:9], rotation.inverse.rotate(velocity)[:2], atol=1e-6)
            assert name in ("car", "pedestrian", "barrier", "truck")
            checked += 1
    assert checked == 10 + 5 + 1 + 3  # the animal is not a detection class


def test_obstacles_are_the_vehicles_whatever_their_detection_class(records):
    record = records["s1-sample-2"]  # car, pedestrian, barrier, animal
    assert record["obstacle_categories"] == ["vehicle.car"]
    np.testing.assert_allclose(record["obstacle_boxes"], [row[:7] for row in record["gt_boxes"][:1]])
    assert record["obstacle_fut_mask"] == record["gt_fut_mask"][:1]
    assert records["s2-sample-0"]["obstacle_fut_mask"] == [[1, 0, 1, 0, 0, 0]]  # the truck's gap


def test_box_fields_and_nan_velocity(records):
    record = records["s1-sample-2"]
    assert record["gt_names"] == ["car", "pedestrian", "barrier"]
    assert record["gt_attributes"] == ["vehicle.moving", "", ""]
    assert record["gt_instance_tokens"] == ["inst-1-0", "inst-1-1", "inst-1-2"]
    assert record["gt_visibility"] == [3, 4, 1] and record["gt_num_lidar_pts"] == [12, 12, 12]
    assert record["gt_boxes"][2][7:] == [0.0, 0.0]  # single annotation: devkit velocity is NaN → 0
    np.testing.assert_allclose(record["gt_boxes"][0][7:], [4.0, 0.0], atol=0.05)  # car 2 m per 0.5 s


def test_ego_trajectory_equals_future_poses_by_hand(records, nusc, world):
    for tokens in world.sample_tokens.values():
        for index, token in enumerate(tokens):
            record = records[token]
            translation, rotation = _lidar_pose(nusc, token)
            expected, mask = np.zeros((6, 2)), np.zeros(6, dtype=int)
            for step in range(6):
                if index + 1 + step < len(tokens):
                    future, _ = _lidar_pose(nusc, tokens[index + 1 + step])
                    expected[step] = rotation.inverse.rotate(future - translation)[:2]
                    mask[step] = 1
            np.testing.assert_allclose(record["ego_fut_traj"], expected, atol=1e-9)
            assert record["ego_fut_mask"] == mask.tolist()
            assert record["fut_valid"] == bool(mask.all())
            end_y = expected[mask.nonzero()[0][-1], 1] if mask.any() else 0.0
            assert record["command"] == (1 if end_y > 2 else 0 if end_y < -2 else 2)
    assert records["s2-sample-0"]["command"] == 1  # the curving scene turns left
    assert records["s1-sample-0"]["command"] == 2


def test_agent_futures_follow_instances_with_gaps(records):
    truck = records["s2-sample-0"]
    assert truck["gt_names"] == ["truck"]
    assert truck["gt_fut_mask"] == [[1, 0, 1, 0, 0, 0]]
    pedestrian = records["s1-sample-0"]["gt_fut_mask"][1]
    assert pedestrian == [1, 1, 1, 1, 0, 0]
    # Futures stay in the current key frame's ego frame: the car's 2 m per key frame.
    car = np.array(records["s1-sample-0"]["gt_fut_traj"][0])
    np.testing.assert_allclose(car, [[27.0 + 2 * k, 0.0] for k in range(6)], atol=1e-9)


def test_lanes_lie_on_devkit_centerlines_inside_bev(records, world):
    nusc_map = NuScenesMap(dataroot=str(world.root), map_name="boston-seaport")
    centerlines = [LineString(np.asarray(poses)[:, :2]) for poses in nusc_map.discretize_centerlines(0.5)]
    for record in records.values():
        lanes = np.array(record["lanes"])  # (M, 11, 3)
        assert lanes.ndim == 3 and lanes.shape[1:] == (11, 3) and len(lanes) >= 2
        ego2global = np.array(record["ego2global"])
        assert np.all(np.abs(lanes[..., :2]) <= 51.2 + 1e-9)
        for lane in lanes:
            points = lane @ ego2global[:3, :3].T + ego2global[:3, 3]
            np.testing.assert_allclose(points[:, 2], 0.0, atol=1e-9)
            distances = [min(line.distance(Point(p[:2])) for line in centerlines) for p in points]
            assert max(distances) < 1e-6
            # Along travel: the lane's own heading agrees with the step direction.
            line = min(centerlines, key=lambda candidate: candidate.distance(Point(points[5, :2])))
            start, end = line.coords[0], line.coords[-1]
            assert np.dot(points[-1, :2] - points[0, :2], np.subtract(end, start)) > 0


def test_drivable_area_contains_ego_on_road(records, world):
    nusc_map = NuScenesMap(dataroot=str(world.root), map_name="boston-seaport")
    for record in records.values():
        ego2global = np.array(record["ego2global"])
        assert nusc_map.record_on_point(ego2global[0, 3], ego2global[1, 3], "drivable_area")
        polygons = [Polygon(p["exterior"], p["holes"]) for p in record["drivable_area"]]
        assert polygons and all(p.is_valid for p in polygons)
        assert any(p.contains(Point(0.0, 0.0)) for p in polygons)
        assert all(max(abs(v) for v in p.bounds) <= 51.2 + 1e-9 for p in polygons)
    # Near the side road the union forms one polygon reaching north of the main road.
    far = records["s2-sample-7"]
    assert max(Polygon(p["exterior"]).bounds[3] for p in far["drivable_area"]) > 6.0


def test_cameras_and_ego_status(records, nusc, world):
    record = records["s2-sample-3"]
    sample = nusc.get("sample", "s2-sample-3")
    sd = nusc.get("sample_data", sample["data"]["CAM_FRONT"])
    calibration = nusc.get("calibrated_sensor", sd["calibrated_sensor_token"])
    cam_pose = nusc.get("ego_pose", sd["ego_pose_token"])
    translation, rotation = _lidar_pose(nusc, "s2-sample-3")
    # Camera origin in the lidar-time ego frame, by hand through pyquaternion.
    origin_global = Quaternion(cam_pose["rotation"]).rotate(calibration["translation"]) + np.array(
        cam_pose["translation"]
    )
    expected = rotation.inverse.rotate(origin_global - translation)
    cam = record["cams"]["CAM_FRONT"]
    np.testing.assert_allclose(np.array(cam["cam2ego"])[:3, 3], expected, atol=1e-9)
    assert cam["path"] == sd["filename"] and (world.root / cam["path"]).is_file()
    assert cam["intrinsics"] == calibration["camera_intrinsic"] and (cam["width"], cam["height"]) == (32, 16)
    straight = records["s1-sample-4"]
    assert straight["ego_status_source"] == "poses"
    np.testing.assert_allclose(straight["ego_status"], [5.0, 0.0, 0.0, 0.0, 0.0, 5.0], atol=0.1)


def test_parallel_output_equals_serial(world, tmp_path):
    settings = ConverterSettings(str(world.root), world.version)
    serial = create_infos(settings, tmp_path / "serial", progress=False)
    parallel = create_infos(settings, tmp_path / "parallel", workers=2, progress=False)
    assert [p.name for p in serial] == [p.name for p in parallel]
    for a, b in zip(serial, parallel):
        assert a.read_bytes() == b.read_bytes()


def test_benchmark_reports_samples_per_second(world):
    result = benchmark_conversion(world.root, world.version, workers=1)
    assert result["samples"] == 18 and result["samples_per_s"] > 0 and result["workers"] == 1


def test_split_selection_and_unknown_split(world, tmp_path):
    settings = ConverterSettings(str(world.root), world.version)
    paths = create_infos(settings, tmp_path, splits=["tiny_val"], progress=False)
    assert paths == [info_path(tmp_path, "tiny_val")]
    with pytest.raises(ValueError, match="unknown split 'nope'"):
        create_infos(settings, tmp_path / "x", splits=["nope"], progress=False)
    with pytest.raises(ValueError, match="mini_val"):
        create_infos(settings, tmp_path / "x", splits=["mini_val"], progress=False)
    assert not (tmp_path / "x").exists()
