"""Hand-built scenarios with known sub-scores (end to end through score_scene, or the scorer on given states)."""

import numpy as np
import pytest
import shapely

from onedrive.evaluation.pdms.observation import log_observation
from onedrive.evaluation.pdms.reference import Path, reference_poses
from onedrive.evaluation.pdms.runner import score_scene
from onedrive.evaluation.pdms.scene import PACIFICA
from onedrive.evaluation.pdms.scorer import PDMScorer, ego_boxes
from onedrive.evaluation.pdms.tracker import AX, STATE_SIZE, VX, BatchTracker, X, initial_state
from onedrive.evaluation.pdms.trajectory import agent_states_10hz


def test_free_road_constant_speed(road, pdms):
    result = score_scene(pdms.make_scene(road, 8.0), pdms.straight_poses(8.0))
    assert (result["NC"], result["DAC"], result["TTC"], result["C"]) == (1.0, 1.0, 1.0, 1.0)
    assert 0.0 < result["EP"] <= 1.0


def test_head_on_collision_is_at_fault(road, pdms):
    oncoming = pdms.vehicle_track("oncoming", pdms.EGO_X + 40.0, 0.0, -8.0)
    result = score_scene(pdms.make_scene(road, 8.0, [oncoming]), pdms.straight_poses(8.0))
    assert result["NC"] == 0.0 and result["PDMS"] == 0.0


def test_hitting_a_static_object_gives_half(road, pdms):
    cone = pdms.vehicle_track("cone", pdms.EGO_X + 25.0, 0.0, 0.0, cls="static", size=(0.5, 0.5))
    result = score_scene(pdms.make_scene(road, 8.0, [cone]), pdms.straight_poses(8.0))
    assert result["NC"] == 0.5


def test_rear_ended_by_faster_vehicle_is_not_at_fault(road, pdms):
    chaser = pdms.vehicle_track("chaser", pdms.EGO_X - 10.0, 0.0, 12.0)
    scene = pdms.make_scene(road, 5.0, [chaser])
    poses = pdms.straight_poses(5.0)
    states = BatchTracker(PACIFICA).simulate(agent_states_10hz(scene.ego, poses)[None], initial_state(scene.ego))
    corners, _ = ego_boxes(states, PACIFICA)
    observation = log_observation(scene)
    contact = shapely.intersects(shapely.polygons(corners[0]), observation.polygons[:41, 0])
    assert contact.any()  # the chaser does run into the ego
    result = score_scene(scene, poses)
    assert result["NC"] == 1.0 and result["DAC"] == 1.0


def test_leaving_the_road_fails_dac(road, pdms):
    assert score_scene(pdms.make_scene(road, 8.0), pdms.straight_poses(8.0, lateral=-5.0))["DAC"] == 0.0
    assert score_scene(pdms.make_scene(road, 8.0), pdms.straight_poses(8.0, lateral=1.0))["DAC"] == 1.0


def test_harsh_braking_breaks_comfort(road, pdms):
    assert score_scene(pdms.make_scene(road, 16.0), pdms.straight_poses(16.0, accel=-8.0))["C"] == 0.0
    assert score_scene(pdms.make_scene(road, 10.0), pdms.straight_poses(10.0))["C"] == 1.0


def test_standing_still_makes_no_progress(road, pdms):
    result = score_scene(pdms.make_scene(road, 0.0), np.zeros((8, 3)))
    assert result["reference_progress"] > 5.0
    assert result["progress"] == pytest.approx(0.0, abs=1e-6)
    assert result["EP"] == 0.0 and result["NC"] == 1.0


def test_reference_proposal_gets_full_progress(road, pdms):
    scene = pdms.make_scene(road, 6.0)
    centerline = Path(road.route_path())
    tracker = BatchTracker(PACIFICA)
    reference = reference_poses(scene, centerline, tracker)  # (41, 3)
    states = tracker.simulate(np.stack([reference, reference]), initial_state(scene.ego))
    scores = PDMScorer(PACIFICA, road, centerline.linestring).score(states, log_observation(scene))
    np.testing.assert_array_equal(scores.ep, [1.0, 1.0])
    assert scores.progress[0] > 5.0

    # the same poses given as the agent's 8 poses (every 0.5 s, in the ego frame)
    knots = reference[5::5]
    offset = knots[:, :2] - [scene.ego.x, scene.ego.y]  # ego heading is 0 here
    result = score_scene(scene, np.column_stack([offset, knots[:, 2]]))
    assert result["EP"] == pytest.approx(1.0, abs=0.02)


def _braking_states(start_x: float, speed: float, decel: float) -> np.ndarray:
    """(1, 41, 11) states along +x from ``start_x`` braking at ``decel`` until standing."""
    t = np.arange(41) * 0.1
    moving = np.minimum(t, speed / decel)
    states = np.zeros((1, 41, STATE_SIZE))
    states[0, :, X] = start_x + speed * moving - 0.5 * decel * moving**2
    states[0, :, VX] = speed - decel * moving
    states[0, :, AX] = np.where(t < speed / decel, -decel, 0.0)
    return states


def test_ttc_closing_on_stopped_car(road, pdms):
    states = _braking_states(pdms.EGO_X, 5.0, 2.5)  # stops after 5 m
    front = pdms.EGO_X + PACIFICA.front_length
    stopped = pdms.vehicle_track("stopped", front + 5.5 + 2.25, 0.0, 0.0)  # rear 5.5 m ahead of the ego's front
    scorer = PDMScorer(PACIFICA, road, Path(road.route_path()).linestring)
    close = scorer.score(states, log_observation(pdms.make_scene(road, 5.0, [stopped])))
    assert close.ttc[0] == 0.0 and close.nc[0] == 1.0  # no contact, but within 0.9 s at constant speed
    free = scorer.score(states, log_observation(pdms.make_scene(road, 5.0)))
    assert free.ttc[0] == 1.0
