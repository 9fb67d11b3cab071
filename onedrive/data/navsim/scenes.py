"""NAVSIM v1 scenes: 4 history frames (the last one current) + 10 future frames at 2 Hz.

A scene is a window of 14 consecutive frames of one log, named by its current frame's
(index 3) token; which windows are scenes is a scene filter's choice
(``scene_filter.py``, NAVSIM's ``SceneFilter``). From a scene:

* ``future_poses``: the next 8 rear-axle poses (x, y, heading), 4 s at 2 Hz, in the
  current rear-axle frame (``Scene.get_future_trajectory``);
* ``ego_status``: the repository's ``[vx, vy, ax, ay, yaw_rate, speed]``
  (``onedrive.schema.EGO_STATUS_FIELDS``): the log's ``ego_dynamic_state`` (ego frame),
  the yaw rate from the previous and the current heading (history only), the speed;
* ``command``: NAVSIM's one-hot ``(left, straight, right, unknown)`` (OpenScene
  ``helpers/driving_command.py``) → 1 left, 2 straight, 0 right; unknown (no route) → 2;
* ``cameras``: the current frame's 8 cameras, intrinsics and cam2ego.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onedrive.data.ego_history import HISTORY_FRAMES, ego_history
from onedrive.data.navsim.logs import CAMERA_NAMES, camera_calibration, global_pose

NUM_HISTORY = 4
NUM_FUTURE = 10
NUM_POSES = 8
FRAME_DT = 0.5
NAVSIM_TO_COMMAND = (1, 2, 0, 2)  # one-hot index (left, straight, right, unknown) → 0 right / 1 left / 2 straight


@dataclass(frozen=True)
class NavsimScene:
    """One token: its log and the 14 frames (``frames[NUM_HISTORY - 1]`` is current)."""

    token: str
    log_path: Path
    frames: tuple[dict, ...]

    @property
    def current(self) -> dict:
        return self.frames[NUM_HISTORY - 1]


def relative_poses(origin: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """Poses (N, 3) x, y, heading expressed in the frame of ``origin`` (3,) (NAVSIM ``convert_absolute_to_relative_se2_array``)."""
    c, s = np.cos(origin[2]), np.sin(origin[2])
    offset = poses[:, :2] - origin[:2]
    heading = np.arctan2(np.sin(poses[:, 2] - origin[2]), np.cos(poses[:, 2] - origin[2]))
    return np.stack([c * offset[:, 0] + s * offset[:, 1], -s * offset[:, 0] + c * offset[:, 1], heading], axis=1)


def check_scene(scene: NavsimScene) -> None:
    """Raise ``ValueError`` naming the token when the frames are not one scene of consecutive 2 Hz frames."""
    size = NUM_HISTORY + NUM_FUTURE
    if len(scene.frames) != size:
        raise ValueError(
            f"token {scene.token!r}: a scene needs {size} frames ({NUM_HISTORY} history incl. current + "
            f"{NUM_FUTURE} future), got {len(scene.frames)}"
        )
    logs = {frame["log_name"] for frame in scene.frames}
    if len(logs) != 1:
        raise ValueError(f"token {scene.token!r}: frames come from several logs {sorted(logs)}")
    times = np.array([frame["timestamp"] for frame in scene.frames], dtype=np.float64) / 1e6
    steps = np.diff(times)
    if np.any(np.abs(steps - FRAME_DT) > 0.1):
        raise ValueError(
            f"token {scene.token!r}: frames must be {FRAME_DT} s apart, got steps {np.round(steps, 3).tolist()}"
        )


def future_poses(scene: NavsimScene) -> np.ndarray:
    """(8, 3) future rear-axle poses x, y, heading in the current rear-axle frame."""
    check_scene(scene)
    origin = global_pose(scene.current)
    future = np.stack([global_pose(frame) for frame in scene.frames[NUM_HISTORY : NUM_HISTORY + NUM_POSES]])
    poses = relative_poses(origin, future)
    if poses.shape != (NUM_POSES, 3):
        raise ValueError(f"token {scene.token!r}: expected {NUM_POSES} future poses, got {poses.shape}")
    return poses


def ego_status(scene: NavsimScene, frame: int = NUM_HISTORY - 1) -> np.ndarray:
    """(6,) ``[vx, vy, ax, ay, yaw_rate, speed]`` of a history frame (1 … NUM_HISTORY - 1; default the current
    one; see module docstring)."""
    if not 1 <= frame < NUM_HISTORY:
        raise ValueError(
            f"ego_status reads history frames 1 … {NUM_HISTORY - 1} (frame - 1 gives the yaw rate), got {frame}"
        )
    current, previous = scene.frames[frame], scene.frames[frame - 1]
    dynamic = np.asarray(current["ego_dynamic_state"], dtype=np.float64)
    if dynamic.shape != (4,) or not np.isfinite(dynamic).all():
        raise ValueError(
            f"token {scene.token!r}: ego_dynamic_state must be 4 finite numbers [vx, vy, ax, ay], "
            f"got {current['ego_dynamic_state']!r}"
        )
    dt = (current["timestamp"] - previous["timestamp"]) / 1e6
    turn = global_pose(current)[2] - global_pose(previous)[2]
    yaw_rate = np.arctan2(np.sin(turn), np.cos(turn)) / dt
    return np.array([*dynamic, yaw_rate, np.hypot(dynamic[0], dynamic[1])])


def previous_frames(scene: NavsimScene) -> np.ndarray:
    """(HISTORY_FRAMES, 10) ``ego_history`` of the current frame (``onedrive.data.ego_history``): the statuses
    of the two previous history frames and their poses in the current rear-axle frame."""
    frames = [NUM_HISTORY - 1 - step for step in range(1, HISTORY_FRAMES + 1)]  # the previous frame first
    poses = relative_poses(global_pose(scene.current), np.stack([global_pose(scene.frames[f]) for f in frames]))
    return ego_history([ego_status(scene, frame) for frame in frames], poses)


def command(scene: NavsimScene) -> int:
    """0 right / 1 left / 2 straight from the current frame's one-hot driving command."""
    one_hot = np.asarray(scene.current["driving_command"])
    if one_hot.shape != (4,) or sorted(one_hot.tolist()) != [0, 0, 0, 1]:
        raise ValueError(
            f"token {scene.token!r}: driving_command must be a one-hot of 4 "
            f"(left, straight, right, unknown), got {scene.current['driving_command']!r}"
        )
    return NAVSIM_TO_COMMAND[int(np.argmax(one_hot))]


def cameras(scene: NavsimScene) -> dict[str, dict]:
    """The current frame's cameras in NAVSIM order: ``{name: {data_path, intrinsics (3, 3), cam2ego (4, 4)}}``."""
    out = {}
    for name in CAMERA_NAMES:
        intrinsics, cam2ego = camera_calibration(scene.current, name)
        out[name] = {
            "data_path": scene.current["cams"][name]["data_path"],
            "intrinsics": intrinsics,
            "cam2ego": cam2ego,
        }
    return out
