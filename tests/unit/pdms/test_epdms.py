"""NAVSIM v2's extended score on the hand-built straight road (conftest): DDC, TLC, LK, HC, EC, the human filter
and the aggregation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from onedrive.evaluation.pdms.comfort import is_comfortable
from onedrive.evaluation.pdms.epdms import score_scene_epdms, score_tokens_epdms, token_epdms
from onedrive.evaluation.pdms.extended import driving_direction_compliance, lane_keeping, traffic_light_compliance
from onedrive.evaluation.pdms.extended_comfort import comfort_checks_v2, history_comfort, two_frame_comfort
from onedrive.evaluation.pdms.map import map_from_dict
from onedrive.evaluation.pdms.reference import Path
from onedrive.evaluation.pdms.runner import score_scene
from onedrive.evaluation.pdms.scene import EPDMSInputs
from onedrive.evaluation.pdms.tracker import AX, HEADING, STATE_SIZE, VX, YAW_RATE, X, Y

SPEED = 10.0
ROADBLOCKS = {"r0a": "fwd", "r0b": "fwd", "r1": "fwd", "o0": "onc"}


@pytest.fixture
def grouped_road(pdms):
    """The conftest road with nuPlan roadblocks: r0a, r0b and r1 share one, the oncoming o0 has its own."""
    data = pdms.road_dict()
    for lane in data["lanes"]:
        lane["roadblock"] = ROADBLOCKS[lane["id"]]
    return map_from_dict(data)


def _inputs(human: np.ndarray, red_lights=((),) * 9, log="log", time=0.0) -> EPDMSInputs:
    history = np.array([[20.0 - SPEED * t, 0.0, 0.0, SPEED, 0.0, 0.0, 0.0] for t in (1.5, 1.0, 0.5)])
    return EPDMSInputs(log, time, history, human, tuple(tuple(frame) for frame in red_lights))


def _scene(pdms, road, red_lights=((),) * 9, token="tok", time=0.0):
    scene = pdms.make_scene(road, SPEED, token=token)
    return replace(scene, extended=_inputs(pdms.straight_poses(SPEED), red_lights, time=time))


def _line(y: float, speed: float, x0: float = 20.0) -> np.ndarray:
    """(1, 41, 2) box centres moving along +x at ``speed`` on the line ``y``."""
    x = x0 + speed * np.arange(41) * 0.1
    return np.stack([x, np.full_like(x, y)], axis=-1)[None]


def test_on_route_lanes_are_every_lane_of_the_route_roadblocks(pdms, grouped_road):
    assert grouped_road.on_route_lanes() == ("r0a", "r0b", "r1")
    assert map_from_dict(pdms.road_dict()).on_route_lanes() == ("r0a", "r0b")  # no roadblock: a lane is its own


def test_driving_direction_counts_metres_driven_against_traffic_over_one_second(pdms, grouped_road):
    in_lane_beside = driving_direction_compliance(_line(3.5, 10.0), grouped_road)  # r1: same roadblock
    assert in_lane_beside.tolist() == [1.0]
    # oncoming lane: 1 m, 0.3 m and 0.1 m per 0.1 s → 10 m, 3 m and 1 m over the 1 s window
    scores = [driving_direction_compliance(_line(7.0, speed), grouped_road)[0] for speed in (10.0, 3.0, 1.0)]
    assert scores == [0.0, 0.5, 1.0]
    assert driving_direction_compliance(_line(7.0, 10.0, x0=255.0)[:, :4], grouped_road).tolist() == [1.0]  # junction


def test_lane_keeping_fails_after_two_seconds_off_the_centerline_outside_intersections(pdms, grouped_road):
    centerline = Path(grouped_road.route_path()).linestring
    assert lane_keeping(_line(0.3, 5.0), grouped_road, centerline).tolist() == [1.0]
    assert lane_keeping(_line(1.0, 5.0), grouped_road, centerline).tolist() == [0.0]
    short = _line(1.0, 5.0)
    short[0, 19:, 1] = 0.0  # 19 states off, then back
    assert lane_keeping(short, grouped_road, centerline).tolist() == [1.0]
    assert lane_keeping(_line(1.0, 5.0, x0=252.0), grouped_road, centerline).tolist() == [1.0]  # in the junction


def test_traffic_light_compliance_only_on_red_on_route_connectors_touched(pdms, grouped_road):
    ego = pdms.make_scene(grouped_road, SPEED)
    agent_drifts_into_r1 = pdms.straight_poses(SPEED, lateral=3.5)
    red_on_r1 = [["r1"]] * 9
    scene = replace(ego, extended=_inputs(pdms.straight_poses(SPEED), red_on_r1))
    scores, _ = score_scene_epdms(scene, agent_drifts_into_r1)
    assert scores["TLC"] == 0.0  # the human stayed in r0a: no filter
    scores, _ = score_scene_epdms(scene, pdms.straight_poses(SPEED))
    assert scores["TLC"] == 1.0
    off_route = replace(ego, extended=_inputs(pdms.straight_poses(SPEED), [["o0"]] * 9))
    assert score_scene_epdms(off_route, pdms.straight_poses(SPEED, lateral=7.0))[0]["TLC"] == 1.0
    off_map = replace(ego, extended=_inputs(pdms.straight_poses(SPEED), [["not_in_the_map"]] * 9))
    assert score_scene_epdms(off_map, agent_drifts_into_r1)[0]["TLC"] == 1.0  # NAVSIM ignores it too
    corners = np.zeros((1, 41, 4, 2))
    later = [np.array([], dtype=object)] * 4 + [grouped_road.geometry.lane_polygons["r0a"]] * 5
    later = [np.asarray(frame, dtype=object).reshape(-1) for frame in later]
    corners[0, :, :, 0] = 20.0 + np.array([-1.0, 1.0, 1.0, -1.0])
    corners[0, :, :, 1] = np.array([-1.0, -1.0, 1.0, 1.0])
    assert traffic_light_compliance(corners, later).tolist() == [0.0]  # red from frame 4 (2 s) on
    assert traffic_light_compliance(corners[:, :20], later).tolist() == [1.0]  # gone before it turns red


def test_human_filter_forgives_a_rule_the_human_broke_too(pdms, grouped_road):
    ego = pdms.make_scene(grouped_road, SPEED)
    red_where_ego_stands = [["r0a"]] * 9  # both start inside a red on-route lane
    scene = replace(ego, extended=_inputs(pdms.straight_poses(SPEED), red_where_ego_stands))
    scores, _ = score_scene_epdms(scene, pdms.straight_poses(SPEED, lateral=3.5))
    assert scores["TLC"] == 1.0 and scores["human_filtered"] == 1.0
    into_oncoming = pdms.straight_poses(SPEED, lateral=12.0)  # the tracked centre enters o0 after ~3 s
    human_straight = replace(ego, extended=_inputs(pdms.straight_poses(SPEED)))
    assert score_scene_epdms(human_straight, into_oncoming)[0]["DDC"] < 1.0
    human_swerves = replace(ego, extended=_inputs(into_oncoming))
    scores, _ = score_scene_epdms(human_swerves, into_oncoming)
    assert scores["DDC"] == 1.0 and scores["DAC"] == 1.0  # both broken by the human too


def test_ttc_looks_ahead_only_from_states_whose_look_ahead_ends_by_four_seconds(pdms, grouped_road):
    """A stopped car 51 m ahead: the ego's front reaches 62 m at 3.8 s, 71 m projected 0.9 s on (v1: TTC 0); by
    3.1 s, the last state v2 projects from, it reaches only 64 m."""
    parked = pdms.vehicle_track("car", pdms.EGO_X + 51.0, 0.0, 0.0)
    scene = replace(pdms.make_scene(grouped_road, SPEED, objects=[parked]), extended=_inputs(np.zeros((8, 3))))
    plan = pdms.straight_poses(SPEED)
    assert score_scene(scene, plan)["TTC"] == 0.0
    assert score_scene_epdms(scene, plan)[0]["TTC"] == 1.0


def _states(speed: float, accel: float = 0.0, yaw_rate: float = 0.0, steps: int = 41) -> np.ndarray:
    """(1, steps, 11) states of a unicycle at ``speed`` + ``accel`` t, turning at ``yaw_rate``."""
    t = np.arange(steps) * 0.1
    states = np.zeros((1, steps, STATE_SIZE))
    states[0, :, VX] = speed + accel * t
    states[0, :, AX] = accel
    states[0, :, HEADING] = yaw_rate * t
    states[0, :, X] = 20.0 + speed * t + 0.5 * accel * t**2
    states[0, :, Y] = 0.0
    return states


def test_history_comfort_reads_the_logged_past_before_the_plan(pdms, grouped_road):
    ego = pdms.make_scene(grouped_road, SPEED).ego
    calm = _inputs(pdms.straight_poses(SPEED)).history
    assert history_comfort(_states(SPEED), calm, ego).tolist() == [1.0]
    swerving = calm.copy()
    swerving[1, 2] = 0.4  # heading 0.4 rad one second ago, 0 half a second before and after
    assert history_comfort(_states(SPEED), swerving, ego).tolist() == [0.0]


def test_history_comfort_takes_the_longitudinal_acceleration_at_the_box_centre_as_navsim_v2():
    """1.5 m/s² at the rear axle while turning at 0.9 rad/s is 1.5 + 1.461 · 0.81 = 2.68 m/s² at the centre (> 2.40);
    v1's comfort (rear axle) accepts it."""
    turning = _states(SPEED, accel=1.5, yaw_rate=0.9)
    turning[..., YAW_RATE] = 0.9
    assert is_comfortable(turning, 0.1).tolist() == [True]
    assert comfort_checks_v2(turning, 0.1)["lon_acceleration"].tolist() == [False]
    turning[..., YAW_RATE] = 0.0
    assert comfort_checks_v2(turning, 0.1)["lon_acceleration"].tolist() == [True]


def test_two_frame_comfort_compares_the_overlap_of_consecutive_plans():
    steady = _states(SPEED)[0]
    assert two_frame_comfort(steady, steady, 0.5) == 1.0
    assert two_frame_comfort(steady, _states(SPEED, yaw_rate=0.3)[0], 0.5) == 0.0  # yaw rate differs by 0.3 rad/s
    assert two_frame_comfort(steady, _states(SPEED, accel=-1.5)[0], 0.5) == 0.0  # |a| differs by 1.5 m/s²
    with pytest.raises(ValueError, match="gap"):
        two_frame_comfort(steady, steady, 1.0)


def test_epdms_weights_and_multipliers():
    scores = {"NC": 1.0, "DAC": 1.0, "DDC": 0.5, "TLC": 1.0, "EP": 0.8, "TTC": 1.0, "LK": 0.0, "HC": 1.0}
    assert token_epdms(scores) == pytest.approx(0.5 * (5 * 0.8 + 5 + 0 + 2) / 14)
    assert token_epdms({**scores, "EC": 0.0}) == pytest.approx(0.5 * (5 * 0.8 + 5 + 0 + 2 + 0) / 16)


def test_split_pairs_consecutive_tokens_of_a_log_for_extended_comfort(pdms, grouped_road):
    scenes = [
        _scene(pdms, grouped_road, token="a0", time=10.0),
        _scene(pdms, grouped_road, token="a1", time=10.5),
        _scene(pdms, grouped_road, token="a3", time=11.5),  # 1 s after a1: no pair
    ]
    plans = {scene.token: pdms.straight_poses(SPEED) for scene in scenes}
    per_token, summary = score_tokens_epdms(scenes, plans)
    assert "EC" not in per_token["a0"] and "EC" in per_token["a1"] and "EC" not in per_token["a3"]
    assert summary["navsim/EPDMS_num_EC_tokens"] == 1
    assert summary["navsim/EPDMS"] == pytest.approx(np.mean([s["EPDMS"] for s in per_token.values()]))
    assert "navsim/EPDMS_TLC" not in summary and summary["navsim/EPDMS_num_red_light_tokens"] == 0
    with pytest.raises(ValueError, match="no EPDMS inputs"):
        score_tokens_epdms([pdms.make_scene(grouped_road, SPEED)], {"tok": pdms.straight_poses(SPEED)})
