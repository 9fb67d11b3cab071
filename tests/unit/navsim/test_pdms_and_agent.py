"""PDM scene files score with the repository's PDM scorer; the agent's pure conversions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from onedrive import OneDriveConfig
from onedrive.evaluation.pdms import score_tokens
from onedrive.evaluation.pdms.scene_file import load_pdms_scenes
from onedrive.integrations.navsim_agent import build_drive_batch, trajectory_to_poses
from onedrive.model import build_tokenizer
from onedrive.model.processing_onedrive import OneDriveProcessor
from onedrive.tiny import tiny_internvl_config


def test_pdms_scenes_load_and_the_logged_trajectory_beats_standing_still(navsim_infos, navsim_root):
    scenes = load_pdms_scenes(navsim_infos / "navsim_pdms_navtest.json", data_root=navsim_root)
    infos = json.loads((navsim_infos / "navsim_infos_navtest.json").read_text())["infos"]
    assert [scene.token for scene in scenes] == [record["token"] for record in infos]
    human = {record["token"]: record["ego_fut_traj"] for record in infos}
    still = {record["token"]: np.zeros((8, 3)) for record in infos}
    per_token, summary = score_tokens(scenes, human)
    _, standing = score_tokens(scenes, still)
    assert all(result["DAC"] == 1.0 for result in per_token.values())  # the logged ego stays on the road
    assert summary["navsim/PDMS"] > standing["navsim/PDMS"] and summary["navsim/EP"] > standing["navsim/EP"] + 0.5
    assert all(len(scene.objects) > 0 for scene in scenes)


@pytest.fixture(scope="module")
def processor():
    config = OneDriveConfig(**tiny_internvl_config().to_dict())
    return OneDriveProcessor.from_config(config, build_tokenizer(), num_cameras=8, plan_steps=8, plan_dims=3)


def test_build_drive_batch_from_eight_cameras(processor):
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


def test_trajectory_to_poses_checks_shape_and_values():
    poses = trajectory_to_poses(torch.arange(24.0).reshape(1, 8, 3))
    assert poses.shape == (8, 3) and poses.dtype == np.float32 and poses[7, 2] == 23.0
    with pytest.raises(ValueError, match="8 \\(x, y, heading\\) poses"):
        trajectory_to_poses(torch.zeros(1, 6, 2), "tok")
    with pytest.raises(ValueError, match="NaN"):
        trajectory_to_poses(torch.full((8, 3), float("nan")), "tok")


def test_agent_without_devkit_explains_how_to_install():
    import onedrive.integrations.navsim_agent as agent

    if agent.AbstractAgent is not None:
        pytest.skip("the NAVSIM devkit is installed")
    with pytest.raises(ImportError, match="pip install -e navsim"):
        agent.OneDriveAgent  # noqa: B018
