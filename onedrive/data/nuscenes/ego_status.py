"""Ego status ``[vx, vy, ax, ay, yaw_rate, speed]`` (``onedrive.schema.EGO_STATUS_FIELDS``)
of every key frame of a scene, in each key frame's own ego frame, from the present and
the past only (never a later pose or message: the planning targets are the later poses).

Two sources:

* ``CanBusEgoStatus``: the CAN bus expansion's ``pose`` messages (``vel``, ``accel``,
  ``rotation_rate`` already in the ego frame, devkit ``nuscenes/can_bus/README.md``),
  read through the devkit's ``NuScenesCanBus``. For each key frame, the last message at
  or before its timestamp, if it is at most ``max_gap_s`` older. Otherwise the key frame
  gets ``None`` and a fallback reason (``CAN_FALLBACK_REASONS``) and the converter uses
  the pose source.
* ``ego_status_from_poses``: backward differences of the key-frame ego poses (2 Hz, VAD's
  convention): velocity ``(p_k − p_{k−1}) / Δt``, acceleration the difference of the last
  two such velocities, yaw rate ``(yaw_k − yaw_{k−1}) / Δt`` (unwrapped), all rotated into
  key frame k's ego frame. A scene's first key frame has no past pose: all zeros (source
  ``no_past``); its second has a velocity and yaw rate but no acceleration (zeros, source
  ``poses_no_accel``); every later key frame is ``poses``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from onedrive.data.nuscenes.geometry import yaw_of_rotation
from onedrive.errors import InputError
from onedrive.extras import extra_module

_CAN_SCENE_NAME = re.compile(r"^scene-\d{4}$")
POSE_SOURCES = ("no_past", "poses_no_accel", "poses")  # by number of past key frames: 0, 1, 2 or more
CAN_FALLBACK_REASONS = {
    "not_requested": "no --can-bus folder given",
    "bad_scene_name": "the scene name is not scene-XXXX, which CAN bus files must have",
    "blacklisted": "the devkit lists the scene as having no CAN bus data (can_blacklist)",
    "missing_file": "can_bus/<scene>_pose.json does not exist",
    "no_message_before": "no pose message at or before the key frame",
    "stale_message": "the last pose message before the key frame is more than max_gap_s older",
}


def check_can_bus_root(can_bus_root: str | os.PathLike) -> None:
    """Raise ``InputError`` unless ``can_bus_root`` holds the expansion's ``can_bus/`` folder."""
    folder = os.path.join(os.fspath(can_bus_root), "can_bus")
    if not os.path.isdir(folder):
        raise InputError(
            f"--can-bus {can_bus_root}: expected the CAN bus expansion folder {folder} "
            f"(holding scene-XXXX_pose.json files), which does not exist"
        )


def ego_status_from_poses(
    timestamps_us: Sequence[int], ego2globals: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[str]]:
    """(S, 6) ego status and S sources (``POSE_SOURCES``) from the scene's S key-frame poses (each (4, 4))."""
    count = len(timestamps_us)
    if count != len(ego2globals):
        raise ValueError(f"got {count} timestamps but {len(ego2globals)} poses")
    status = np.zeros((count, 6))
    sources = [POSE_SOURCES[min(index, 2)] for index in range(count)]
    if count < 2:
        return status, sources
    seconds = np.asarray(timestamps_us, dtype=np.float64) * 1e-6
    steps = np.diff(seconds)  # (S-1,)
    if np.any(steps <= 0):
        raise ValueError(f"key-frame timestamps must increase, got {list(timestamps_us)}")
    poses = np.stack(ego2globals)  # (S, 4, 4)
    velocity = np.zeros((count, 3))  # global, backward
    velocity[1:] = np.diff(poses[:, :3, 3], axis=0) / steps[:, None]
    acceleration = np.zeros((count, 3))  # global, backward (needs two past poses)
    acceleration[2:] = np.diff(velocity[1:], axis=0) / steps[1:, None]
    yaws = np.unwrap([yaw_of_rotation(pose[:3, :3]) for pose in poses])
    yaw_rate = np.zeros(count)
    yaw_rate[1:] = np.diff(yaws) / steps
    to_ego = poses[:, :3, :3].transpose(0, 2, 1)  # (S, 3, 3) global → ego rotation
    velocity_ego = np.einsum("sij,sj->si", to_ego, velocity)
    acceleration_ego = np.einsum("sij,sj->si", to_ego, acceleration)
    status[:, 0:2] = velocity_ego[:, :2]
    status[:, 2:4] = acceleration_ego[:, :2]
    status[:, 4] = yaw_rate
    status[:, 5] = np.hypot(velocity_ego[:, 0], velocity_ego[:, 1])
    return status, sources


class CanBusEgoStatus:
    """Ego status from the nuScenes CAN bus expansion.

    ``can_bus_root`` is the folder that holds ``can_bus/`` (the devkit's convention,
    e.g. ``data`` for ``data/can_bus/scene-0001_pose.json``). A missing ``can_bus``
    folder raises ``InputError``; a scene without data is not an error.
    """

    def __init__(self, can_bus_root: str | os.PathLike, max_gap_s: float = 0.5):
        NuScenesCanBus = extra_module("nuscenes.can_bus.can_bus_api", "nuscenes").NuScenesCanBus

        check_can_bus_root(can_bus_root)
        self.can_bus = NuScenesCanBus(dataroot=os.fspath(can_bus_root))
        self.max_gap_us = max_gap_s * 1e6

    def scene_status(self, scene_name: str, timestamps_us: Sequence[int]) -> list[tuple[np.ndarray | None, str]]:
        """Per key frame: ((6,) status, "") or (None, a ``CAN_FALLBACK_REASONS`` key)."""
        messages, reason = self._pose_messages(scene_name)
        if not messages:
            return [(None, reason)] * len(timestamps_us)
        times = np.array([message["utime"] for message in messages], dtype=np.int64)
        result: list[tuple[np.ndarray | None, str]] = []
        for timestamp in timestamps_us:
            index = int(np.searchsorted(times, timestamp, side="right")) - 1  # last message at or before
            if index < 0:
                result.append((None, "no_message_before"))
                continue
            if int(timestamp) - int(times[index]) > self.max_gap_us:
                result.append((None, "stale_message"))
                continue
            message = messages[index]
            velocity, acceleration, rotation_rate = message["vel"], message["accel"], message["rotation_rate"]
            status = np.array(
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
            result.append((status, ""))
        return result

    def _pose_messages(self, scene_name: str) -> tuple[list[dict], str]:
        if not _CAN_SCENE_NAME.match(scene_name):
            return [], "bad_scene_name"
        if int(scene_name[-4:]) in self.can_bus.can_blacklist:
            return [], "blacklisted"
        path = os.path.join(self.can_bus.can_dir, f"{scene_name}_pose.json")
        if not os.path.isfile(path):
            return [], "missing_file"
        messages = self.can_bus.get_messages(scene_name, "pose", print_warnings=False)
        for message in messages:
            missing = {"utime", "vel", "accel", "rotation_rate"} - set(message)
            if missing:
                raise ValueError(f"{path}: a pose message lacks {sorted(missing)}: {message}")
        messages = sorted(messages, key=lambda message: message["utime"])
        return messages, "" if messages else "no_message_before"
