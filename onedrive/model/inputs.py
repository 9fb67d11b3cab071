"""Checks on what reaches the model; every error says what was expected and what arrived."""

from __future__ import annotations

import torch

from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.position_3d import check_image_hw
from onedrive.schema import EGO_HISTORY_FIELDS, EGO_HISTORY_FRAMES, CameraGeometry


def validate_inputs(
    config: OneDriveConfig,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    pixel_values: torch.Tensor | None,
    camera: CameraGeometry | None,
    ego_status: torch.Tensor | None,
    command: torch.Tensor | None,
    ego_history: torch.Tensor | None = None,
) -> bool:
    """Every check on a batch, made before the model's traceable core runs → whether driving inputs are given.

    The core (``OneDriveForDriving.token_layout`` / ``prefill``) makes no decision on tensor
    values and assumes what is checked here, e.g. exactly ``num_cameras × image_tokens_per_camera``
    image tokens per sample (the query slots go after the last one).
    """
    if tuple(attention_mask.shape) != tuple(input_ids.shape):
        raise ValueError(
            f"attention_mask must have the shape of input_ids {tuple(input_ids.shape)}, got {tuple(attention_mask.shape)}"
        )
    driving = has_driving_inputs(camera, ego_status, command)
    if driving:
        check_driving_inputs(config, input_ids.shape[0], camera, ego_status, command)
        check_ego_history(config, input_ids.shape[0], ego_history)
    check_image_tokens(config, input_ids, pixel_values, driving)
    return driving


def has_driving_inputs(camera: CameraGeometry | None, ego_status, command) -> bool:
    """All three driving inputs → True; none → False (the plain VLM); some → ValueError."""
    given = {"camera": camera is not None, "ego_status": ego_status is not None, "command": command is not None}
    if any(given.values()) and not all(given.values()):
        missing = [name for name, present in given.items() if not present]
        raise ValueError(
            f"driving inputs come together (camera, ego_status, command); got {[n for n, p in given.items() if p]} "
            f"but not {missing}"
        )
    return all(given.values())


def check_driving_inputs(
    config: OneDriveConfig, batch_size: int, camera: CameraGeometry, ego_status: torch.Tensor, command: torch.Tensor
) -> None:
    task = config.task_config
    cams = task.num_cameras
    check_image_hw(config, camera.image_hw)
    if camera.intrinsics is None or camera.cam2ego is None:
        raise ValueError("camera geometry needs both intrinsics (B, N_cam, 3, 3) and cam2ego (B, N_cam, 4, 4)")
    expected = {"intrinsics": (batch_size, cams, 3, 3), "cam2ego": (batch_size, cams, 4, 4)}
    for name, shape in expected.items():
        got = tuple(getattr(camera, name).shape)
        if got != shape:
            raise ValueError(f"camera.{name} must have shape {shape} (B, N_cam={cams}, ...), got {got}")
        if not torch.isfinite(getattr(camera, name)).all():
            raise ValueError(f"camera.{name} holds NaN or inf")
    if tuple(ego_status.shape) != (batch_size, task.ego_status_dim):
        raise ValueError(
            f"ego_status must have shape {(batch_size, task.ego_status_dim)}, got {tuple(ego_status.shape)}"
        )
    if not torch.isfinite(ego_status).all():
        bad = torch.nonzero(~torch.isfinite(ego_status).all(dim=1)).flatten().tolist()
        raise ValueError(f"ego_status holds NaN or inf in samples {bad}")
    if tuple(command.shape) != (batch_size,) or command.min() < 0 or command.max() >= task.num_commands:
        raise ValueError(
            f"command must be (B={batch_size},) integers in [0, {task.num_commands - 1}], "
            f"got shape {tuple(command.shape)} values {command.tolist()}"
        )


def check_ego_history(config: OneDriveConfig, batch_size: int, ego_history: torch.Tensor | None) -> None:
    """The planning queries' ego token reads ``ego_history`` (B, 2, 10) with every batch of driving inputs."""
    shape = (batch_size, EGO_HISTORY_FRAMES, len(EGO_HISTORY_FIELDS))
    if ego_history is None:
        raise InputError(
            f"the planning queries read ego_history {shape} (the two previous key frames' "
            f"{', '.join(EGO_HISTORY_FIELDS)}); the batch has none: info files written before it lack the "
            "'ego_history' key, re-run tools/create_data.py"
        )
    if tuple(ego_history.shape) != shape:
        raise InputError(f"ego_history must have shape {shape}, got {tuple(ego_history.shape)}")
    if not torch.isfinite(ego_history).all():
        bad = torch.nonzero(~torch.isfinite(ego_history).flatten(1).all(dim=1)).flatten().tolist()
        raise InputError(f"ego_history holds NaN or inf in samples {bad}")


def check_image_tokens(
    config: OneDriveConfig, input_ids: torch.Tensor, pixel_values: torch.Tensor | None, driving: bool
) -> None:
    """The image-context tokens must match the image features the tiles will produce."""
    per_sample = (input_ids == config.image_token_id).sum(dim=1)  # (B,)
    tiles = 0 if pixel_values is None else pixel_values.shape[0]
    if int(per_sample.sum()) != tiles * config.tokens_per_tile:
        raise ValueError(
            f"image tokens do not match image features: input_ids hold {int(per_sample.sum())} image tokens "
            f"(id {config.image_token_id}), pixel_values give {tiles} tiles x {config.tokens_per_tile} = "
            f"{tiles * config.tokens_per_tile} features"
        )
    if pixel_values is not None:
        check_finite_pixels(pixel_values, per_sample // config.tokens_per_tile)
    if driving:
        expected = config.task_config.num_cameras * config.image_tokens_per_camera
        wrong = torch.nonzero(per_sample != expected).flatten().tolist()
        if wrong:
            raise ValueError(
                f"each sample needs {expected} image tokens ({config.task_config.num_cameras} cameras x "
                f"{config.image_tokens_per_camera}); samples {wrong} have {per_sample[wrong].tolist()}"
            )


def check_finite_pixels(pixel_values: torch.Tensor, tiles_per_sample: torch.Tensor) -> None:
    """NaN or inf pixels are refused here, where they enter (they would come out as NaN boxes and trajectories).

    pixel_values (T, 3, S, S) tiles of all samples in order; tiles_per_sample (B,).
    """
    bad_tiles = ~torch.isfinite(pixel_values.flatten(1)).all(dim=1)  # (T,)
    if bad_tiles.any():
        sample_of_tile = torch.repeat_interleave(torch.arange(len(tiles_per_sample)), tiles_per_sample.cpu())  # (T,)
        where = f"tiles {torch.nonzero(bad_tiles).flatten().tolist()[:5]}"
        if len(sample_of_tile) == len(bad_tiles):
            where = f"samples {sorted(set(sample_of_tile[bad_tiles.cpu()].tolist()))} of the batch"
        raise InputError(
            f"pixel_values hold NaN or inf in {int(bad_tiles.sum())} of {pixel_values.shape[0]} tiles, {where}; "
            "images must be finite (the processor's normalised tiles always are)"
        )
