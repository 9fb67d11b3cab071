"""The NAVSIM agent's conversions that need no devkit: devkit inputs → ``DriveBatch``, trajectory → devkit poses.

They read the devkit's containers by field name only (NAVSIM v1.1 and v2.x spell them alike):

* ``AgentInput``: ``ego_statuses`` (history, the last one current) and ``cameras`` (history, the
  last one current); each ``Cameras`` has ``cam_f0 … cam_b0``, each ``Camera`` ``image``
  (H, W, 3) uint8, ``intrinsics`` (3, 3), ``sensor2lidar_rotation`` (3, 3) and
  ``sensor2lidar_translation`` (3,);
* ``EgoStatus``: ``ego_pose`` (x, y, heading) in the current rear-axle frame,
  ``ego_velocity`` (2,), ``ego_acceleration`` (2,), ``driving_command`` one-hot (4,);
* ``TrajectorySampling``: ``num_poses`` and ``interval_length`` (s).

``AgentInput`` carries the cameras' sensor-to-lidar extrinsics but no lidar-to-ego transform
(the devkit's ``NavSimScenario.get_lidar_to_ego_transform`` is not implemented), so the agent
takes it from the scene's logs (``lidar2ego_from_logs``: every frame's ``lidar2ego``, one
transform for all of them) and builds cam2ego = lidar2ego · sensor2lidar exactly as the info
converter does (``onedrive.data.navsim.logs.camera_calibration``). A camera without its
extrinsics or intrinsics is an error, never an identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from onedrive.data.collate import collate_drive_batch
from onedrive.data.dataset import PLANNING_QUESTION
from onedrive.data.ego_history import ego_history
from onedrive.data.navsim.logs import CAMERA_NAMES, lidar2ego, load_log
from onedrive.data.navsim.scenes import FRAME_DT, NAVSIM_TO_COMMAND, NUM_POSES, relative_poses
from onedrive.errors import InputError
from onedrive.model.processing_onedrive import OneDriveProcessor
from onedrive.schema import EGO_HISTORY_FRAMES, EGO_STATUS_FIELDS, DriveBatch

MODEL_INTERVAL = FRAME_DT  # s between the model's poses (it is trained on NAVSIM's 2 Hz future)


def lidar2ego_from_logs(path: str | Path) -> np.ndarray:
    """(4, 4) lidar-to-ego transform of a NAVSIM log file or log folder; every frame must agree."""
    path = Path(path)
    files = sorted(path.glob("*.pkl")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise InputError(f"lidar2ego: expected a NAVSIM log (.pkl) or a folder of them, got {path}")
    transform, first = None, ""
    for file in files:
        for frame in load_log(file):
            current = lidar2ego(frame)
            if transform is None:
                transform, first = current, f"{file.name} token {frame['token']!r}"
            elif not np.allclose(current, transform, atol=1e-6):
                raise InputError(
                    f"lidar2ego: the logs under {path} hold several lidar-to-ego transforms ({first}: "
                    f"{transform.tolist()}, {file.name} token {frame['token']!r}: {current.tolist()}); the agent "
                    f"needs one, since AgentInput does not say which log a token comes from"
                )
    return transform


def _camera_array(camera, field: str, shape: tuple[int, ...], name: str) -> np.ndarray:
    value = getattr(camera, field, None)
    if value is None:
        raise InputError(
            f"camera {name}: AgentInput has no {field}; the agent needs every camera's image, intrinsics and "
            f"sensor2lidar extrinsics (no identity is assumed)"
        )
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape or not np.isfinite(array).all():
        raise InputError(f"camera {name}: {field} must be {shape} finite numbers, got shape {array.shape}")
    return array


def agent_input_arrays(
    agent_input, lidar_to_ego: np.ndarray
) -> tuple[list[Image.Image], np.ndarray, np.ndarray, np.ndarray, int]:
    """Images, intrinsics (8, 3, 3), cam2ego (8, 4, 4), ego status (6,) and command of an ``AgentInput``."""
    lidar_to_ego = np.asarray(lidar_to_ego, dtype=np.float64)
    if lidar_to_ego.shape != (4, 4):
        raise InputError(f"lidar2ego must be a 4 x 4 matrix, got shape {lidar_to_ego.shape}")
    cameras = agent_input.cameras[-1]
    images, intrinsics, cam2ego = [], [], []
    for name in CAMERA_NAMES:
        camera = getattr(cameras, name.lower())
        if camera.image is None:
            raise InputError(f"camera {name} has no image; the agent's sensor config must load all 8 cameras")
        sensor2lidar = np.eye(4)
        sensor2lidar[:3, :3] = _camera_array(camera, "sensor2lidar_rotation", (3, 3), name)
        sensor2lidar[:3, 3] = _camera_array(camera, "sensor2lidar_translation", (3,), name)
        images.append(Image.fromarray(np.asarray(camera.image, dtype=np.uint8)))
        intrinsics.append(_camera_array(camera, "intrinsics", (3, 3), name))
        cam2ego.append(lidar_to_ego @ sensor2lidar)
    if len(agent_input.ego_statuses) < 2:
        raise InputError(f"AgentInput needs 2 ego statuses for the yaw rate, got {len(agent_input.ego_statuses)}")
    current = agent_input.ego_statuses[-1]
    status = _status_at(agent_input.ego_statuses, len(agent_input.ego_statuses) - 1)
    one_hot = np.asarray(current.driving_command)
    if one_hot.shape != (4,) or sorted(one_hot.tolist()) != [0, 0, 0, 1]:
        raise InputError(f"driving_command must be a one-hot of 4 (left, straight, right, unknown), got {one_hot}")
    command = NAVSIM_TO_COMMAND[int(np.argmax(one_hot))]
    return images, np.stack(intrinsics), np.stack(cam2ego), status, command


def _status_at(statuses: Sequence, index: int) -> np.ndarray:
    """(6,) ego status of history frame ``index`` (>= 1): its velocity and acceleration, the yaw rate from the
    frame before it (as the info converter's ``scenes.ego_status``)."""
    frame, previous = statuses[index], statuses[index - 1]
    turn = float(frame.ego_pose[2]) - float(previous.ego_pose[2])
    velocity = np.asarray(frame.ego_velocity, dtype=np.float64)  # (2,)
    acceleration = np.asarray(frame.ego_acceleration, dtype=np.float64)  # (2,)
    yaw_rate = np.arctan2(np.sin(turn), np.cos(turn)) / FRAME_DT
    return np.array([*velocity, *acceleration, yaw_rate, np.hypot(*velocity)])


def agent_ego_history(agent_input) -> np.ndarray:
    """(2, 10) ``ego_history`` of an ``AgentInput`` (``onedrive.data.ego_history``): the two previous history
    frames' statuses and poses in the current frame, as the info converter writes them; a frame whose status
    the history cannot give (no frame before it) is zeros with ``valid`` 0."""
    statuses = agent_input.ego_statuses
    current = np.asarray(statuses[-1].ego_pose, dtype=np.float64)  # (3,)
    frames = [len(statuses) - 1 - step for step in range(1, EGO_HISTORY_FRAMES + 1)]  # the previous one first
    frames = [frame for frame in frames if frame >= 1]
    poses = [np.asarray(statuses[frame].ego_pose, dtype=np.float64) for frame in frames]
    relative = relative_poses(current, np.stack(poses)) if poses else np.zeros((0, 3))
    history = ego_history([_status_at(statuses, frame) for frame in frames], relative)
    if not np.isfinite(history).all():
        raise InputError(f"AgentInput's ego statuses hold NaN or inf: ego history {history.tolist()}")
    return history


def build_drive_batch(
    processor: OneDriveProcessor,
    images: Sequence[Image.Image],
    intrinsics: np.ndarray,
    cam2ego: np.ndarray,
    ego_status: np.ndarray,
    command: int,
    token: str = "",
    question: str = PLANNING_QUESTION,
) -> DriveBatch:
    """One-sample generation batch from the 8 cameras (NAVSIM order), ego status (6,) and command.

    ``intrinsics`` (8, 3, 3) and ``cam2ego`` (8, 4, 4) describe the given images.
    """
    status = np.asarray(ego_status, dtype=np.float64)
    if status.shape != (len(EGO_STATUS_FIELDS),) or not np.isfinite(status).all():
        raise ValueError(
            f"token {token!r}: ego_status must be {len(EGO_STATUS_FIELDS)} finite numbers "
            f"{EGO_STATUS_FIELDS}, got {ego_status!r}"
        )
    if command not in (0, 1, 2):
        raise ValueError(f"token {token!r}: command must be 0 (right), 1 (left) or 2 (straight), got {command!r}")
    sample = processor(
        list(images),
        intrinsics,
        cam2ego,
        question,
        None,
        sample_token=token,
        camera_names=list(CAMERA_NAMES)[: len(images)],
    )
    sample.ego_status = torch.from_numpy(status).float()  # (6,)
    sample.command = int(command)
    return collate_drive_batch([sample], pad_token_id=processor.tokenizer.pad_token_id)


def agent_input_batch(processor: OneDriveProcessor, agent_input, lidar_to_ego: np.ndarray) -> DriveBatch:
    """The one-sample ``DriveBatch`` of a NAVSIM ``AgentInput`` (module docstring), with its ``ego_history``."""
    batch = build_drive_batch(processor, *agent_input_arrays(agent_input, lidar_to_ego))
    batch.ego_history = torch.from_numpy(agent_ego_history(agent_input)).float()[None]  # (1, 2, 10)
    return batch


def sampled_steps(num_poses: int, interval_length: float, model_poses: int = NUM_POSES) -> np.ndarray:
    """Indices into the model's poses (every ``MODEL_INTERVAL`` s) at the times ``interval_length · (1 … num_poses)``.

    A sampling whose times are not among the model's (a finer interval, a longer horizon) is refused.
    """
    times = interval_length * np.arange(1, num_poses + 1)
    steps = np.rint(times / MODEL_INTERVAL).astype(int) - 1
    exact = np.allclose((steps + 1) * MODEL_INTERVAL, times, atol=1e-6)
    if num_poses < 1 or not exact or steps.min() < 0 or steps.max() >= model_poses:
        raise InputError(
            f"trajectory_sampling: {num_poses} poses every {interval_length} s cannot be produced; the model "
            f"predicts {model_poses} poses every {MODEL_INTERVAL} s ({model_poses * MODEL_INTERVAL} s), so a sampling "
            f"must use an interval that is a multiple of {MODEL_INTERVAL} s within that horizon "
            f"(NAVSIM's default: 8 poses every 0.5 s)"
        )
    return steps


def trajectory_to_poses(
    trajectory: torch.Tensor, token: str = "", num_poses: int = NUM_POSES, interval_length: float = MODEL_INTERVAL
) -> np.ndarray:
    """Devkit poses (num_poses, 3) float32 at the requested sampling from a predicted trajectory (1, 8, 3) or (8, 3)."""
    poses = trajectory.detach().float().cpu().numpy()
    if poses.ndim == 3 and poses.shape[0] == 1:
        poses = poses[0]
    if poses.shape != (NUM_POSES, 3):
        raise ValueError(
            f"token {token!r}: expected a trajectory of {NUM_POSES} (x, y, heading) poses, got shape "
            f"{tuple(trajectory.shape)}; is the model configured for NAVSIM (plan_steps 8, plan_dims 3)?"
        )
    if not np.isfinite(poses).all():
        raise ValueError(f"token {token!r}: predicted trajectory holds NaN or inf: {poses.tolist()}")
    return poses[sampled_steps(num_poses, interval_length)].astype(np.float32)
