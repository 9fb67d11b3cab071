"""The synthetic world's lanes in the OpenLane-V2 subset_B layout: the pickles, their join to the nuScenes key
frames, their equality with the map-expansion lanes, and DET_l on them through tools/eval's runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.geometry import pose_matrix
from onedrive.data.nuscenes.openlane import OpenLaneV2Lanes, load_pickle
from onedrive.data.nuscenes.pipeline import create_infos
from onedrive.evaluation.runner import evaluate_predictions
from onedrive.synthetic import DEFAULT_VERSION
from onedrive.synthetic.openlane_writer import pickle_path

VAL = "synthetic_val"


@pytest.fixture(scope="module")
def pickles(synthetic_root):
    return {split: load_pickle(pickle_path(synthetic_root, split)) for split in ("train", "val")}


@pytest.fixture(scope="module")
def val_infos(synthetic_root, tmp_path_factory):
    """The val split converted twice: lanes from the map expansion, and from the OpenLane-V2 val pickle."""
    out = tmp_path_factory.mktemp("openlane_infos")
    documents = {}
    for name, openlane in (("map", ()), ("openlane", (str(pickle_path(synthetic_root, "val")),))):
        settings = ConverterSettings(str(synthetic_root), DEFAULT_VERSION, check_images=False, openlane=openlane)
        (path,) = create_infos(settings, out / name, splits=[VAL], progress=False)
        documents[name] = (path, json.loads(path.read_text()))
    return documents


def test_pickles_hold_every_key_frame_keyed_by_its_cam_front_timestamp(pickles, nusc, default_config):
    scenes = {scene["name"]: scene for scene in nusc.scene}
    splits = json.loads((Path(nusc.dataroot) / DEFAULT_VERSION / "splits.json").read_text())
    for split, frames in pickles.items():
        expected = {}
        for name in splits[f"synthetic_{split}"]:
            token = scenes[name]["first_sample_token"]
            while token:
                sample = nusc.get("sample", token)
                camera = nusc.get("sample_data", sample["data"]["CAM_FRONT"])
                expected[str(camera["timestamp"])] = nusc.get("ego_pose", camera["ego_pose_token"])
                token = sample["next"]
        assert sorted(key[2] for key in frames) == sorted(expected)
        assert {key[0] for key in frames} == {split}
        for key, frame in frames.items():
            pose = expected[key[2]]
            np.testing.assert_allclose(
                np.block([[frame["pose"]["rotation"], frame["pose"]["translation"][:, None]], [np.zeros(3), 1.0]]),
                pose_matrix(pose["translation"], pose["rotation"]),
                atol=1e-9,
            )
            lanes = frame["annotation"]["lane_centerline"]
            assert lanes and {lane["points"].shape for lane in lanes} == {(201 if split == "train" else 11, 3)}
            assert {lane["points"].dtype for lane in lanes} == {np.dtype(np.float32)}
            assert frame["annotation"]["topology_lclc"].shape == (len(lanes), len(lanes))
            assert frame["annotation"]["topology_lcte"].shape == (len(lanes), 0)
    total = sum(len(frames) for frames in pickles.values())
    assert total == default_config.scenes * default_config.samples_per_scene


def test_topology_links_pieces_that_continue_one_another(pickles):
    linked = 0
    for frame in pickles["train"].values():
        lanes = [lane["points"] for lane in frame["annotation"]["lane_centerline"]]
        for i, j in zip(*np.nonzero(frame["annotation"]["topology_lclc"])):
            assert np.linalg.norm(lanes[i][-1] - lanes[j][0]) < 1e-3
            linked += 1
    assert linked > 0


def test_val_pickle_is_the_train_density_every_20th_point(pickles, synthetic_root, world):
    """val keeps points [::20] of the 201 annotated ones: the same 11 points as resampling the piece to 11."""
    from onedrive.synthetic.openlane_writer import ANNOTATED_POINTS, frame_centerlines, lane_lines

    key, frame = next(iter(pickles["val"].items()))
    scene = next(s for s in world.scenes if s.split == "val" and str(s.timestamps[0]) == key[2])
    state = scene.traffic.ego.states[0]
    ego2global = np.eye(4)
    ego2global[:2, :2] = [[np.cos(state[2]), -np.sin(state[2])], [np.sin(state[2]), np.cos(state[2])]]
    ego2global[:2, 3] = state[:2]
    pieces, _ = frame_centerlines(world, lane_lines(world), ego2global, (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0))
    assert {len(p) for p in pieces} == {ANNOTATED_POINTS}
    stored = [lane["points"] for lane in frame["annotation"]["lane_centerline"]]
    np.testing.assert_allclose(np.stack(stored), np.stack(pieces)[:, ::20].astype(np.float32), atol=1e-5)


def _matched_deviation(first: np.ndarray, second: np.ndarray) -> float:
    """Largest point distance (m) between two lane sets (M, P, 3) paired by the assignment of least mean distance."""
    cost = np.linalg.norm(first[:, None] - second[None], axis=-1).mean(-1)  # (M, M)
    rows, cols = linear_sum_assignment(cost)
    return float(np.linalg.norm(first[rows] - second[cols], axis=-1).max())


def test_openlane_and_map_expansion_sources_describe_the_same_lanes(val_infos):
    (_, by_map), (_, by_openlane) = val_infos["map"], val_infos["openlane"]
    assert by_openlane["metadata"]["lane_sources"] == {"openlane_v2": len(by_openlane["infos"])}
    assert by_map["metadata"]["lane_sources"] == {"nuscenes_map_expansion": len(by_map["infos"])}
    deviations = []
    for first, second in zip(by_map["infos"], by_openlane["infos"]):
        assert first["token"] == second["token"]
        map_lanes, openlane_lanes = np.asarray(first["lanes"]), np.asarray(second["lanes"])
        assert map_lanes.shape == openlane_lanes.shape and len(map_lanes) > 0
        deviations.append(_matched_deviation(map_lanes, openlane_lanes))
    assert max(deviations) < 0.01  # m (4 mm measured): the devkit's 0.5 m arc discretisation against the exact arcs


def _write_lane_predictions(folder, records, shift: float = 0.0):
    folder.mkdir(parents=True, exist_ok=True)
    lanes = {
        r["token"]: [{"points": (np.asarray(lane) + [0.0, shift, 0.0]).tolist(), "score": 0.9} for lane in r["lanes"]]
        for r in records
    }
    (folder / "lanes.json").write_text(json.dumps(lanes))
    return folder


def test_det_l_on_openlane_frames_names_the_source(val_infos, tmp_path):
    (map_path, by_map), (openlane_path, by_openlane) = val_infos["map"], val_infos["openlane"]
    # Map-expansion lanes scored against OpenLane-V2 GT: the same lanes, so every threshold is met.
    predictions = _write_lane_predictions(tmp_path / "map_lanes", by_map["infos"])
    metrics = evaluate_predictions(predictions, openlane_path, out_dir=tmp_path / "eval", num_plots=0)
    assert metrics["lane/DET_l"] == pytest.approx(1.0)
    assert metrics["lane/source"] == "openlane_v2"
    written = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert written["lane/source"] == "openlane_v2" and "lane/source" in written["conventions"]
    # 1.5 m to the side: Fréchet ≥ 1.5 × 0.75 (the relaxation never drops under 0.745 within 51.2 m) → misses 1 m.
    shifted = _write_lane_predictions(tmp_path / "shifted", by_openlane["infos"], shift=1.5)
    metrics = evaluate_predictions(shifted, map_path)
    assert metrics["lane/DET_l@1m"] == 0.0 and metrics["lane/DET_l@2m"] == pytest.approx(1.0)
    assert metrics["lane/source"] == "nuscenes_map_expansion"


def test_reader_reads_the_synthetic_pickles(synthetic_root, pickles):
    lanes = OpenLaneV2Lanes.load([pickle_path(synthetic_root, split) for split in ("train", "val")])
    assert len(lanes.frames) == sum(len(frames) for frames in pickles.values())
    timestamp = int(next(iter(pickles["train"]))[2])
    assert lanes.lanes(timestamp, 11).shape[1:] == (11, 3)
