"""Pure planning-target functions on hand-made poses."""

import math

import numpy as np
import pytest

from onedrive.data.nuscenes.geometry import pose_matrix
from onedrive.data.nuscenes.planning_targets import (
    COMMAND_LEFT,
    COMMAND_RIGHT,
    COMMAND_STRAIGHT,
    agent_futures,
    driving_command,
    ego_future,
)


def _yaw_pose(x, y, yaw):
    return pose_matrix([x, y, 0.0], [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


@pytest.mark.parametrize(
    ("end_y", "expected"),
    [
        (2.5, COMMAND_LEFT),
        (-2.5, COMMAND_RIGHT),
        (1.9, COMMAND_STRAIGHT),
        (-1.9, COMMAND_STRAIGHT),
        (2.0, COMMAND_STRAIGHT),
    ],
)
def test_command_rule_on_three_second_point(end_y, expected):
    trajectory = np.zeros((6, 2))
    trajectory[:, 0] = np.arange(1, 7)
    trajectory[-1, 1] = end_y
    trajectory[2, 1] = -end_y  # earlier points do not matter
    assert driving_command(trajectory, np.ones(6, dtype=bool)) == expected


def test_command_uses_last_valid_point_when_future_is_short():
    trajectory = np.array([[1, 0.5], [2, 3.0], [0, 0], [0, 0], [0, 0], [0, 0]], dtype=float)
    mask = np.array([1, 1, 0, 0, 0, 0], dtype=bool)
    assert driving_command(trajectory, mask) == COMMAND_LEFT
    assert driving_command(np.zeros((6, 2)), np.zeros(6, dtype=bool)) == COMMAND_STRAIGHT
    with pytest.raises(ValueError, match="expected trajectory"):
        driving_command(np.zeros((6, 3, 1)), np.zeros(6, dtype=bool))


def test_ego_future_is_in_the_current_ego_frame_and_masked_at_scene_end():
    # Ego facing north (+y global) at (10, 0); moves north 2 m per key frame.
    poses = [_yaw_pose(10.0, 2.0 * k, math.pi / 2) for k in range(4)]
    trajectory, mask = ego_future(poses, 0)
    np.testing.assert_allclose(trajectory[:3], [[2, 0], [4, 0], [6, 0]], atol=1e-12)
    assert mask.tolist() == [True, True, True, False, False, False]
    np.testing.assert_array_equal(trajectory[3:], 0.0)


def test_agent_futures_rotate_into_ego_frame():
    global2ego = np.linalg.inv(_yaw_pose(0.0, 0.0, math.pi / 2))  # ego faces +y
    rotation = pose_matrix([0, 0, 0], [math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)])[:3, :3]  # yaw 90°
    futures = [{"a": (np.array([0.0, 5.0, 0.0]), rotation)}, {}]
    traj, yaw, mask = agent_futures(["a", "b"], futures, global2ego)
    assert traj.shape == (2, 6, 2) and yaw.shape == (2, 6) and mask.shape == (2, 6)
    np.testing.assert_allclose(traj[0, 0], [5.0, 0.0], atol=1e-12)
    assert abs(yaw[0, 0]) < 1e-12
    assert mask[0].tolist() == [True] + [False] * 5 and not mask[1].any()
