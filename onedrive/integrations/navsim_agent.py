"""A OneDrive agent for the official NAVSIM devkit, v1.1 and v2.x (``navsim.agents.abstract_agent.AbstractAgent``).

The devkit is optional: importing this module works without it, and ``OneDriveAgent``
raises an ``ImportError`` with install steps when ``navsim`` is missing. The conversions
(``navsim_inputs.py``: ``AgentInput`` → ``DriveBatch``, trajectory → devkit poses) need no devkit.

Per token, ``compute_trajectory(agent_input)`` builds the batch from the current frame's 8
cameras (``CAM_F0 … CAM_B0``) with their intrinsics and cam2ego = lidar2ego · sensor2lidar,
the ego status ``[vx, vy, ax, ay, yaw_rate, speed]`` and the command, runs
``model.predict(batch, tasks=("plan",))`` and returns a ``Trajectory`` at the agent's sampling.

* Devkit versions: v1.1 (``AbstractAgent(requires_scene)``) and v2.x
  (``AbstractAgent(trajectory_sampling, requires_scene)``); the agent passes what the installed
  version's constructor takes. ``trajectory_sampling`` (default 8 poses every 0.5 s, the model's
  own) may ask for fewer poses at a multiple of 0.5 s; a sampling the model cannot produce is
  refused when the agent is built.
* ``AgentInput`` has no lidar-to-ego transform: give ``lidar2ego_logs``, the NAVSIM log file or
  folder being scored (every frame's ``lidar2ego``, which must agree), or ``lidar2ego``, a 4 × 4
  matrix; one of them is required (no identity default).

Setup and the Hydra config: ``onedrive/data/navsim/README.md`` §3.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from onedrive.data.navsim.logs import CAMERA_NAMES
from onedrive.data.navsim.scenes import NUM_HISTORY, NUM_POSES
from onedrive.errors import InputError
from onedrive.integrations.navsim_inputs import (
    MODEL_INTERVAL,
    agent_input_batch,
    lidar2ego_from_logs,
    sampled_steps,
    trajectory_to_poses,
)
from onedrive.model.processing_onedrive import OneDriveProcessor

INSTALL_HINT = (
    "the official NAVSIM devkit (v1.1 or v2.x) is not installed: `git clone https://github.com/autonomousvision/navsim "
    "&& pip install -e navsim` (it needs nuplan-devkit, see navsim/docs/install.md)"
)

try:  # the devkit is optional
    from navsim.agents.abstract_agent import AbstractAgent
    from navsim.common.dataclasses import AgentInput, SensorConfig, Trajectory
    from nuplan.planning.simulation.trajectory.trajectory_sampling import TrajectorySampling
except ImportError as _error:  # noqa: N816
    AbstractAgent = None
    _IMPORT_ERROR = _error


def resolve_lidar2ego(lidar2ego: Sequence[Sequence[float]] | None, lidar2ego_logs: str | Path | None) -> np.ndarray:
    """(4, 4) lidar-to-ego transform from exactly one of a matrix or the NAVSIM logs being scored."""
    if (lidar2ego is None) == (lidar2ego_logs is None):
        raise InputError(
            "OneDriveAgent needs exactly one of lidar2ego_logs (the NAVSIM log file or folder being scored) or "
            f"lidar2ego (4 x 4); got lidar2ego={lidar2ego!r}, lidar2ego_logs={lidar2ego_logs!r}"
        )
    if lidar2ego_logs is not None:
        return lidar2ego_from_logs(lidar2ego_logs)
    matrix = np.asarray(lidar2ego, dtype=np.float64)
    if matrix.shape != (4, 4) or not np.isfinite(matrix).all():
        raise InputError(f"lidar2ego must be a finite 4 x 4 matrix, got shape {matrix.shape}")
    return matrix


if AbstractAgent is not None:
    _TAKES_SAMPLING = "trajectory_sampling" in inspect.signature(AbstractAgent.__init__).parameters  # v2.x

    class OneDriveAgent(AbstractAgent):
        """NAVSIM agent running a OneDrive checkpoint (module docstring)."""

        def __init__(
            self,
            checkpoint_path: str,
            lidar2ego_logs: str | None = None,
            lidar2ego: Sequence[Sequence[float]] | None = None,
            trajectory_sampling: TrajectorySampling | None = None,
            processor_path: str | None = None,
            device: str = "cpu",
        ):
            sampling = trajectory_sampling or TrajectorySampling(
                time_horizon=NUM_POSES * MODEL_INTERVAL, interval_length=MODEL_INTERVAL
            )
            sampled_steps(sampling.num_poses, sampling.interval_length)  # refuses what the model cannot produce
            if _TAKES_SAMPLING:
                super().__init__(trajectory_sampling=sampling, requires_scene=False)
            else:
                super().__init__(requires_scene=False)
            self._sampling = sampling
            self._lidar2ego = resolve_lidar2ego(lidar2ego, lidar2ego_logs)
            self._checkpoint_path = checkpoint_path
            self._processor_path = processor_path or checkpoint_path
            self._device = device
            self.model, self.processor = None, None

        def name(self) -> str:
            return self.__class__.__name__

        def get_sensor_config(self) -> SensorConfig:
            config = SensorConfig.build_no_sensors()
            for name in CAMERA_NAMES:
                setattr(config, name.lower(), [NUM_HISTORY - 1])  # the current frame only
            return config

        def initialize(self) -> None:
            from onedrive.model.modeling_onedrive import OneDriveForDriving

            self.model = OneDriveForDriving.from_pretrained(self._checkpoint_path).to(self._device).eval()
            self.processor = OneDriveProcessor.from_pretrained(self._processor_path)

        def compute_trajectory(self, agent_input: AgentInput) -> Trajectory:
            if self.model is None:
                self.initialize()
            batch = agent_input_batch(self.processor, agent_input, self._lidar2ego)
            prediction = self.model.predict(batch.to(self._device), tasks=("plan",))
            poses = trajectory_to_poses(
                prediction.trajectory,
                num_poses=self._sampling.num_poses,
                interval_length=self._sampling.interval_length,
            )
            return Trajectory(poses, self._sampling)

else:

    def __getattr__(name: str):
        if name == "OneDriveAgent":
            raise ImportError(f"onedrive.integrations.navsim_agent.OneDriveAgent: {INSTALL_HINT}") from _IMPORT_ERROR
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
