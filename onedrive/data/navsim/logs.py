"""Read NAVSIM / OpenScene logs: ``<data_root>/navsim_logs/<split>/<log>.pkl``.

A log is a pickled list of frame dicts at 2 Hz (OpenScene ``create_openscene_metadata.py``;
read by NAVSIM ``navsim/common/dataloader.py``). Images and point clouds live under
``<data_root>/sensor_blobs/<split>/`` at each camera's ``data_path``.

``load_log`` checks every frame for the keys this repository reads (``FRAME_KEYS``,
the eight cameras ``CAMERA_NAMES`` with ``CAMERA_KEYS``) and raises ``ValueError``
naming the log file and the frame token.

Logs are pickles, and unpickling can run any code a crafted file names. ``LogUnpickler``
admits only what OpenScene logs hold: Python's built-in values (dicts, lists, tuples,
strings, numbers, None — no lookup needed) and numpy arrays and scalars
(``ALLOWED_GLOBALS``: numpy's reconstruction functions of numpy 1 and 2). Any other class
or function is refused before it is loaded, with its name and the log's.

    python -c "from onedrive.data.navsim.logs import log_paths; print(log_paths('data/navsim', 'navtest'))"
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from pyquaternion import Quaternion

from onedrive.schema import NAVSIM_CAMERAS

CAMERA_NAMES = NAVSIM_CAMERAS
FRAME_KEYS = (
    "token",
    "timestamp",
    "log_name",
    "scene_token",
    "map_location",
    "roadblock_ids",
    "ego2global_translation",
    "ego2global_rotation",
    "ego_dynamic_state",
    "driving_command",
    "cams",
)
CAMERA_KEYS = ("data_path", "sensor2lidar_rotation", "sensor2lidar_translation", "cam_intrinsic")
ANNOTATION_KEYS = ("gt_boxes", "gt_names", "gt_velocity_3d", "instance_tokens", "track_tokens")


# (module, name) pairs a log may name: numpy arrays (pickle protocols <= 4: _reconstruct + ndarray + dtype;
# protocol 5: _frombuffer), numpy scalars (scalar), in numpy 1 (numpy.core) and 2 (numpy._core) spellings; bytes
# in protocol 2 (_codecs.encode); and the built-in types pickle cannot spell without a lookup (protocol 2 names
# their module __builtin__).
ALLOWED_GLOBALS = frozenset(
    [(f"numpy.{core}.multiarray", name) for core in ("core", "_core") for name in ("_reconstruct", "scalar")]
    + [(f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")]
    + [
        (module, name)
        for module in ("builtins", "__builtin__")
        for name in ("set", "frozenset", "complex", "bytearray")
    ]
)


class LogUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that loads only ``ALLOWED_GLOBALS``; anything else raises ``UnpicklingError`` naming it."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a NAVSIM / OpenScene log holds only built-in values and numpy "
                f"arrays, and loading anything else can run code"
            )
        return super().find_class(module, name)


def log_paths(data_root: str | Path, split: str) -> list[Path]:
    """Sorted log files of ``split``; ``ValueError`` when the folder is missing or holds none."""
    folder = Path(data_root) / "navsim_logs" / split
    if not folder.is_dir():
        raise ValueError(f"NAVSIM log folder {folder} does not exist (expected <data_root>/navsim_logs/<split>/)")
    paths = sorted(folder.glob("*.pkl"))
    if not paths:
        raise ValueError(f"NAVSIM log folder {folder} holds no .pkl log")
    return paths


def load_log(path: str | Path) -> list[dict]:
    """The frames of one log, checked (see module docstring)."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            frames = LogUnpickler(file).load()
    except (OSError, pickle.UnpicklingError, EOFError) as error:
        raise ValueError(f"NAVSIM log {path} cannot be read: {error}") from error
    if not isinstance(frames, list) or not frames:
        raise ValueError(f"NAVSIM log {path} must be a non-empty list of frame dicts, got {type(frames).__name__}")
    for index, frame in enumerate(frames):
        check_frame(frame, f"NAVSIM log {path} frame {index}")
    return frames


def check_frame(frame: dict, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and the token when a key this repository reads is missing."""
    if not isinstance(frame, dict):
        raise ValueError(f"{where}: expected a frame dict, got {type(frame).__name__}")
    token = frame.get("token", "<no token>")
    missing = [key for key in FRAME_KEYS if key not in frame]
    if missing:
        raise ValueError(f"{where} (token {token!r}): missing keys {missing}")
    if "lidar2ego" not in frame and not {"lidar2ego_translation", "lidar2ego_rotation"} <= set(frame):
        raise ValueError(f"{where} (token {token!r}): needs 'lidar2ego' or 'lidar2ego_translation'/'_rotation'")
    cams = frame["cams"]
    absent = [name for name in CAMERA_NAMES if name not in cams]
    if absent:
        raise ValueError(f"{where} (token {token!r}): cameras {absent} missing, the frame has {sorted(cams)}")
    for name in CAMERA_NAMES:
        lacking = [key for key in CAMERA_KEYS if key not in cams[name]]
        if lacking:
            raise ValueError(f"{where} (token {token!r}): camera {name} lacks {lacking}")


def _array(value, shape: tuple[int, ...], what: str, token: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"token {token!r}: {what} is not numeric ({error})") from error
    if array.shape != shape:
        raise ValueError(f"token {token!r}: {what} must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"token {token!r}: {what} holds NaN or inf: {array.tolist()}")
    return array


def global_pose(frame: dict) -> np.ndarray:
    """(3,) global rear-axle pose x, y, heading of a frame (NAVSIM ``Scene._build_ego_status``)."""
    token = frame["token"]
    translation = _array(frame["ego2global_translation"], (3,), "ego2global_translation", token)
    rotation = _array(frame["ego2global_rotation"], (4,), "ego2global_rotation (w, x, y, z)", token)
    if abs(np.linalg.norm(rotation) - 1.0) > 1e-3:
        raise ValueError(f"token {token!r}: ego2global_rotation must be a unit quaternion, got {rotation.tolist()}")
    return np.array([translation[0], translation[1], Quaternion(*rotation).yaw_pitch_roll[0]])


def ego2global(frame: dict) -> np.ndarray:
    """(4, 4) ego-to-global transform of a frame."""
    token = frame["token"]
    out = np.eye(4)
    rotation = _array(frame["ego2global_rotation"], (4,), "ego2global_rotation (w, x, y, z)", token)
    out[:3, :3] = Quaternion(*rotation).rotation_matrix
    out[:3, 3] = _array(frame["ego2global_translation"], (3,), "ego2global_translation", token)
    return out


def lidar2ego(frame: dict) -> np.ndarray:
    """(4, 4) lidar-to-ego transform (``lidar2ego``, or its translation + quaternion)."""
    token = frame["token"]
    if "lidar2ego" in frame:
        return _array(frame["lidar2ego"], (4, 4), "lidar2ego", token)
    out = np.eye(4)
    rotation = _array(frame["lidar2ego_rotation"], (4,), "lidar2ego_rotation (w, x, y, z)", token)
    out[:3, :3] = Quaternion(*rotation).rotation_matrix
    out[:3, 3] = _array(frame["lidar2ego_translation"], (3,), "lidar2ego_translation", token)
    return out


def camera_calibration(frame: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Intrinsics (3, 3) and cam2ego (4, 4) = lidar2ego · sensor2lidar of camera ``name``."""
    token, cam = frame["token"], frame["cams"][name]
    sensor2lidar = np.eye(4)
    sensor2lidar[:3, :3] = _array(cam["sensor2lidar_rotation"], (3, 3), f"{name} sensor2lidar_rotation", token)
    sensor2lidar[:3, 3] = _array(cam["sensor2lidar_translation"], (3,), f"{name} sensor2lidar_translation", token)
    intrinsics = _array(cam["cam_intrinsic"], (3, 3), f"{name} cam_intrinsic", token)
    return intrinsics, lidar2ego(frame) @ sensor2lidar
