"""Pure geometry: resampling, clipping, transforms, ego status from poses, atomic writes."""

import json
import math

import numpy as np
import pytest
import shapely

from onedrive.data.nuscenes.ego_status import ego_status_from_poses
from onedrive.data.nuscenes.geometry import ground_height_in_ego, invert_pose, pose_matrix, transform_points
from onedrive.data.nuscenes.lanes import clip_polyline, resample_polyline
from onedrive.io import write_json_atomic


def test_resample_polyline_equal_arc_length_and_direction():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])  # length 7
    resampled = resample_polyline(points, 8)
    np.testing.assert_allclose(resampled[0], [0, 0])
    np.testing.assert_allclose(resampled[-1], [3, 4])
    np.testing.assert_allclose(np.linalg.norm(np.diff(resampled, axis=0), axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="K >= 2"):
        resample_polyline(points[:1], 4)


def test_clip_polyline_keeps_direction_and_splits_pieces():
    # A U-shaped line leaving and re-entering the box, drawn right to left.
    points = np.array([[5.0, 1.0], [-5.0, 1.0], [-5.0, 3.0], [5.0, 3.0]])[::-1].copy()
    pieces = clip_polyline(points, shapely.box(0, 0, 10, 10), min_length=0.1)
    assert len(pieces) == 2
    assert pieces[0][0, 0] > pieces[0][-1, 0]  # first piece (y = 3) still runs towards -x
    np.testing.assert_allclose(pieces[0][:, 1], 3.0)
    assert pieces[1][0, 0] < pieces[1][-1, 0]  # second piece (y = 1) runs towards +x
    assert clip_polyline(np.array([[20.0, 20.0], [30.0, 30.0]]), shapely.box(0, 0, 10, 10), 0.1) == []


def test_pose_inverse_and_ground_height():
    rotation = [math.cos(0.3), 0.02, 0.01, math.sin(0.3)]
    rotation = list(np.asarray(rotation) / np.linalg.norm(rotation))
    ego2global = pose_matrix([100.0, -20.0, 0.4], rotation)
    np.testing.assert_allclose(invert_pose(ego2global), np.linalg.inv(ego2global), atol=1e-12)
    xy = np.array([[3.0, 4.0], [-10.0, 2.0]])
    z = ground_height_in_ego(invert_pose(ego2global), xy)
    back = transform_points(ego2global, np.column_stack([xy, z]))
    np.testing.assert_allclose(back[:, 2], 0.0, atol=1e-12)


def test_ego_status_from_poses_constant_turn():
    # Circle of radius 20 m at 0.25 rad/s (5 m/s): speed, yaw rate and centripetal acceleration.
    times = np.arange(8) * 0.5
    poses = []
    for t in times:
        angle = 0.25 * t
        yaw = angle + math.pi / 2
        poses.append(
            pose_matrix([20 * math.cos(angle), 20 * math.sin(angle), 0.0], [math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)])
        )
    status, sources = ego_status_from_poses((times * 1e6).astype(int).tolist(), poses)
    assert status.shape == (8, 6) and sources == ["no_past", "poses_no_accel"] + ["poses"] * 6
    np.testing.assert_array_equal(status[0], np.zeros(6))  # no past pose
    np.testing.assert_array_equal(status[1, 2:4], np.zeros(2))  # one past pose: no acceleration
    moving = status[1:]
    np.testing.assert_allclose(moving[:, 4], 0.25, atol=1e-9)  # yaw rate
    np.testing.assert_allclose(moving[:, 5], 5.0, rtol=0.02)  # speed (chord of the arc: slightly under)
    # The backward chord points 1/16 rad (half the turn of a step) behind the heading: a lateral part.
    np.testing.assert_allclose(moving[:, 1] / moving[:, 0], -math.tan(0.0625), atol=1e-9)
    np.testing.assert_allclose(np.hypot(*status[2:, 2:4].T), 1.25, rtol=0.03)  # |a| = v² / r
    status, sources = ego_status_from_poses([0], poses[:1])
    np.testing.assert_array_equal(status, np.zeros((1, 6)))
    assert sources == ["no_past"]


def test_write_json_atomic_refuses_nan_and_keeps_old_file(tmp_path):
    path = write_json_atomic(tmp_path / "a.json", {"x": 1})
    with pytest.raises(ValueError, match="a.json"):
        write_json_atomic(path, {"x": float("nan")})
    assert json.loads(path.read_text()) == {"x": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
