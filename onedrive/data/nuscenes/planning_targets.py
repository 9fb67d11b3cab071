"""Planning targets of one key frame: ego future, its validity, the driving command,
and the future of every annotated agent (for the collision metric).

All positions are in the ego frame of the current key frame (x forward, y left).
Sources: the VAD / UniAD nuScenes converters (``tools/data_converter/
vad_nuscenes_converter.py`` in hustvl/VAD) for the command rule and the 6-step
horizon; OmniDrive ``evaluation/eval_planning.py`` for ``fut_valid`` (a sample counts
only when all 6 future key frames exist in its scene).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from onedrive.data.nuscenes.geometry import invert_pose, transform_points, yaw_of_rotation

FUTURE_STEPS = 6  # 3 s at the 2 Hz key-frame rate
COMMAND_RIGHT, COMMAND_LEFT, COMMAND_STRAIGHT = 0, 1, 2
COMMAND_LATERAL_THRESHOLD = 2.0  # metres, VAD / UniAD


def ego_future(
    ego2globals: Sequence[np.ndarray], index: int, steps: int = FUTURE_STEPS
) -> tuple[np.ndarray, np.ndarray]:
    """Future rear-axle positions of key frame ``index`` in its own ego frame.

    ``ego2globals``: the scene's key-frame poses, each (4, 4), in time order.
    Returns ``trajectory`` (steps, 2) and ``mask`` (steps,) bool; steps past the end of
    the scene are ``(0, 0)`` with mask False.
    """
    global2ego = invert_pose(ego2globals[index])
    trajectory = np.zeros((steps, 2))
    mask = np.zeros(steps, dtype=bool)
    for step in range(steps):
        future = index + 1 + step
        if future >= len(ego2globals):
            break
        trajectory[step] = transform_points(global2ego, ego2globals[future][:3, 3][None])[0, :2]
        mask[step] = True
    return trajectory, mask


def driving_command(trajectory: np.ndarray, mask: np.ndarray) -> int:
    """VAD / UniAD command from the lateral offset of the future end point.

    ``trajectory`` (T, 2), ``mask`` (T,). The end point is the 3 s point
    ``trajectory[-1]``; when the future is shorter (the scene ends earlier) it is the
    last valid point, and with no valid point at all (last key frame of a scene) the
    command is straight. ``y > 2`` m → 1 left, ``y < -2`` m → 0 right, else 2 straight.
    """
    if trajectory.ndim != 2 or trajectory.shape[1] < 2 or mask.shape != trajectory.shape[:1]:
        raise ValueError(f"expected trajectory (T, 2) and mask (T,), got {trajectory.shape} and {mask.shape}")
    valid = np.flatnonzero(mask)
    if valid.size == 0:
        return COMMAND_STRAIGHT
    lateral = float(trajectory[valid[-1], 1])
    if lateral > COMMAND_LATERAL_THRESHOLD:
        return COMMAND_LEFT
    if lateral < -COMMAND_LATERAL_THRESHOLD:
        return COMMAND_RIGHT
    return COMMAND_STRAIGHT


def agent_futures(
    instance_tokens: Sequence[str],
    future_boxes: Sequence[Mapping[str, tuple[np.ndarray, np.ndarray]]],
    global2ego: np.ndarray,
    steps: int = FUTURE_STEPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Future centres and yaws of the given agents in the current ego frame.

    ``future_boxes[k]`` maps an instance token to its global box at the (k+1)-th next
    key frame: ``(center (3,), rotation (3, 3))``; a missing instance (not annotated
    then, or past the end of the scene) gets mask False and zeros.
    Returns ``traj`` (N, steps, 2), ``yaw`` (N, steps), ``mask`` (N, steps) bool.
    """
    count = len(instance_tokens)
    traj = np.zeros((count, steps, 2))
    yaw = np.zeros((count, steps))
    mask = np.zeros((count, steps), dtype=bool)
    for step, boxes in enumerate(future_boxes[:steps]):
        for row, instance in enumerate(instance_tokens):
            if instance not in boxes:
                continue
            center, rotation = boxes[instance]
            traj[row, step] = transform_points(global2ego, center[None])[0, :2]
            yaw[row, step] = yaw_of_rotation(global2ego[:3, :3] @ rotation)
            mask[row, step] = True
    return traj, yaw, mask
