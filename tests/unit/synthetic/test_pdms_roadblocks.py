"""The synthetic PDM map groups lanes into nuPlan-style roadblocks (the on-route lanes of DDC and TLC)."""

from __future__ import annotations

from onedrive.evaluation.pdms.map import map_from_dict
from onedrive.synthetic.pdms_map import build_pdms_map, roadblock_of
from onedrive.synthetic.roads import RoadConfig, build_road_network


def test_roadblocks_are_a_segment_direction_or_a_junction_between_two():
    assert roadblock_of("h0_1:f1") == roadblock_of("h0_1:f0") == "h0_1:f"
    assert roadblock_of("j1_0:h0_0:f1>v1_0:b1") == "j1_0:h0_0:f>v1_0:b"


def test_on_route_lanes_hold_the_neighbouring_lane_of_the_same_direction_only():
    network = build_road_network(RoadConfig(grid_nodes=3, lanes_per_direction=2))
    road = map_from_dict(build_pdms_map(network))
    lane = network.road_lanes()[0].name  # e.g. h0_0:f0
    on_route = set(road.with_route([lane]).on_route_lanes())
    segment, direction = lane.split(":")[0], lane.split(":")[1][0]
    assert on_route == {f"{segment}:{direction}0", f"{segment}:{direction}1"}
