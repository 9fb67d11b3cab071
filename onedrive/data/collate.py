"""``collate_drive_batch``: a list of ``DriveSample`` → one ``DriveBatch``.

Text is right-padded (``input_ids`` with ``pad_token_id``, ``attention_mask`` 0,
``labels`` -100); pixel values are concatenated sample-major (InternVL's flat layout);
geometry, ego status and commands are stacked; per-sample targets stay lists (their
box / lane counts differ). Optional parts (labels, ego status, command, targets, the stream
fields) must be present in every sample or in none.

    python -c "from onedrive.data import collate_drive_batch; help(collate_drive_batch)"
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from onedrive.schema import IGNORE_INDEX, CameraGeometry, DriveBatch, DriveSample, DriveTargets


def collate_drive_batch(samples: Sequence[DriveSample], pad_token_id: int) -> DriveBatch:
    """Stack samples into a ``DriveBatch`` (shapes in ``onedrive.schema``)."""
    if not samples:
        raise ValueError("collate_drive_batch needs at least one sample, got none")
    tokens = [sample.sample_token for sample in samples]
    hw = {sample.image_hw for sample in samples}
    if len(hw) != 1:
        raise ValueError(f"samples {tokens} have different processed image sizes {sorted(hw)}")
    cameras = {sample.intrinsics.shape[0] for sample in samples}
    if len(cameras) != 1:
        raise ValueError(f"samples {tokens} have different camera counts {sorted(cameras)}")

    length = max(len(sample.input_ids) for sample in samples)
    input_ids = torch.full((len(samples), length), pad_token_id, dtype=torch.long)  # (B, L)
    attention_mask = torch.zeros((len(samples), length), dtype=torch.long)  # (B, L)
    for row, sample in enumerate(samples):
        input_ids[row, : len(sample.input_ids)] = sample.input_ids
        attention_mask[row, : len(sample.attention_mask)] = sample.attention_mask

    labels = None
    if _all_or_none(samples, "labels", tokens):
        labels = torch.full((len(samples), length), IGNORE_INDEX, dtype=torch.long)  # (B, L)
        for row, sample in enumerate(samples):
            labels[row, : len(sample.labels)] = sample.labels

    targets = None
    if _all_or_none(samples, "targets", tokens):
        per_sample = [sample.targets for sample in samples]
        targets = DriveTargets(
            boxes=[target.boxes for target in per_sample],  # B × (N_i, 9)
            labels=[target.labels for target in per_sample],  # B × (N_i,)
            lanes=[target.lanes for target in per_sample],  # B × (M_i, P, 3)
            trajectory=torch.stack([target.trajectory for target in per_sample]),  # (B, T, D)
            trajectory_mask=torch.stack([target.trajectory_mask for target in per_sample]),  # (B, T)
        )

    return DriveBatch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        pixel_values=torch.cat([sample.pixel_values for sample in samples]),  # (B * N_cam * T, 3, S, S)
        labels=labels,
        camera=CameraGeometry(
            intrinsics=torch.stack([sample.intrinsics for sample in samples]),  # (B, N_cam, 3, 3)
            cam2ego=torch.stack([sample.cam2ego for sample in samples]),  # (B, N_cam, 4, 4)
            image_hw=hw.pop(),
        ),
        ego_status=(
            torch.stack([sample.ego_status for sample in samples])  # (B, 6)
            if _all_or_none(samples, "ego_status", tokens)
            else None
        ),
        command=(
            torch.tensor([sample.command for sample in samples], dtype=torch.long)  # (B,)
            if _all_or_none(samples, "command", tokens)
            else None
        ),
        targets=targets,
        **_stream_fields(samples, tokens),
        ego_history=(
            torch.stack([sample.ego_history for sample in samples])  # (B, 2, 10)
            if _all_or_none(samples, "ego_history", tokens)
            else None
        ),
        sample_tokens=tokens,
        sequence_start=(
            torch.tensor([sample.sequence_start for sample in samples], dtype=torch.bool)  # (B,)
            if _all_or_none(samples, "sequence_start", tokens)
            else None
        ),
    )


def _stream_fields(samples: Sequence[DriveSample], tokens: list[str]) -> dict:
    """scene_tokens, timestamps (B,) float64 and ego_to_global (B, 4, 4) float64, when every sample has them."""
    present = [_all_or_none(samples, name, tokens) for name in ("scene_token", "timestamp", "ego_to_global")]
    if not all(present):
        if any(present):
            raise ValueError(f"samples {tokens} have only some of scene_token, timestamp and ego_to_global")
        return {}
    return {
        "scene_tokens": [sample.scene_token for sample in samples],
        "timestamps": torch.tensor([sample.timestamp for sample in samples], dtype=torch.float64),  # (B,)
        "ego_to_global": torch.stack([sample.ego_to_global.double() for sample in samples]),  # (B, 4, 4)
    }


def _all_or_none(samples: Sequence[DriveSample], name: str, tokens: list[str]) -> bool:
    present = [getattr(sample, name) is not None for sample in samples]
    if any(present) and not all(present):
        missing = [token for token, here in zip(tokens, present, strict=True) if not here]
        raise ValueError(
            f"{name} is set in some samples but missing in {missing}; do not mix training and generation samples"
        )
    return all(present)
