"""Ego status ``[vx, vy, ax, ay, yaw_rate, speed]`` (``onedrive.schema.EGO_STATUS_FIELDS``)
of every key frame of a scene, in each key frame's own ego frame.

Two sources:

* ``ego_status_from_poses``: finite differences of the key-frame ego poses (2 Hz).
  ``numpy.gradient`` over the real timestamps: second-order central differences
  inside the scene, first-order one-sided differences at its first and last key frame
  (so the ends use the same rule for every scene). Velocity and acceleration are
  differentiated in the global frame, then rotated into each key frame's ego frame;
  the yaw rate differentiates the unwrapped heading. A scene of one key frame has
  nothing to difference: its status is all zeros.
* ``CanBusEgoStatus``: the CAN bus expansion's ``pose`` messages (50 Hz; ``vel``,
  ``accel``, ``rotation_rate`` already in the ego frame, devkit
  ``nuscenes/can_bus/README.md``), read through the devkit's ``NuScenesCanBus``. For
  each key frame, the last message at or before its timestamp (BEVFormer / VAD do the
  same). A scene without CAN data (the devkit's ``can_blacklist``, a missing file, a
  scene name the CAN files cannot have) or a key frame more than ``max_gap_s`` from
  any message returns ``None`` for that key frame, and the converter falls back to the
  pose source, recording ``ego_status_source`` per key frame.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from onedrive.data.nuscenes.geometry import yaw_of_rotation
from onedrive.extras import extra_module

_CAN_SCENE_NAME = re.compile(r"^scene-\d{4}$")


def ego_status_from_poses(timestamps_us: Sequence[int], ego2globals: Sequence[np.ndarray]) -> np.ndarray:
    """(S, 6) ego status from the scene's S key-frame poses (each (4, 4)), times in µs."""
    count = len(timestamps_us)
    if count != len(ego2globals):
        raise ValueError(f"got {count} timestamps but {len(ego2globals)} poses")
    status = np.zeros((count, 6))
    if count < 2:
        return status
    seconds = np.asarray(timestamps_us, dtype=np.float64) * 1e-6
    if np.any(np.diff(seconds) <= 0):
        raise ValueError(f"key-frame timestamps must increase, got {list(timestamps_us)}")
    poses = np.stack(ego2globals)  # (S, 4, 4)
    velocity = np.gradient(poses[:, :3, 3], seconds, axis=0)  # (S, 3) global
    acceleration = np.gradient(velocity, seconds, axis=0)  # (S, 3) global
    yaws = np.unwrap([yaw_of_rotation(pose[:3, :3]) for pose in poses])
    yaw_rate = np.gradient(yaws, seconds)  # (S,)
    to_ego = poses[:, :3, :3].transpose(0, 2, 1)  # (S, 3, 3) global → ego rotation
    velocity_ego = np.einsum("sij,sj->si", to_ego, velocity)
    acceleration_ego = np.einsum("sij,sj->si", to_ego, acceleration)
    status[:, 0:2] = velocity_ego[:, :2]
    status[:, 2:4] = acceleration_ego[:, :2]
    status[:, 4] = yaw_rate
    status[:, 5] = np.hypot(velocity_ego[:, 0], velocity_ego[:, 1])
    return status


class CanBusEgoStatus:
    """Ego status from the nuScenes CAN bus expansion.

    ``can_bus_root`` is the folder that holds ``can_bus/`` (the devkit's convention,
    e.g. ``data`` for ``data/can_bus/scene-0001_pose.json``). A missing ``can_bus``
    folder raises ``FileNotFoundError``; a scene without data is not an error.
    """

    def __init__(self, can_bus_root: str | os.PathLike, max_gap_s: float = 0.5):
        NuScenesCanBus = extra_module("nuscenes.can_bus.can_bus_api", "nuscenes").NuScenesCanBus

        folder = os.path.join(os.fspath(can_bus_root), "can_bus")
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"--can-bus {can_bus_root}: expected the CAN bus expansion folder {folder} "
                f"(holding scene-XXXX_pose.json files), which does not exist"
            )
        self.can_bus = NuScenesCanBus(dataroot=os.fspath(can_bus_root))
        self.max_gap_us = max_gap_s * 1e6

    def scene_status(self, scene_name: str, timestamps_us: Sequence[int]) -> list[np.ndarray | None]:
        """Per key frame: (6,) status, or None when the CAN bus has no message close to it."""
        messages = self._pose_messages(scene_name)
        if not messages:
            return [None] * len(timestamps_us)
        times = np.array([message["utime"] for message in messages], dtype=np.int64)
        result: list[np.ndarray | None] = []
        for timestamp in timestamps_us:
            index = max(int(np.searchsorted(times, timestamp, side="right")) - 1, 0)
            if abs(int(times[index]) - int(timestamp)) > self.max_gap_us:
                result.append(None)
                continue
            message = messages[index]
            velocity, acceleration, rotation_rate = message["vel"], message["accel"], message["rotation_rate"]
            result.append(
                np.array(
                    [
                        velocity[0],
                        velocity[1],
                        acceleration[0],
                        acceleration[1],
                        rotation_rate[2],
                        float(np.hypot(velocity[0], velocity[1])),
                    ],
                    dtype=np.float64,
                )
            )
        return result

    def _pose_messages(self, scene_name: str) -> list[dict]:
        if not _CAN_SCENE_NAME.match(scene_name) or int(scene_name[-4:]) in self.can_bus.can_blacklist:
            return []
        path = os.path.join(self.can_bus.can_dir, f"{scene_name}_pose.json")
        if not os.path.isfile(path):
            return []
        messages = self.can_bus.get_messages(scene_name, "pose", print_warnings=False)
        for message in messages:
            missing = {"utime", "vel", "accel", "rotation_rate"} - set(message)
            if missing:
                raise ValueError(f"{path}: a pose message lacks {sorted(missing)}: {message}")
        return sorted(messages, key=lambda message: message["utime"])
