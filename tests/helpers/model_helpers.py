"""Builders for the model tests: OneDrive on tiny checkpoints, prompts, cameras and batches."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from plan_query_helpers import history, with_anchors

from onedrive import CameraGeometry, DriveBatch, DriveTargets, OneDriveForDriving
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

TASK = dict(
    num_det_queries=8,
    num_lane_queries=4,
    max_boxes=8,
    max_lanes=4,
    lane_points=5,
    depth_bins=4,
    num_cameras=2,
    num_plan_modes=2,
)  # load_onedrive adds hand-made plan_mode_anchors of the task's shape (plan_query_helpers.with_anchors)
IMAGE_TOKEN_ID = 5
TILES_PER_CAMERA = 3  # 1 x 2 grid + thumbnail
TOKENS_PER_TILE = 4


def save_internvl_like_release(folder, tied: bool, tie_key: bool, seed: int = 0) -> Path:
    """A tiny InternVL written by ``save_pretrained`` the way the released checkpoints are.

    ``tied=False``: its own LM head (InternVL3-1B/2B-hf). ``tie_key=False``: no top-level
    ``tie_word_embeddings`` in config.json, as in configs written by transformers 4.5x.
    """
    config = tiny_internvl_config(image_token_id=IMAGE_TOKEN_ID)
    config.tie_word_embeddings = tied
    folder = save_tiny_internvl(folder, config, seed=seed)
    if not tie_key:
        remove_top_level_key(folder / "config.json", "tie_word_embeddings")
    return folder


def remove_top_level_key(config_path: Path, key: str) -> None:
    config = json.loads(config_path.read_text())
    del config[key]
    config_path.write_text(json.dumps(config, indent=2))


def load_onedrive(path, attn_implementation="sdpa", **task_overrides) -> OneDriveForDriving:
    torch.manual_seed(0)
    model = OneDriveForDriving.from_internvl(
        str(path), task_config=with_anchors(**{**TASK, **task_overrides}), attn_implementation=attn_implementation
    )
    return model.eval()


def make_prompt(text_lengths, prefix=3, generator=None, num_cameras=2):
    """(B, L) ids: ``prefix`` text tokens, the image tokens of every camera, then text; right-padded with 0."""
    image_tokens = num_cameras * TILES_PER_CAMERA * TOKENS_PER_TILE
    length = prefix + image_tokens + max(text_lengths)
    ids = torch.zeros(len(text_lengths), length, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, text in enumerate(text_lengths):
        total = prefix + image_tokens + text
        ids[row, :total] = torch.randint(10, 500, (total,), generator=generator)
        ids[row, prefix : prefix + image_tokens] = IMAGE_TOKEN_ID
        mask[row, :total] = 1
    return ids, mask


def make_camera(batch, num_cameras=2):
    intrinsics = (
        torch.tensor([[40.0, 0.0, 56.0], [0.0, 40.0, 28.0], [0.0, 0.0, 1.0]]).expand(batch, num_cameras, 3, 3).clone()
    )
    cam2ego = torch.eye(4).expand(batch, num_cameras, 4, 4).clone()
    # OpenCV camera axes (x right, y down, z forward) → ego (x forward, y left, z up), cameras looking ahead / behind.
    to_ego = torch.tensor([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    cam2ego[:, 0, :3, :3] = to_ego
    cam2ego[:, 1, :3, :3] = torch.diag(torch.tensor([-1.0, -1.0, 1.0])) @ to_ego
    cam2ego[..., :3, 3] = torch.tensor([1.0, 0.0, 1.5])
    return CameraGeometry(intrinsics, cam2ego, (56, 112))


def make_batch(text_lengths=(6, 10), seed=0, answer_tokens=3) -> DriveBatch:
    generator = torch.Generator().manual_seed(seed)
    batch = len(text_lengths)
    ids, mask = make_prompt(text_lengths, generator=generator)
    labels = torch.full_like(ids, -100)
    for row in range(batch):
        end = int(mask[row].sum())
        labels[row, end - answer_tokens : end] = ids[row, end - answer_tokens : end]
    boxes = [
        torch.cat(
            [
                torch.randn(n, 3, generator=generator) * 10,
                torch.rand(n, 3, generator=generator) + 1,
                torch.randn(n, 3, generator=generator),
            ],
            1,
        )
        for n in (3, 0, 2, 1)[:batch]
    ]
    targets = DriveTargets(
        boxes=boxes,
        labels=[torch.randint(0, 10, (len(b),), generator=generator) for b in boxes],
        lanes=[torch.randn(n, 5, 3, generator=generator) * 10 for n in (2, 1, 0, 3)[:batch]],
        trajectory=torch.randn(batch, 6, 2, generator=generator).cumsum(1),
        trajectory_mask=torch.ones(batch, 6, dtype=torch.bool),
    )
    targets.trajectory_mask[-1, 4:] = False
    return DriveBatch(
        input_ids=ids,
        attention_mask=mask,
        pixel_values=torch.randn(batch * 2 * TILES_PER_CAMERA, 3, 56, 56, generator=generator),
        labels=labels,
        camera=make_camera(batch),
        ego_status=torch.randn(batch, 6, generator=generator),
        command=torch.tensor([0, 1, 2, 1][:batch]),
        targets=targets,
        ego_history=history(batch, seed + 1),
        sample_tokens=[f"s{i}" for i in range(batch)],
    )


def select(batch: DriveBatch, row: int) -> DriveBatch:
    """Sample ``row`` alone, with its padding removed."""
    length = int(batch.attention_mask[row].sum())
    tiles = batch.pixel_values.shape[0] // len(batch.input_ids)
    t = batch.targets
    return DriveBatch(
        input_ids=batch.input_ids[row : row + 1, :length],
        attention_mask=batch.attention_mask[row : row + 1, :length],
        pixel_values=batch.pixel_values[row * tiles : (row + 1) * tiles],
        labels=batch.labels[row : row + 1, :length],
        camera=CameraGeometry(
            batch.camera.intrinsics[row : row + 1], batch.camera.cam2ego[row : row + 1], batch.camera.image_hw
        ),
        ego_status=batch.ego_status[row : row + 1],
        command=batch.command[row : row + 1],
        ego_history=batch.ego_history[row : row + 1],
        targets=DriveTargets(
            [t.boxes[row]],
            [t.labels[row]],
            [t.lanes[row]],
            t.trajectory[row : row + 1],
            t.trajectory_mask[row : row + 1],
        ),
    )


def logits_through_the_images(model, batch, driving: bool) -> torch.Tensor:
    """LM logits of the prompt up to its last image token (the queries come right after it)."""
    extra = {}
    if driving:
        extra = dict(camera=batch.camera, ego_status=batch.ego_status, command=batch.command)
        extra["ego_history"] = batch.ego_history
    with torch.no_grad():
        logits = model(
            input_ids=batch.input_ids, pixel_values=batch.pixel_values, attention_mask=batch.attention_mask, **extra
        ).logits
    last_image = int((batch.input_ids[0] == IMAGE_TOKEN_ID).nonzero().max())
    return logits[:, : last_image + 1]


def graph_inputs(batch) -> dict:
    """The exported graph's image and prompt inputs of ``batch`` by name (``ego_history`` when it has one)."""
    history = {} if batch.ego_history is None else {"ego_history": batch.ego_history}
    return history | {
        "pixel_values": batch.pixel_values,
        "intrinsics": batch.camera.intrinsics,
        "cam2ego": batch.camera.cam2ego,
        "ego_status": batch.ego_status,
        "command": batch.command,
        "input_ids": batch.input_ids,
        "attention_mask": batch.attention_mask,
    }
