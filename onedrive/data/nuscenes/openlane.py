"""OpenLane-V2 subset_B lane centerlines (the nuScenes part) read from its ``data_dict`` pickles.

On-disk facts (docs/reference.md, "OpenLane-V2 subset_B on disk"): ``data_dict_subset_B_<split>.pkl``
(written by the devkit's ``openlanev2.centerline.preprocessing.collect``) is a dict keyed by
``(split, segment_id, timestamp)`` — three strings, the timestamp being the nuScenes key frame's
``CAM_FRONT`` sample_data timestamp in µs — whose values are frame dicts; a frame's
``annotation.lane_centerline`` is a list of ``{"id", "points"}`` with ``points`` an (N, 3) float32
array in that frame's ego coordinates (the ego pose at the ``CAM_FRONT`` timestamp, the frame's
``pose``), ordered along travel. The train pickle keeps all annotated points (201 per lane), val and
test every 20th (11 per lane).

The pickles are read through ``RestrictedUnpickler``: only plain containers, numbers, strings and
numpy arrays / dtypes / scalars can be built; any other global in the stream raises ``InputError``
naming the file and the global, so a crafted file cannot run code.

``OpenLaneV2Lanes.load(paths)`` indexes every annotated frame of the given pickles by timestamp;
``lanes(timestamp, points)`` returns a frame's centerlines as (M, points, 3), each resampled to
``points`` points equally spaced along its 3D length when it holds another count (kept as stored
otherwise), and ``key(timestamp)`` the frame's pickle key. Key frames join to OpenLane-V2 frames by
the ``CAM_FRONT`` timestamp, as OmniDrive's ``update_coords.py`` joins them.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onedrive.errors import InputError

LANE_SOURCE = "openlane_v2"
MAP_EXPANSION_SOURCE = "nuscenes_map_expansion"
JOIN_CHANNEL = "CAM_FRONT"

# (module, name) of every global a data_dict pickle may name: numpy's array / dtype / scalar rebuilders
# (``numpy.core`` for numpy < 2, ``numpy._core`` from numpy 2 on; ``_frombuffer`` for pickle protocol 5).
# Protocols 3 to 5 (Python 3's defaults) are readable; protocol 2 would need ``_codecs.encode`` for bytes.
ALLOWED_GLOBALS = frozenset(
    (f"{core}.{module}", name)
    for core in ("numpy.core", "numpy._core")
    for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))
) | {("numpy", "ndarray"), ("numpy", "dtype")}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that builds only containers, numbers, strings and numpy arrays / dtypes / scalars."""

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise InputError(
                f"{self.source}: the pickle names {module}.{name}; an OpenLane-V2 data_dict pickle holds only dicts, "
                f"lists, strings, numbers and numpy arrays ({sorted(f'{m}.{n}' for m, n in ALLOWED_GLOBALS)})"
            )
        return super().find_class(module, name)


def load_pickle(path: str | os.PathLike):
    """The object in ``path``, unpickled by ``RestrictedUnpickler``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"OpenLane-V2 pickle {path} does not exist")
    with open(path, "rb") as handle:
        try:
            return RestrictedUnpickler(handle, str(path)).load()
        except (pickle.UnpicklingError, EOFError) as error:
            raise InputError(f"{path}: not a readable pickle ({error})") from None


def resample_polyline_3d(points: np.ndarray, num_points: int) -> np.ndarray:
    """(K >= 2, 3) polyline → (num_points, 3) points equally spaced along its 3D length, same direction."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)  # (K - 1,)
    arc = np.concatenate([[0.0], np.cumsum(steps)])  # (K,)
    if arc[-1] <= 0.0:
        return np.repeat(points[:1], num_points, axis=0)
    keep = np.concatenate([[True], steps > 0])  # repeated points would make np.interp's xp non-increasing
    targets = np.linspace(0.0, arc[-1], num_points)
    return np.stack([np.interp(targets, arc[keep], points[keep, axis]) for axis in range(3)], axis=1)


@dataclass(frozen=True)
class OpenLaneFrame:
    """One annotated OpenLane-V2 frame: its pickle key, file and centerlines (each (N_i, 3), float64, ego frame)."""

    key: tuple[str, str, str]
    path: str
    centerlines: tuple[np.ndarray, ...]


def _frame_lanes(frame, key, path: str) -> tuple[np.ndarray, ...]:
    where = f"{path} frame {key}"
    if not isinstance(frame, dict) or not isinstance(frame.get("annotation"), dict):
        raise InputError(
            f"{where}: expected a frame dict with an 'annotation' dict (a train/val frame), got "
            f"{sorted(frame) if isinstance(frame, dict) else type(frame).__name__}"
        )
    lanes = frame["annotation"].get("lane_centerline")
    if not isinstance(lanes, list):
        raise InputError(f"{where}: annotation['lane_centerline'] should be a list, got {type(lanes).__name__}")
    result = []
    for index, lane in enumerate(lanes):
        points = lane.get("points") if isinstance(lane, dict) else None
        points = None if points is None else np.asarray(points, dtype=np.float64)
        if points is None or points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != 3:
            shape = "missing" if points is None else points.shape
            raise InputError(f"{where}: lane_centerline[{index}]['points'] should be (N >= 2, 3), got {shape}")
        if not np.isfinite(points).all():
            raise InputError(f"{where}: lane_centerline[{index}]['points'] holds NaN or infinite values")
        result.append(points)
    return tuple(result)


class OpenLaneV2Lanes:
    """Annotated frames of one or more data_dict pickles, indexed by ``CAM_FRONT`` timestamp (µs)."""

    def __init__(self, frames: dict[int, OpenLaneFrame]):
        self.frames = frames

    @classmethod
    def load(cls, paths) -> OpenLaneV2Lanes:
        frames: dict[int, OpenLaneFrame] = {}
        for path in paths:
            data = load_pickle(path)
            if not isinstance(data, dict):
                raise InputError(
                    f"{path}: expected a dict keyed by (split, segment_id, timestamp), got {type(data).__name__}"
                )
            for key, frame in data.items():
                if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(part, str) for part in key)):
                    raise InputError(f"{path}: key {key!r} is not a (split, segment_id, timestamp) tuple of strings")
                if not key[2].isdigit():
                    raise InputError(f"{path}: key {key!r} has timestamp {key[2]!r}, expected digits (µs)")
                timestamp = int(key[2])
                if timestamp in frames:
                    other = frames[timestamp]
                    raise InputError(f"timestamp {timestamp} appears twice: {other.path} {other.key} and {path} {key}")
                frames[timestamp] = OpenLaneFrame(key, os.fspath(path), _frame_lanes(frame, key, os.fspath(path)))
        return cls(frames)

    def __contains__(self, timestamp: int) -> bool:
        return timestamp in self.frames

    def key(self, timestamp: int) -> tuple[str, str, str]:
        return self.frames[timestamp].key

    def lanes(self, timestamp: int, num_points: int) -> np.ndarray:
        """(M, num_points, 3) centerlines of the frame at ``timestamp``, in the pickle's order; M may be 0."""
        lanes = [
            lane if len(lane) == num_points else resample_polyline_3d(lane, num_points)
            for lane in self.frames[timestamp].centerlines
        ]
        return np.stack(lanes) if lanes else np.zeros((0, num_points, 3))
