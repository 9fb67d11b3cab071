"""Road network: connected lanes, no dead ends, lanes on the drivable area, exact arcs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import LineString

from onedrive.synthetic.roads import RoadConfig, build_road_network


@pytest.fixture(scope="module")
def network():
    return build_road_network()


def test_every_lane_continues_into_its_successors(network):
    for name, lane in network.lanes.items():
        assert network.successors[name], f"{name} is a dead end"
        end = np.array(lane.end_pose)
        for successor in network.successors[name]:
            start = np.array(network.lanes[successor].start_pose)
            assert np.linalg.norm(end[:2] - start[:2]) < 1e-9
            assert abs(math.remainder(end[2] - start[2], 2 * math.pi)) < 1e-9


def test_lanes_lie_on_the_drivable_area_and_turns_are_quarter_circles(network):
    cfg = network.config
    for lane in network.lanes.values():
        strip = LineString(lane.centerline(0.5)[:, :2]).buffer(lane.width / 2 - 0.01)
        assert network.drivable.contains(strip), lane.name
        if lane.turn != "straight":
            expected = {"left": math.pi / 2, "right": -math.pi / 2}[lane.turn]
            assert math.isclose(lane.end_pose[2] - lane.start_pose[2], expected, abs_tol=1e-9) or math.isclose(
                abs(math.remainder(lane.end_pose[2] - lane.start_pose[2] - expected, 2 * math.pi)), 0, abs_tol=1e-9
            )
            assert lane.radius in {
                cfg.junction_half_size + 0.5 * cfg.lane_width,
                cfg.junction_half_size - (cfg.lanes_per_direction - 0.5) * cfg.lane_width,
                cfg.junction_half_size + (cfg.lanes_per_direction - 0.5) * cfg.lane_width,
                cfg.junction_half_size - 0.5 * cfg.lane_width,
            }


def test_block_interiors_are_holes_of_the_drivable_area(network):
    cfg = network.config
    assert len(network.drivable.interiors) == (cfg.grid_nodes - 1) ** 2
    centre = cfg.margin + cfg.block_spacing / 2
    assert not network.drivable.contains(LineString([(centre, centre), (centre + 1, centre)]))


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="junction_half_size"):
        RoadConfig(junction_half_size=5.0)
