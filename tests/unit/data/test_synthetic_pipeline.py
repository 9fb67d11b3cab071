"""generator → converter → dataset → collate, through the real CLIs' ``main`` on tmp_path."""

import importlib.util
import json
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from onedrive.data import DriveDataset, collate_drive_batch

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def run_tool(name: str, argv: list[str]) -> None:
    spec = importlib.util.spec_from_file_location(f"tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(argv)


def test_synthetic_world_to_batch(tmp_path, processor, tokenizer, tiny_config):
    world, infos = tmp_path / "world", tmp_path / "infos"
    run_tool("make_synthetic", ["--out", str(world), "--scenes", "2", "--samples-per-scene", "2"])
    run_tool(
        "create_data",
        [
            "nuscenes",
            "--data-root",
            str(world),
            "--version",
            "v1.0-synthetic",
            "--out",
            str(infos),
            "--can-bus",
            str(world),
        ],
    )
    info_file = infos / "nuscenes_infos_synthetic_val.json"
    records = json.loads(info_file.read_text())["infos"]
    assert {record["ego_status_source"] for record in records} == {"can_bus"}

    dataset = DriveDataset(info_file, world, processor, split="synthetic_val")
    assert len(dataset) == len(records) == 2
    loader = DataLoader(dataset, batch_size=2, collate_fn=partial(collate_drive_batch, pad_token_id=0))
    batch = next(iter(loader))

    assert batch.sample_tokens == [record["token"] for record in records]
    per_sample = tiny_config.task_config.num_cameras * tiny_config.image_tokens_per_camera
    assert ((batch.input_ids == tiny_config.image_token_id).sum(dim=1) == per_sample).all()
    assert batch.pixel_values.shape == (2 * 6 * 3, 3, 56, 56)
    assert torch.isfinite(batch.pixel_values).all() and batch.pixel_values.std() > 0.1  # rendered, not blank
    dropped = 0
    for row, record in enumerate(records):
        token, question, answer = dataset.qa_turn(row)
        assert (question, answer) in {(turn["question"], turn["answer"]) for turn in record["qa"]}
        labelled = batch.input_ids[row][batch.labels[row] != -100]
        assert tokenizer.decode(labelled) == answer + "<|im_end|>"
        front = record["cams"]["CAM_FRONT"]
        scale = np.array([112 / front["width"], 56 / front["height"], 1.0])[:, None]
        expected = scale * np.asarray(front["intrinsics"])
        expected[:2, 2] += 0.5 * scale[:2, 0] - 0.5
        np.testing.assert_allclose(batch.camera.intrinsics[row, 0].numpy(), expected, rtol=1e-5)
        np.testing.assert_allclose(batch.camera.cam2ego[row, 0].numpy(), front["cam2ego"], atol=1e-6)
        # Detection targets as the official configs build them: inside ±51.2 m, at least one lidar or radar point.
        points = np.add(record["gt_num_lidar_pts"], record["gt_num_radar_pts"])
        boxes = np.asarray(record["gt_boxes"])
        inside = (np.abs(boxes[:, :2]) < 51.2).all(axis=1)
        target = [
            name in processor.det_classes and n > 0 and ok for name, n, ok in zip(record["gt_names"], points, inside)
        ]
        dropped += len(target) - sum(target)
        kept = [name for name, is_target in zip(record["gt_names"], target) if is_target]
        assert [processor.det_classes[label] for label in batch.targets.labels[row]] == kept
        np.testing.assert_allclose(batch.targets.boxes[row].numpy(), boxes[target].reshape(-1, 9), atol=1e-5)
        np.testing.assert_allclose(batch.targets.trajectory[row].numpy(), record["ego_fut_traj"], atol=1e-6)
        assert batch.targets.trajectory_mask[row].tolist() == [bool(flag) for flag in record["ego_fut_mask"]]
        assert batch.targets.lanes[row].shape == (len(record["lanes"]), 11, 3)
        assert batch.command[row] == record["command"]
    assert dropped > 0  # the world holds boxes without points or beyond the range
