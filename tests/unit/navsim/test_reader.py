"""Synthetic NAVSIM logs read back through the reader: scenes, poses, cameras, commands, records."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from shapely.geometry import LineString

from onedrive.data import DriveDataset
from onedrive.data.navsim.logs import CAMERA_NAMES, load_log, log_paths
from onedrive.data.navsim.scene_filter import SceneFilter, filter_scenes, load_scene_filter
from onedrive.data.navsim.scenes import NUM_HISTORY, cameras, command, ego_status, future_poses, relative_poses
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.synthetic.navsim_writer import NAVSIM_LOG_FOLDERS, NAVSIM_SPLITS, route_command
from tools.create_data import main as create_data


def load_scenes(root, split, tokens=None):
    """The scenes of the synthetic split ``split`` (its scene filter over its log folder), or of ``tokens``."""
    scene_filter = load_scene_filter(root / "scene_filters" / f"{split}.yaml")
    if tokens is not None:
        scene_filter = SceneFilter(frame_interval=1, tokens=tuple(tokens), source="tokens")
    return filter_scenes(root, NAVSIM_LOG_FOLDERS[split], scene_filter)


def navtest_args(root, out):
    return [
        "navsim",
        "--data-root",
        str(root),
        "--logs",
        "test",
        "--scene-filter",
        str(root / "scene_filters" / "navtest.yaml"),
        "--out",
        str(out),
    ]


def test_every_frame_with_history_and_future_is_a_token(navsim_root, navsim_world):
    meta = json.loads((navsim_root / "synthetic.json").read_text())
    for split in ("navtrain", "navtest"):
        scenes = load_scenes(navsim_root, split)
        assert [scene.token for scene in scenes] == meta["tokens"][split]
        expected = sum(1 for s in navsim_world.scenes if NAVSIM_SPLITS[s.split] == split) * 4
        assert len(scenes) == expected
        for scene in scenes:
            assert len(scene.frames) == 14 and scene.current["token"] == scene.token
            assert future_poses(scene).shape == (8, 3)


def test_future_poses_are_the_world_ego_states_in_the_current_frame(navsim_root, navsim_world):
    scenes = {scene.token: scene for scene in load_scenes(navsim_root, "navtrain")}
    checked = 0
    for world_scene in navsim_world.scenes:
        if world_scene.split != "train":
            continue
        log = load_log(navsim_root / "navsim_logs" / "trainval" / f"synthetic-0-{world_scene.name}.pkl")
        states = world_scene.traffic.ego.states  # (T, 4) x, y, yaw, speed
        for t in range(world_scene.first_key, len(log) - 10):
            poses = future_poses(scenes[log[t]["token"]])
            expected = relative_poses(states[t, :3], states[t + 1 : t + 9, :3])
            np.testing.assert_allclose(poses, expected, atol=1e-9)
            np.testing.assert_allclose(ego_status(scenes[log[t]["token"]])[[0, 5]], states[t, 3], atol=1e-9)
            checked += 1
    assert checked == 12


def test_eight_cameras_project_like_the_rig(navsim_root, navsim_world):
    from onedrive.synthetic.cameras import navsim_rig

    rig = {camera.name: camera for camera in navsim_rig(64, 32)}
    scene = load_scenes(navsim_root, "navtest")[0]
    geometry = cameras(scene)
    assert list(geometry) == list(CAMERA_NAMES)
    for name, camera in geometry.items():
        np.testing.assert_allclose(camera["cam2ego"], rig[name].cam2ego, atol=1e-9)
        np.testing.assert_allclose(camera["intrinsics"], rig[name].intrinsics)
        assert (navsim_root / "sensor_blobs" / "test" / camera["data_path"]).is_file()


def test_command_follows_navsim_one_hot_order():
    straight = LineString([(0, 0), (100, 0)])
    left = LineString([(0, 0), (10, 0), (10, 50)])
    right = LineString([(0, 0), (10, 0), (10, -50)])
    pose = np.array([0.0, 0.0, 0.0])
    assert route_command(left, pose).tolist() == [1, 0, 0, 0]  # (left, straight, right, unknown)
    assert route_command(straight, pose).tolist() == [0, 1, 0, 0]
    assert route_command(right, pose).tolist() == [0, 0, 1, 0]


def test_all_commands_occur_and_map_to_the_repository_convention(navsim_root):
    seen = set()
    for split in ("navtrain", "navtest"):
        for scene in load_scenes(navsim_root, split):
            one_hot = np.asarray(scene.current["driving_command"])
            assert command(scene) == {0: 1, 1: 2, 2: 0}[int(np.argmax(one_hot))]
            seen.add(command(scene))
    assert seen == {0, 1, 2}


def test_cli_writes_records_the_dataset_reads(navsim_root, tmp_path):
    assert create_data(navtest_args(navsim_root, tmp_path)) == 0
    content = json.loads((tmp_path / "navsim_infos_navtest.json").read_text())
    assert content["metadata"]["dataset"] == "navsim" and content["metadata"]["split"] == "navtest"
    assert content["metadata"]["log_folder"] == "test"
    record = content["infos"][0]
    assert list(record["cams"]) == list(CAMERA_NAMES)
    assert np.asarray(record["ego_fut_traj"]).shape == (8, 3) and len(record["ego_status"]) == 6
    assert (tmp_path / "navsim_pdms_navtest.json").is_file()
    from onedrive import OneDriveConfig
    from onedrive.tiny import tiny_internvl_config

    processor = OneDriveProcessor.from_config(
        OneDriveConfig(**tiny_internvl_config().to_dict()), build_tokenizer(), num_cameras=8, plan_steps=8, plan_dims=3
    )
    dataset = DriveDataset(tmp_path / "navsim_infos_navtest.json", navsim_root, processor, split="navtest")
    sample = dataset[0]
    assert sample.targets.trajectory.shape == (8, 3) and sample.intrinsics.shape == (8, 3, 3)
    np.testing.assert_allclose(sample.targets.trajectory.numpy(), record["ego_fut_traj"], atol=1e-5)


def _copy_set(navsim_root, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(navsim_root, root)
    return root


def test_missing_camera_file_names_the_token(navsim_root, tmp_path):
    root = _copy_set(navsim_root, tmp_path)
    scene = load_scenes(root, "navtest")[1]
    (root / "sensor_blobs" / "test" / scene.current["cams"]["CAM_L2"]["data_path"]).unlink()
    with pytest.raises(ValueError, match=f"token '{scene.token}'.*CAM_L2"):
        create_data(navtest_args(root, tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_map_names_the_token(navsim_root, tmp_path):
    root = _copy_set(navsim_root, tmp_path)
    (root / "maps" / "synthetic-town.json").unlink()
    first = load_scenes(root, "navtest")[0].token
    with pytest.raises(ValueError, match=f"token '{first}': map 'synthetic-town' not found"):
        create_data(navtest_args(root, tmp_path / "out"))
    # The info records alone do not need the map.
    assert create_data(navtest_args(root, tmp_path / "out") + ["--no-pdms"]) == 0


def test_too_few_future_frames_and_wrong_pose_count_name_the_token(navsim_root, tmp_path):
    path = log_paths(navsim_root, "test")[0]
    frames = load_log(path)
    late = frames[-5]["token"]  # 4 future frames only
    with pytest.raises(ValueError, match=f"'{late}': only 4 future frames in {path.name}"):
        load_scenes(navsim_root, "navtest", tokens=[late])
    root = _copy_set(navsim_root, tmp_path)
    del frames[NUM_HISTORY + 2]  # a gap: the scene's future is no longer at 2 Hz
    (root / "navsim_logs" / "test" / path.name).write_bytes(pickle.dumps(frames))
    scene = filter_scenes(root, "test", SceneFilter(frame_interval=1, log_names=(path.stem,)))[0]
    with pytest.raises(ValueError, match=f"token '{scene.token}': frames must be 0.5 s apart"):
        future_poses(scene)


def test_log_missing_a_key_names_the_token(navsim_root, tmp_path):
    root = _copy_set(navsim_root, tmp_path)
    path = log_paths(root, "test")[0]
    frames = load_log(path)
    del frames[2]["cams"]["CAM_B0"]
    path.write_bytes(pickle.dumps(frames))
    with pytest.raises(ValueError, match=f"token '{frames[2]['token']}'.*CAM_B0"):
        load_log(path)
