"""OpenLane-V2 subset_B lanes: the restricted reader, the CAM_FRONT join and ``create_data.py --openlane``
on the tiny nuScenes world (real devkit, real pickles on disk)."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from nuscenes import NuScenes

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.openlane import OpenLaneV2Lanes, load_pickle, resample_polyline_3d
from onedrive.data.nuscenes.pipeline import create_infos
from onedrive.errors import InputError
from tools import create_data

from .conftest import write_tiny_nuscenes


def _frame(lanes: list[np.ndarray]) -> dict:
    """An OpenLane-V2 frame as ``collect`` writes it (points float32, int8 topology)."""
    return {
        "version": "v1.0",
        "segment_id": "11000",
        "meta_data": {"source": "nuscenes", "source_id": "scene-token-2"},
        "timestamp": 0,
        "sensor": {},
        "pose": {"rotation": np.eye(3), "translation": np.zeros(3)},
        "annotation": {
            "lane_centerline": [{"id": i, "points": lane.astype(np.float32)} for i, lane in enumerate(lanes)],
            "traffic_element": [],
            "topology_lclc": np.zeros((len(lanes), len(lanes)), dtype=np.int8),
            "topology_lcte": np.zeros((len(lanes), 0), dtype=np.int8),
        },
    }


def _straight(y: float, points: int) -> np.ndarray:
    x = np.linspace(-10.0, 30.0, points)
    return np.column_stack([x, np.full(points, y), 0.1 * x])  # (points, 3), rising 0.1 m per m


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_tiny_nuscenes(tmp_path_factory.mktemp("tiny") / "nuscenes")


@pytest.fixture(scope="module")
def cam_front_timestamps(world):
    """{sample token: (sample timestamp, CAM_FRONT timestamp)} read through the devkit."""
    nusc = NuScenes(version=world.version, dataroot=str(world.root), verbose=False)
    return {
        sample["token"]: (sample["timestamp"], nusc.get("sample_data", sample["data"]["CAM_FRONT"])["timestamp"])
        for sample in nusc.sample
    }


@pytest.fixture(scope="module")
def openlane_pickle(world, cam_front_timestamps, tmp_path_factory):
    """The val scene's first five key frames, keyed by CAM_FRONT timestamp; 201-point lanes (train pickle density)."""
    tokens = world.sample_tokens["scene-0002"][:5]
    frames = {
        ("val", "11000", str(cam_front_timestamps[token][1])): _frame([_straight(1.75, 201), _straight(-1.75, 201)])
        for token in tokens
    }
    path = tmp_path_factory.mktemp("openlane") / "data_dict_subset_B_val.pkl"
    path.write_bytes(pickle.dumps(frames))
    return path, tokens


def test_reader_keeps_an_11_point_lane_as_stored_and_resamples_others_along_3d_length(tmp_path):
    stored = _straight(0.0, 11).astype(np.float32)
    path = tmp_path / "val.pkl"
    path.write_bytes(pickle.dumps({("val", "11000", "42"): _frame([stored, _straight(3.0, 201)])}))
    lanes = OpenLaneV2Lanes.load([path])
    assert 42 in lanes and lanes.key(42) == ("val", "11000", "42")
    result = lanes.lanes(42, 11)  # (2, 11, 3)
    assert result.shape == (2, 11, 3)
    np.testing.assert_array_equal(result[0], stored.astype(np.float64))
    np.testing.assert_allclose(result[1], _straight(3.0, 11), atol=1e-5)  # equally spaced in 3D = in x here
    assert lanes.lanes(42, 5).shape == (2, 5, 3)


def test_resample_3d_spaces_points_by_3d_length():
    line = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0], [3.0, 0.0, 4.0], [3.0, 5.0, 4.0]])  # lengths 5, 0, 5
    np.testing.assert_allclose(resample_polyline_3d(line, 3), [[0, 0, 0], [3, 0, 4], [3, 5, 4]])


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_a_pickle_that_would_run_code(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({("val", "1", "2"): _RunsCode()}))
    with pytest.raises(InputError, match=r"evil\.pkl.*names (posix|os)\.system"):
        load_pickle(path)


@pytest.mark.parametrize(
    "content, words",
    [
        ([1, 2], "expected a dict keyed by (split, segment_id, timestamp)"),
        ({"val/11000/42": {}}, "is not a (split, segment_id, timestamp) tuple"),
        ({("val", "11000", "4x2"): {}}, "expected digits"),
        ({("test", "11000", "42"): {"pose": {}}}, "expected a frame dict with an 'annotation' dict"),
        ({("val", "11000", "42"): _frame([np.zeros((11, 2))])}, "lane_centerline[0]['points'] should be (N >= 2, 3)"),
        ({("val", "11000", "42"): _frame([np.full((11, 3), np.nan)])}, "NaN or infinite"),
    ],
)
def test_reader_names_file_frame_and_what_was_expected(tmp_path, content, words):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(InputError) as error:
        OpenLaneV2Lanes.load([path])
    assert str(path) in str(error.value) and words in str(error.value)


def test_reader_refuses_one_timestamp_in_two_pickles(tmp_path):
    for name in ("a.pkl", "b.pkl"):
        (tmp_path / name).write_bytes(pickle.dumps({("val", name, "42"): _frame([])}))
    with pytest.raises(InputError, match="timestamp 42 appears twice"):
        OpenLaneV2Lanes.load([tmp_path / "a.pkl", tmp_path / "b.pkl"])


def test_converter_takes_openlane_lanes_where_the_cam_front_timestamp_joins(world, openlane_pickle, tmp_path):
    path, joined = openlane_pickle
    plain = create_infos(ConverterSettings(str(world.root), world.version), tmp_path / "plain", progress=False)
    settings = ConverterSettings(str(world.root), world.version, openlane=(str(path),))
    infos = create_infos(settings, tmp_path / "openlane", progress=False)
    documents = {p.name: json.loads(p.read_text()) for p in infos}
    val = documents["nuscenes_infos_tiny_val.json"]
    map_lanes = {r["token"]: r["lanes"] for p in plain for r in json.loads(p.read_text())["infos"]}
    assert val["metadata"]["openlane_v2"] == [str(path)]
    assert val["metadata"]["lane_sources"] == {"nuscenes_map_expansion": 3, "openlane_v2": 5}
    assert documents["nuscenes_infos_tiny_train.json"]["metadata"]["lane_sources"] == {"nuscenes_map_expansion": 10}
    for record in val["infos"]:
        if record["token"] in joined:
            assert record["lane_source"] == "openlane_v2"
            assert record["openlane_v2_frame"][:2] == ["val", "11000"]
            np.testing.assert_allclose(record["lanes"], [_straight(1.75, 11), _straight(-1.75, 11)], atol=1e-5)
        else:
            assert record["lane_source"] == "nuscenes_map_expansion"
            assert record["lanes"] == map_lanes[record["token"]]


def test_join_is_by_cam_front_timestamp_not_the_sample_timestamp(world, cam_front_timestamps, tmp_path):
    token = world.sample_tokens["scene-0002"][0]
    sample_timestamp, cam_front = cam_front_timestamps[token]
    assert sample_timestamp != cam_front  # the tiny world's CAM_FRONT fires 10 ms after the lidar
    path = tmp_path / "by_sample_timestamp.pkl"
    path.write_bytes(pickle.dumps({("val", "11000", str(sample_timestamp)): _frame([_straight(0.0, 11)])}))
    settings = ConverterSettings(str(world.root), world.version, openlane=(str(path),))
    (info,) = create_infos(settings, tmp_path / "infos", splits=["tiny_val"], progress=False)
    assert json.loads(info.read_text())["metadata"]["lane_sources"] == {"nuscenes_map_expansion": 8}


def test_create_data_openlane_option(world, openlane_pickle, tmp_path, capsys):
    path, joined = openlane_pickle
    out = tmp_path / "infos"
    argv = ["nuscenes", "--data-root", str(world.root), "--version", world.version, "--out", str(out)]
    assert create_data.main([*argv, "--split", "tiny_val", "--openlane", str(path)]) == 0
    assert "lanes: 3 nuscenes_map_expansion, 5 openlane_v2" in capsys.readouterr().out
    records = json.loads((out / "nuscenes_infos_tiny_val.json").read_text())["infos"]
    assert [r["token"] for r in records if r["lane_source"] == "openlane_v2"] == joined


def test_reader_reads_numpy_arrays_of_python3_pickle_protocols(tmp_path):
    """Protocol 5 rebuilds arrays through numpy's ``_frombuffer``, 3 and 4 (Python 3's defaults) through
    ``_reconstruct``."""
    lane = _straight(1.0, 11)
    for protocol in range(3, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"protocol{protocol}.pkl"
        path.write_bytes(pickle.dumps({("val", "1", "7"): _frame([lane])}, protocol=protocol))
        np.testing.assert_array_equal(OpenLaneV2Lanes.load([path]).lanes(7, 11)[0], lane.astype(np.float32))
