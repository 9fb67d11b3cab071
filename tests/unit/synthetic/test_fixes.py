"""Pixel-centre convention, command balance per split, and the vectorised hot spots of the synthetic world."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyquaternion import Quaternion

from onedrive.data.nuscenes.planning_targets import driving_command, ego_future
from onedrive.synthetic import SyntheticConfig, generate_world
from onedrive.synthetic.cameras import navsim_rig, nuscenes_rig
from onedrive.synthetic.classes import shaded_colour
from onedrive.synthetic.render import GroundRays, Renderer, fill_convex
from onedrive.synthetic.roads import build_road_network
from onedrive.synthetic.traffic import _footprints, _Occupancy

NAMES = {0: "right", 1: "left", 2: "straight"}


@pytest.mark.parametrize("camera", nuscenes_rig(64, 32)[:2] + navsim_rig(64, 32)[-1:], ids=lambda c: c.name)
def test_ground_rays_pass_through_pixel_centres(camera):
    """Projecting each ray's ground point with the recorded calibration gives the integer pixel it was cast through."""
    rays = GroundRays.of(camera)
    points = np.concatenate([rays.points, np.zeros((len(rays.points), 1))], axis=1)  # (G, 3) ego frame, z = 0
    in_camera = (points - camera.translation) @ camera.rotation  # (G, 3) = R^T (p - t)
    projected = in_camera @ camera.intrinsics.T
    uv = projected[:, :2] / projected[:, 2:3]
    assert len(uv) > camera.width * camera.height // 4
    np.testing.assert_allclose(uv, rays.pixels, atol=1e-6)


@pytest.mark.parametrize("fraction", [0.3, 0.7])
def test_box_edge_fills_exactly_the_pixel_centres_it_covers(fraction):
    """A vertical box edge projected to u = k + fraction: column k is ground, column k + 1 is the box."""
    network = build_road_network()
    camera = nuscenes_rig(64, 32)[0]  # CAM_FRONT, looking along ego x
    renderer = Renderer(network, [camera])
    fx, cx = camera.intrinsics[0, 0], camera.intrinsics[0, 2]
    depth = 12.0  # metres from the camera to the box's back face
    column = 40
    u_edge = column + fraction
    lateral = -(u_edge - cx) * depth / fx  # ego y of the edge (camera x = -ego y)
    ego_pose = np.array([150.0, 40.0 + 1.0, 0.0])  # on a horizontal road, facing east
    x_back = camera.translation[0] + depth  # ego x of the face nearest to the camera
    width = 20.0  # the box extends from the edge to the right of the image
    box = np.array(
        [
            [
                ego_pose[0] + x_back + 1.0,
                ego_pose[1] + camera.translation[1] + lateral - width / 2,
                1.0,
                2.0,
                width,
                2.0,
                0.0,
            ]
        ]
    )  # x, y, z, l, w, h, yaw (map frame, z = centre)
    image = renderer.render(camera, ego_pose, box, ["car"])
    row = int(round(camera.intrinsics[1, 2]))  # the horizon row lies on the box face
    back = np.array(shaded_colour("car", "back"))
    assert np.array_equal(image[row, column + 1], back)
    assert not np.array_equal(image[row, column], back)


def test_default_splits_hold_all_three_commands(nusc):
    """VAD/UniAD command (converter rule) from the devkit's ego poses: every split has left, right and straight."""
    names = json.loads((Path(nusc.dataroot) / "v1.0-synthetic" / "splits.json").read_text())
    counts = {split: Counter() for split in names}
    for scene in nusc.scene:
        poses, token = [], scene["first_sample_token"]
        while token:
            sample = nusc.get("sample", token)
            pose = nusc.get("ego_pose", nusc.get("sample_data", sample["data"]["LIDAR_TOP"])["ego_pose_token"])
            matrix = np.eye(4)
            matrix[:3, :3], matrix[:3, 3] = Quaternion(pose["rotation"]).rotation_matrix, pose["translation"]
            poses.append(matrix)
            token = sample["next"]
        split = next(name for name, scenes in names.items() if scene["name"] in scenes)
        for index in range(len(poses)):
            counts[split][NAMES[driving_command(*ego_future(poses, index))]] += 1
    assert set(counts) == {"synthetic_train", "synthetic_val"}
    for split, count in counts.items():
        assert set(count) == {"left", "right", "straight"}, (split, count)


def test_larger_worlds_balance_the_commands():
    """30 scenes: each turn command is at least 12 % of the key frames, straight the most common."""
    world = generate_world(SyntheticConfig(scenes=30, val_scenes=6, image_size=(32, 16)))
    count = Counter()
    for scene in world.scenes:
        states = scene.traffic.ego.states
        poses = []
        for x, y, yaw, _ in states:
            matrix = np.eye(4)
            matrix[:3, :3] = Quaternion(axis=[0, 0, 1], angle=yaw).rotation_matrix
            matrix[:2, 3] = x, y
            poses.append(matrix)
        count.update(NAMES[driving_command(*ego_future(poses, index))] for index in range(len(poses)))
    total = sum(count.values())
    assert count["left"] / total > 0.12 and count["right"] / total > 0.12, count
    assert count["straight"] == max(count.values()), count


def test_vectorised_fill_matches_point_in_polygon():
    """``fill_convex`` (the renderer's face fill) sets exactly the pixels whose centres shapely finds inside."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        hull = shapely.MultiPoint(rng.uniform(-10, 50, size=(6, 2))).convex_hull
        polygon = np.asarray(hull.exterior.coords)[:-1]
        image = np.zeros((32, 40, 3), dtype=np.uint8)
        fill_convex(image, polygon[::-1] if rng.random() < 0.5 else polygon, np.array([255, 0, 0], dtype=np.uint8))
        v, u = np.mgrid[0:32, 0:40]
        inside = shapely.contains_xy(hull, u.ravel(), v.ravel()).reshape(32, 40)
        boundary = shapely.distance(hull.exterior, shapely.points(u.ravel(), v.ravel())).reshape(32, 40) < 1e-6
        filled = image[..., 0] == 255
        assert np.array_equal(filled & ~boundary, inside & ~boundary)


def test_occupancy_prefilter_agrees_with_exact_test():
    """The bounds prefilter of the collision check gives the pairwise shapely answer."""
    rng = np.random.default_rng(1)
    occupancy = _Occupancy()
    tracks = []
    for _ in range(40):
        xy = rng.uniform(0, 60, size=(1, 2)) + np.cumsum(rng.normal(0, 0.5, size=(11, 2)), axis=0)
        footprints = _footprints(xy, rng.uniform(-3, 3, size=11), 4.0, 1.8, margin=0.2)
        exact = not any(np.any(shapely.intersects(footprints, other)) for other in tracks)
        assert occupancy.free(footprints) == exact
        if exact:
            occupancy.add(footprints)
            tracks.append(footprints)
    assert 3 < len(tracks) < 40  # both outcomes occurred
