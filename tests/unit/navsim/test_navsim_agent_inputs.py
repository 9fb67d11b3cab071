"""The devkit agent's conversions on the synthetic NAVSIM logs: AgentInput → DriveBatch, trajectory → poses.

The devkit is not installed here; its containers are stood in for by ``SimpleNamespace`` objects carrying the
fields the devkit's ``AgentInput.from_scene_dict_list`` fills from a log (v1.1 and v2.x alike), built from the
log frames the synthetic writer produced.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from onedrive import OneDriveConfig
from onedrive.data.collate import collate_drive_batch
from onedrive.data.dataset import DriveDataset
from onedrive.data.navsim.logs import CAMERA_NAMES, global_pose
from onedrive.data.navsim.scene_filter import filter_scenes, load_scene_filter
from onedrive.data.navsim.scenes import NUM_HISTORY, relative_poses
from onedrive.errors import InputError
from onedrive.integrations.navsim_agent import resolve_lidar2ego
from onedrive.integrations.navsim_inputs import (
    agent_input_arrays,
    agent_input_batch,
    build_drive_batch,
    lidar2ego_from_logs,
    trajectory_to_poses,
)
from onedrive.model import build_tokenizer
from onedrive.model.processing_onedrive import OneDriveProcessor
from onedrive.synthetic.navsim_writer import NAVSIM_LOG_FOLDERS
from onedrive.tiny import tiny_internvl_config


@pytest.fixture(scope="module")
def processor():
    config = OneDriveConfig(**tiny_internvl_config().to_dict())
    return OneDriveProcessor.from_config(config, build_tokenizer(), num_cameras=8, plan_steps=8, plan_dims=3)


@pytest.fixture(scope="module")
def navtest_scenes(navsim_root):
    scene_filter = load_scene_filter(navsim_root / "scene_filters" / "navtest.yaml")
    return filter_scenes(navsim_root, NAVSIM_LOG_FOLDERS["navtest"], scene_filter)


def devkit_agent_input(scene, data_root):
    """What the devkit hands an agent for ``scene``: its history's ego statuses and the current frame's cameras."""
    history = scene.frames[:NUM_HISTORY]
    local = relative_poses(global_pose(scene.current), np.stack([global_pose(frame) for frame in history]))
    statuses = [
        SimpleNamespace(
            ego_pose=local[index].astype(np.float32),
            ego_velocity=np.asarray(frame["ego_dynamic_state"][:2], dtype=np.float32),
            ego_acceleration=np.asarray(frame["ego_dynamic_state"][2:], dtype=np.float32),
            driving_command=np.asarray(frame["driving_command"]),
        )
        for index, frame in enumerate(history)
    ]
    blobs = data_root / "sensor_blobs" / NAVSIM_LOG_FOLDERS["navtest"]
    cams = scene.current["cams"]
    cameras = SimpleNamespace(
        **{
            name.lower(): SimpleNamespace(
                image=np.array(Image.open(blobs / cams[name]["data_path"])),
                sensor2lidar_rotation=cams[name]["sensor2lidar_rotation"],
                sensor2lidar_translation=cams[name]["sensor2lidar_translation"],
                intrinsics=cams[name]["cam_intrinsic"],
            )
            for name in CAMERA_NAMES
        }
    )
    return SimpleNamespace(ego_statuses=statuses, cameras=[cameras], lidars=[])


def test_agent_input_batch_equals_the_dataset_batch_of_the_token(processor, navtest_scenes, navsim_root, navsim_infos):
    lidar2ego = lidar2ego_from_logs(navsim_root / "navsim_logs" / NAVSIM_LOG_FOLDERS["navtest"])
    assert not np.allclose(lidar2ego, np.eye(4))  # the synthetic lidar sits 1.5 m ahead, 1.9 m up
    dataset = DriveDataset(
        navsim_infos / "navsim_infos_navtest.json", navsim_root, processor, qa_mode="planning", generation=True
    )
    index_of = {record["token"]: index for index, record in enumerate(dataset.infos)}
    for scene in navtest_scenes[:3]:
        sample = dataset[index_of[scene.token]]
        expected = collate_drive_batch([sample], pad_token_id=processor.tokenizer.pad_token_id)
        batch = agent_input_batch(processor, devkit_agent_input(scene, navsim_root), lidar2ego)
        assert torch.equal(batch.pixel_values, expected.pixel_values)
        assert torch.equal(batch.input_ids, expected.input_ids)
        torch.testing.assert_close(batch.camera.cam2ego, expected.camera.cam2ego)
        torch.testing.assert_close(batch.camera.intrinsics, expected.camera.intrinsics)
        torch.testing.assert_close(batch.ego_status, expected.ego_status, atol=1e-5, rtol=1e-5)
        assert batch.command.tolist() == expected.command.tolist()
        assert expected.ego_history[0, :, -1].tolist() == [1.0, 1.0]  # both previous frames in the history
        torch.testing.assert_close(batch.ego_history, expected.ego_history, atol=1e-4, rtol=1e-5)


def test_a_missing_extrinsic_is_an_error_not_an_identity(navtest_scenes, navsim_root):
    lidar2ego = lidar2ego_from_logs(navsim_root / "navsim_logs" / NAVSIM_LOG_FOLDERS["navtest"])
    for field in ("sensor2lidar_rotation", "sensor2lidar_translation", "intrinsics"):
        agent_input = devkit_agent_input(navtest_scenes[0], navsim_root)
        setattr(agent_input.cameras[-1].cam_l1, field, None)
        with pytest.raises(InputError, match=f"camera CAM_L1: AgentInput has no {field}"):
            agent_input_arrays(agent_input, lidar2ego)
    with pytest.raises(InputError, match="exactly one of lidar2ego_logs"):
        resolve_lidar2ego(None, None)
    logs = navsim_root / "navsim_logs" / NAVSIM_LOG_FOLDERS["navtest"]
    np.testing.assert_array_equal(resolve_lidar2ego(None, logs), lidar2ego)
    with pytest.raises(InputError, match="4 x 4"):
        resolve_lidar2ego(np.eye(3), None)


def test_trajectory_follows_the_requested_sampling_or_is_refused():
    trajectory = torch.arange(24.0).reshape(1, 8, 3)  # pose k at (k + 1) * 0.5 s
    poses = trajectory_to_poses(trajectory)
    assert poses.shape == (8, 3) and poses.dtype == np.float32 and poses[7, 2] == 23.0
    every_second = trajectory_to_poses(trajectory, num_poses=4, interval_length=1.0)
    np.testing.assert_array_equal(every_second, poses[[1, 3, 5, 7]])
    np.testing.assert_array_equal(trajectory_to_poses(trajectory, num_poses=2, interval_length=0.5), poses[:2])
    for num_poses, interval in ((40, 0.1), (10, 0.5), (8, 0.75)):
        with pytest.raises(InputError, match="cannot be produced; the model predicts 8 poses every 0.5 s"):
            trajectory_to_poses(trajectory, num_poses=num_poses, interval_length=interval)
    with pytest.raises(ValueError, match="8 \\(x, y, heading\\) poses"):
        trajectory_to_poses(torch.zeros(1, 6, 2), "tok")
    with pytest.raises(ValueError, match="NaN"):
        trajectory_to_poses(torch.full((8, 3), float("nan")), "tok")


def test_build_drive_batch_checks_status_and_command(processor):
    images = [Image.new("RGB", (64, 32), (10 * i, 20, 30)) for i in range(8)]
    intrinsics = np.tile(np.array([[40.0, 0, 32], [0, 40.0, 16], [0, 0, 1]]), (8, 1, 1))
    cam2ego = np.tile(np.eye(4), (8, 1, 1))
    batch = build_drive_batch(processor, images, intrinsics, cam2ego, np.array([5.0, 0, 0.1, 0, 0.02, 5.0]), 1, "tok")
    assert batch.camera.intrinsics.shape == (1, 8, 3, 3) and batch.command.tolist() == [1]
    assert batch.ego_status.shape == (1, 6) and batch.labels is None and batch.sample_tokens == ["tok"]
    assert int((batch.input_ids == processor.image_token_id).sum()) == 8 * processor.image_tokens_per_camera
    with pytest.raises(ValueError, match="command"):
        build_drive_batch(processor, images, intrinsics, cam2ego, np.zeros(6), 3, "tok")
    with pytest.raises(ValueError, match="ego_status"):
        build_drive_batch(processor, images, intrinsics, cam2ego, np.array([np.nan] * 6), 2, "tok")


def test_agent_without_devkit_explains_how_to_install():
    import onedrive.integrations.navsim_agent as agent

    if agent.AbstractAgent is not None:
        pytest.skip("the NAVSIM devkit is installed")
    with pytest.raises(ImportError, match="v1.1 or v2.x.*pip install -e navsim"):
        agent.OneDriveAgent  # noqa: B018
