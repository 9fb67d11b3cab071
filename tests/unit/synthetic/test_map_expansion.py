"""NuScenesMap answers lane and drivable-area queries on the synthetic map as the geometry says."""

from __future__ import annotations

import numpy as np
import pytest
from nuscenes.map_expansion.map_api import NuScenesMap

from onedrive.synthetic.map_expansion import map_token


@pytest.fixture(scope="module")
def nusc_map(synthetic_root):
    return NuScenesMap(dataroot=str(synthetic_root), map_name="boston-seaport")


@pytest.mark.parametrize("lane_name", ["h1_1:f0", "v2_0:b1"])
def test_closest_lane_and_its_centerline(nusc_map, world, lane_name):
    lane = world.network.lanes[lane_name]
    x, y, yaw = lane.poses(np.array([lane.length / 2]))[0]
    # 0.4 m to the side of the centre: still closest to this lane (the neighbour is 3.5 m away).
    token = nusc_map.get_closest_lane(x - 0.4 * np.sin(yaw), y + 0.4 * np.cos(yaw), radius=3.0)
    assert token == map_token(f"lane/{lane_name}")
    points = np.array(nusc_map.discretize_lanes([token], 0.5)[token])  # (P, 3)
    expected = lane.centerline(0.5)
    assert np.max(np.min(np.linalg.norm(points[:, None, :2] - expected[None, :, :2], axis=-1), axis=1)) < 0.1
    assert (
        np.linalg.norm(points[0, :2] - expected[0, :2]) < 0.1
        and np.linalg.norm(points[-1, :2] - expected[-1, :2]) < 0.1
    )


def test_turning_connector_discretises_onto_the_arc(nusc_map, world):
    connector = next(lane for lane in world.network.lanes.values() if lane.turn == "left")
    token = map_token(f"lane/{connector.name}")
    points = np.array(nusc_map.discretize_lanes([token], 0.25)[token])
    expected = connector.centerline(0.05)
    assert np.max(np.min(np.linalg.norm(points[:, None, :2] - expected[None, :, :2], axis=-1), axis=1)) < 0.1
    x, y, _ = connector.poses(np.array([connector.length / 2]))[0]
    records = nusc_map.get_records_in_radius(x, y, 1.0, ["lane", "lane_connector"])
    assert token in records["lane_connector"]
    assert nusc_map.get_outgoing_lane_ids(token) == [map_token(f"lane/{world.network.successors[connector.name][0]}")]


def test_drivable_mask_matches_roads_and_blocks(nusc_map, world):
    cfg = world.network.config
    road_y = cfg.margin + cfg.block_spacing  # a horizontal road's centre line
    block = cfg.margin + cfg.block_spacing / 2  # middle of a block
    x = cfg.margin + cfg.block_spacing / 2
    mask = nusc_map.get_map_mask((x, road_y, 10.0, 10.0), 0.0, ["drivable_area"], (100, 100))[0]
    assert mask.all()
    mask = nusc_map.get_map_mask((x, block, 10.0, 10.0), 0.0, ["drivable_area"], (100, 100))[0]
    assert not mask.any()
    # Across the road edge: rows (south → north) switch from road to block at the road's half width.
    mask = nusc_map.get_map_mask((x, road_y + cfg.road_half_width, 4.0, 4.0), 0.0, ["drivable_area"], (40, 40))[0]
    assert mask[:18].all() and not mask[22:].any()
