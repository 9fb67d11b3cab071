"""The ego token's past (``ego_history``) and the planning mode anchors (k-means per command) on hand-made cases."""

import numpy as np

from onedrive.data.ego_history import key_frame_history
from onedrive.data.nuscenes.geometry import pose_matrix
from onedrive.data.plan_anchors import mode_anchors


def _pose(x: float, y: float, yaw: float) -> np.ndarray:
    return pose_matrix([x, y, 0.0], [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def test_history_rows_hold_the_previous_frames_in_the_current_frame():
    # The ego drives along +y (yaw 90°) 5 m per key frame, then turns to yaw 180°.
    poses = [_pose(0, 0, np.pi / 2), _pose(0, 5, np.pi / 2), _pose(0, 10, np.pi)]
    statuses = [[1, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], [3, 0, 0, 0, 0, 3]]
    first = key_frame_history(statuses, poses, 0)
    np.testing.assert_array_equal(first, np.zeros((2, 10)))  # no previous frame: zeros, valid 0
    second = key_frame_history(statuses, poses, 1)
    np.testing.assert_allclose(second[0], [1, 0, 0, 0, 0, 1, -5, 0, 0, 1], atol=1e-12)  # 5 m behind
    np.testing.assert_array_equal(second[1], np.zeros(10))
    third = key_frame_history(statuses, poses, 2)
    # Facing −x at (0, 10), the ego's left is global −y: the frame before, at (0, 5), is 5 m to its left, yaw −90°.
    np.testing.assert_allclose(third[0], [2, 0, 0, 0, 0, 2, 0, 5, -np.pi / 2, 1], atol=1e-12)
    np.testing.assert_allclose(third[1], [1, 0, 0, 0, 0, 1, 0, 10, -np.pi / 2, 1], atol=1e-12)


def _record(command: int, end_x: float, end_y: float, valid: bool = True) -> dict:
    steps = np.linspace(1 / 6, 1, 6)[:, None]  # (6, 1)
    return {"command": command, "fut_valid": valid, "ego_fut_traj": (steps * [end_x, end_y]).tolist()}


def test_anchors_are_the_cluster_centres_of_each_command():
    rng = np.random.default_rng(0)
    ends = {2: [(10, 0), (20, 0), (30, 0)], 1: [(8, 4), (12, 8), (4, 2)], 0: [(8, -4), (12, -8), (4, -2)]}
    records = [
        _record(command, x + rng.normal(0, 0.01), y + rng.normal(0, 0.01))
        for command, centres in ends.items()
        for x, y in centres
        for _ in range(5)
    ]
    records.append(_record(2, 500.0, 500.0, valid=False))  # an incomplete future is left out
    result = mode_anchors(records, num_modes=3)
    anchors = np.asarray(result["plan_mode_anchors"])  # (3, 3, 6, 2)
    assert anchors.shape == (3, 3, 6, 2)
    assert result["plan_mode_anchor_counts"] == [15, 15, 15]
    for command, centres in ends.items():
        np.testing.assert_allclose(anchors[command, :, -1], sorted(centres), atol=0.02)  # ordered by end x


def test_a_command_with_too_few_futures_takes_every_commands_futures():
    records = [_record(2, x, 0.0) for x in (10, 20, 30)] + [_record(1, 5, 5)]
    result = mode_anchors(records, num_modes=3)
    assert result["plan_mode_anchor_counts"] == [0, 1, 3]
    anchors = np.asarray(result["plan_mode_anchors"])
    np.testing.assert_allclose(anchors[0], anchors[1])  # both from all four futures
    assert mode_anchors(records[:2], num_modes=3)["plan_mode_anchors"] is None  # fewer futures than modes
