"""The ego status and the ego history (the ego token's inputs) of a key frame use only the present and the
past: moving every later pose or CAN bus message leaves them unchanged (pose path and CAN path, through the converter on the
synthetic world written in the real formats, read by the devkit)."""

import json
import shutil

import numpy as np
import pytest

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.ego_status import ego_status_from_poses
from onedrive.data.nuscenes.geometry import pose_matrix
from onedrive.data.nuscenes.pipeline import convert_splits
from onedrive.evaluation.baselines import constant_velocity
from onedrive.synthetic import SyntheticConfig, generate_world, make_synthetic

WORLD = SyntheticConfig(scenes=2, samples_per_scene=6, image_size=(32, 16))
CUT_KEY_FRAME = 2  # of each scene: poses / messages strictly after its time move


def _wobbly_poses(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    yaws = np.cumsum(rng.normal(0.0, 0.2, count))
    xy = np.cumsum(rng.normal(3.0, 1.0, (count, 2)), axis=0)
    return [pose_matrix([x, y, 0.0], [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]) for (x, y), yaw in zip(xy, yaws)]


def test_pose_status_ignores_every_later_pose():
    rng = np.random.default_rng(0)
    times = (np.arange(10) * 500_000 + rng.integers(-20_000, 20_000, 10)).tolist()
    poses = _wobbly_poses(10, rng)
    status, _ = ego_status_from_poses(times, poses)
    for cut in range(10):
        moved = poses[: cut + 1] + _wobbly_poses(10 - cut - 1, rng)
        moved_status, _ = ego_status_from_poses(times, moved)
        np.testing.assert_array_equal(moved_status[: cut + 1], status[: cut + 1])
        if cut < 9:
            assert not np.array_equal(moved_status[cut + 1 :], status[cut + 1 :])


@pytest.fixture(scope="module")
def world_root(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("world") / "synthetic", WORLD, progress=False)


def _records(root, can_bus: bool) -> dict[str, dict]:
    settings = ConverterSettings(
        str(root), "v1.0-synthetic", check_images=False, can_bus_root=str(root) if can_bus else None
    )
    documents = convert_splits(settings, progress=False)
    return {record["token"]: record for document in documents.values() for record in document["infos"]}


def _cut_times(root, key_frame: int = CUT_KEY_FRAME) -> dict[str, int]:
    """scene name → timestamp of its key frame ``key_frame``."""
    tables = root / "v1.0-synthetic"
    samples = {sample["token"]: sample for sample in json.loads((tables / "sample.json").read_text())}
    cuts = {}
    for scene in json.loads((tables / "scene.json").read_text()):
        token = scene["first_sample_token"]
        for _ in range(key_frame):
            token = samples[token]["next"]
        cuts[scene["name"]] = samples[token]["timestamp"]
    return cuts


def _assert_causal(before: dict, after: dict, cuts: dict[str, int], key_frame: int = CUT_KEY_FRAME) -> None:
    kept = [token for token, record in before.items() if record["timestamp"] <= cuts[record["scene_name"]]]
    later = [token for token in before if token not in kept]
    assert len(kept) == WORLD.scenes * (key_frame + 1) and later
    for token in kept:
        assert after[token]["ego_status"] == before[token]["ego_status"], token
        assert after[token]["ego_status_source"] == before[token]["ego_status_source"], token
        assert after[token]["ego_history"] == before[token]["ego_history"], token  # the ego token's past
    assert any(after[token]["ego_status"] != before[token]["ego_status"] for token in later)  # the move was seen
    assert any(after[token]["ego_history"] != before[token]["ego_history"] for token in later)


def test_poses_path_ignores_later_ego_poses(world_root, tmp_path):
    before = _records(world_root, can_bus=False)
    assert {record["can_bus_fallback"] for record in before.values()} == {"not_requested"}
    cuts = _cut_times(world_root)
    moved = shutil.copytree(world_root, tmp_path / "moved")
    tables = moved / "v1.0-synthetic"
    scene_names = {scene["token"]: scene["name"] for scene in json.loads((tables / "scene.json").read_text())}
    sample_scene = {s["token"]: scene_names[s["scene_token"]] for s in json.loads((tables / "sample.json").read_text())}
    pose_scene = {
        sd["ego_pose_token"]: sample_scene[sd["sample_token"]]
        for sd in json.loads((tables / "sample_data.json").read_text())
    }
    path = tables / "ego_pose.json"
    poses = json.loads(path.read_text())
    for pose in poses:
        if pose["timestamp"] > cuts[pose_scene[pose["token"]]]:
            pose["translation"] = [pose["translation"][0] + 7.0, pose["translation"][1] - 3.0, 0.0]
            pose["rotation"] = [0.9, 0.0, 0.0, float(np.sqrt(1 - 0.81))]
    path.write_text(json.dumps(poses))
    _assert_causal(before, _records(moved, can_bus=False), cuts)


@pytest.mark.parametrize("key_frame", [0, CUT_KEY_FRAME])
def test_can_path_ignores_later_messages(world_root, tmp_path, key_frame):
    """Also when the CAN log starts after the first key frame (the next message must not stand in)."""
    cuts = _cut_times(world_root, key_frame)
    late = shutil.copytree(world_root, tmp_path / "late_can")
    first_times = _cut_times(world_root, 0)
    for name, first in first_times.items():  # the CAN log starts 0.3 s after the first key frame
        path = late / "can_bus" / f"{name}_pose.json"
        path.write_text(json.dumps([m for m in json.loads(path.read_text()) if m["utime"] > first + 250_000]))
    before = _records(late, can_bus=True)
    moved = shutil.copytree(late, tmp_path / "moved")
    for name, cut in cuts.items():
        path = moved / "can_bus" / f"{name}_pose.json"
        messages = json.loads(path.read_text())
        for message in messages:
            if message["utime"] > cut:
                message["vel"] = [message["vel"][0] + 2.0, 0.5, 0.0]
                message["accel"] = [-3.0, 1.0, 0.0]
                message["rotation_rate"] = [0.0, 0.0, 0.2]
        path.write_text(json.dumps(messages))
    _assert_causal(before, _records(moved, can_bus=True), cuts, key_frame)
    firsts = [record for record in before.values() if record["timestamp"] == first_times[record["scene_name"]]]
    assert {(r["ego_status_source"], r["can_bus_fallback"]) for r in firsts} == {("no_past", "no_message_before")}
    assert {r["ego_status_source"] for r in before.values() if r not in firsts} == {"can_bus"}


def test_synthetic_can_bus_reports_the_world(world_root):
    records = _records(world_root, can_bus=True)
    assert {(r["ego_status_source"], r["can_bus_fallback"]) for r in records.values()} == {("can_bus", "")}
    world = generate_world(WORLD)
    for scene in world.scenes:
        ours = sorted((r for r in records.values() if r["scene_name"] == scene.name), key=lambda r: r["timestamp"])
        status = np.array([r["ego_status"] for r in ours])  # (T, 6)
        np.testing.assert_allclose(status[:, 0], scene.traffic.ego.states[:, 3], atol=1e-9)  # speed along x
        np.testing.assert_allclose(status[:, 5], scene.traffic.ego.states[:, 3], atol=1e-9)
        np.testing.assert_array_equal(status[0, 2:5], 0.0)  # the world begins at its first key frame


def test_constant_velocity_baseline_reads_the_info_status(world_root):
    records = list(_records(world_root, can_bus=True).values())
    waypoints = constant_velocity(records)
    for record in records:
        expected = 0.5 * np.arange(1, 7)[:, None] * np.asarray(record["ego_status"][:2])  # (6, 2)
        np.testing.assert_allclose(waypoints[record["token"]], expected, atol=1e-12)
