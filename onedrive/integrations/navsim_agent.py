"""A OneDrive agent for the official NAVSIM devkit (``navsim.agents.abstract_agent.AbstractAgent``).

The devkit is optional: importing this module works without it, and ``OneDriveAgent``
raises an ``ImportError`` with install steps when ``navsim`` is missing. The pure parts
(``build_drive_batch``: 8 camera images + ego status + command → ``DriveBatch``;
``trajectory_to_poses``: model trajectory → NAVSIM's (8, 3) poses) need no devkit.

Per token, ``compute_trajectory(agent_input)`` takes the current frame's 8 cameras
(``CAM_F0 … CAM_B0``, NAVSIM's order), their intrinsics and cam2ego = lidar2ego ·
sensor2lidar, the ego status ``[vx, vy, ax, ay, yaw_rate, speed]`` (yaw rate from the
last two history headings, as ``scenes.ego_status`` computes it from logs) and the
command (NAVSIM one-hot → 0 right / 1 left / 2 straight), runs
``model.predict(batch, tasks=("plan",))`` and returns ``Trajectory(poses (8, 3))``.
NAVSIM's ``AgentInput`` carries no lidar-to-ego transform: pass the one of your logs
(``lidar2ego`` of any OpenScene frame; the synthetic logs use a translation of
(1.5, 0, 1.9) m and no rotation) — identity when omitted.

Use it (steps in ``onedrive/data/navsim/README.md``): install the devkit
(``git clone https://github.com/autonomousvision/navsim && pip install -e navsim``), add
``navsim/planning/script/config/common/agent/onedrive_agent.yaml``::

    _target_: onedrive.integrations.navsim_agent.OneDriveAgent
    _convert_: 'all'
    checkpoint_path: /path/to/onedrive/checkpoint   # OneDriveForDriving.from_pretrained folder
    processor_path: null                            # default: the checkpoint folder
    lidar2ego: null                                 # 4 x 4 list, default identity
    device: cuda

and run ``python navsim/planning/script/run_pdm_score.py agent=onedrive_agent
train_test_split=navtest experiment_name=onedrive``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from onedrive.data.collate import collate_drive_batch
from onedrive.data.dataset import PLANNING_QUESTION
from onedrive.data.navsim.logs import CAMERA_NAMES
from onedrive.data.navsim.scenes import NAVSIM_TO_COMMAND, NUM_POSES
from onedrive.model.processing_onedrive import OneDriveProcessor
from onedrive.schema import EGO_STATUS_FIELDS, DriveBatch

INSTALL_HINT = (
    "the official NAVSIM devkit is not installed: `git clone https://github.com/autonomousvision/navsim && "
    "pip install -e navsim` (it needs nuplan-devkit, see navsim/docs/install.md)"
)

try:  # the devkit is optional
    from navsim.agents.abstract_agent import AbstractAgent
    from navsim.common.dataclasses import AgentInput, SensorConfig, Trajectory
except ImportError as _error:  # noqa: N816
    AbstractAgent = None
    _IMPORT_ERROR = _error


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


def trajectory_to_poses(trajectory: torch.Tensor, token: str = "") -> np.ndarray:
    """NAVSIM poses (8, 3) float32 from a predicted trajectory (1, 8, 3) or (8, 3)."""
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
    return poses.astype(np.float32)


def agent_input_arrays(
    agent_input, lidar2ego: np.ndarray
) -> tuple[list[Image.Image], np.ndarray, np.ndarray, np.ndarray, int]:
    """Images, intrinsics (8, 3, 3), cam2ego (8, 4, 4), ego status (6,), command of a NAVSIM ``AgentInput``."""
    cameras = agent_input.cameras[-1]
    images, intrinsics, cam2ego = [], [], []
    for name in CAMERA_NAMES:
        camera = getattr(cameras, name.lower())
        if camera.image is None:
            raise ValueError(f"camera {name} has no image; the agent's sensor config must load all 8 cameras")
        sensor2lidar = np.eye(4)
        sensor2lidar[:3, :3] = camera.sensor2lidar_rotation
        sensor2lidar[:3, 3] = camera.sensor2lidar_translation
        images.append(Image.fromarray(np.asarray(camera.image, dtype=np.uint8)))
        intrinsics.append(np.asarray(camera.intrinsics, dtype=np.float64))
        cam2ego.append(lidar2ego @ sensor2lidar)
    current, previous = agent_input.ego_statuses[-1], agent_input.ego_statuses[-2]
    turn = float(current.ego_pose[2] - previous.ego_pose[2])
    velocity, acceleration = np.asarray(current.ego_velocity), np.asarray(current.ego_acceleration)
    status = np.array([*velocity, *acceleration, np.arctan2(np.sin(turn), np.cos(turn)) / 0.5, np.hypot(*velocity)])
    command = NAVSIM_TO_COMMAND[int(np.argmax(np.asarray(current.driving_command)))]
    return images, np.stack(intrinsics), np.stack(cam2ego), status, command


if AbstractAgent is not None:

    class OneDriveAgent(AbstractAgent):
        """NAVSIM agent running a OneDrive checkpoint (module docstring)."""

        def __init__(
            self,
            checkpoint_path: str,
            processor_path: str | None = None,
            lidar2ego: Sequence[Sequence[float]] | None = None,
            device: str = "cpu",
        ):
            super().__init__(requires_scene=False)
            self._checkpoint_path = checkpoint_path
            self._processor_path = processor_path or checkpoint_path
            self._lidar2ego = np.eye(4) if lidar2ego is None else np.asarray(lidar2ego, dtype=np.float64)
            if self._lidar2ego.shape != (4, 4):
                raise ValueError(f"lidar2ego must be a 4 x 4 matrix, got shape {self._lidar2ego.shape}")
            self._device = device
            self.model, self.processor = None, None

        def name(self) -> str:
            return self.__class__.__name__

        def get_sensor_config(self) -> SensorConfig:
            config = SensorConfig.build_no_sensors()
            for name in CAMERA_NAMES:
                setattr(config, name.lower(), [3])  # the current frame (history index 3) only
            return config

        def initialize(self) -> None:
            from onedrive.model.modeling_onedrive import OneDriveForDriving

            self.model = OneDriveForDriving.from_pretrained(self._checkpoint_path).to(self._device).eval()
            self.processor = OneDriveProcessor.from_pretrained(self._processor_path)

        def compute_trajectory(self, agent_input: AgentInput) -> Trajectory:
            if self.model is None:
                self.initialize()
            images, intrinsics, cam2ego, status, command = agent_input_arrays(agent_input, self._lidar2ego)
            batch = build_drive_batch(self.processor, images, intrinsics, cam2ego, status, command)
            prediction = self.model.predict(batch.to(self._device), tasks=("plan",))
            return Trajectory(trajectory_to_poses(prediction.trajectory))

else:

    def __getattr__(name: str):
        if name == "OneDriveAgent":
            raise ImportError(f"onedrive.integrations.navsim_agent.OneDriveAgent: {INSTALL_HINT}") from _IMPORT_ERROR
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
