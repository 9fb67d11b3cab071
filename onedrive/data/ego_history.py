"""The ego token's past: the ego status and pose of the two previous key frames, per key frame.

Info key ``ego_history`` (docs/design.md §4): ``HISTORY_FRAMES`` rows, the previous key
frame first, each ``EGO_HISTORY_FIELDS`` = that frame's ego status
(``onedrive.schema.EGO_HISTORY_FIELDS``: the ego status as its own record holds it), its pose ``x, y, yaw``
(metres, radians) in the current key frame's ego frame, and ``valid`` (1). A key frame
with fewer previous key frames in its scene has zero rows with ``valid`` 0 for the
missing ones. Only the present and the past enter: the previous frames' statuses are
themselves past-only (``nuscenes/ego_status.py``, ``navsim/scenes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from onedrive.schema import EGO_HISTORY_FIELDS
from onedrive.schema import EGO_HISTORY_FRAMES as HISTORY_FRAMES


def ego_history(previous_statuses: Sequence[Sequence[float]], previous_poses: Sequence[Sequence[float]]) -> np.ndarray:
    """Statuses (n, 6) and poses (n, 3) ``x, y, yaw`` in the current ego frame of the ``n`` <= 2 previous key
    frames, the previous one first → (HISTORY_FRAMES, 10) rows (zeros, ``valid`` 0, for missing frames)."""
    count = len(previous_statuses)
    if count != len(previous_poses) or count > HISTORY_FRAMES:
        raise ValueError(
            f"ego history needs as many statuses as poses, at most {HISTORY_FRAMES}; "
            f"got {count} statuses and {len(previous_poses)} poses"
        )
    rows = np.zeros((HISTORY_FRAMES, len(EGO_HISTORY_FIELDS)))
    for row, (status, pose) in enumerate(zip(previous_statuses, previous_poses)):
        rows[row] = [*status, *pose, 1.0]
    return rows


def pose_in_frame(current_ego2global: np.ndarray, other_ego2global: np.ndarray) -> tuple[float, float, float]:
    """(4, 4) ego-to-global transforms of the current and another frame → the other's ``x, y, yaw`` in the
    current ego frame."""
    relative = np.linalg.inv(current_ego2global) @ other_ego2global  # (4, 4) other ego → current ego
    return float(relative[0, 3]), float(relative[1, 3]), float(np.arctan2(relative[1, 0], relative[0, 0]))


def key_frame_history(statuses: Sequence[Sequence[float]], ego2globals: Sequence[np.ndarray], index: int) -> np.ndarray:
    """Key-frame statuses (>= index + 1, 6) and ego-to-global transforms (4, 4) of a scene in time order → the
    (HISTORY_FRAMES, 10) ``ego_history`` of key frame ``index`` (reads frames ``index - 2 … index`` only)."""
    previous = list(range(index - 1, max(index - 1 - HISTORY_FRAMES, -1), -1))  # the previous frame first
    poses = [pose_in_frame(ego2globals[index], ego2globals[other]) for other in previous]
    return ego_history([statuses[other] for other in previous], poses)
