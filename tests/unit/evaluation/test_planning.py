"""Planning metrics on hand-built info records with analytically known answers."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.evaluation import benchmark_planning
from onedrive.evaluation.planning import (
    EGO_CENTRE_OFFSET,
    PlanningGroundTruth,
    collision_headings,
    planning_metrics,
)

STRAIGHT = np.array([[2.5 * (t + 1), 0.0] for t in range(6)])  # (6, 2) 5 m/s along x


def score(records, pred):
    return planning_metrics(np.asarray(pred, dtype=float), PlanningGroundTruth.from_infos(records))


def test_ground_truth_as_prediction_is_perfect(infos):
    records = [infos.make(f"s{i}") for i in range(3)]
    infos.add_agent(records[0], "car", STRAIGHT + [0.0, 4.0])  # beside the ego lane
    infos.add_agent(records[1], "truck", np.tile([30.0, -3.0], (6, 1)), size=(8.0, 2.5))
    gt = np.stack([np.asarray(r["ego_fut_traj"]) for r in records])
    metrics = score(records, gt)
    for key, value in metrics.items():
        if key.startswith("plan/") and "num_" not in key:
            assert value == 0.0, key
    assert metrics["plan/num_samples"] == 3 and metrics["plan/num_skipped"] == 0


def test_l2_of_a_growing_offset_in_both_conventions(infos):
    records = [infos.make("s0"), infos.make("s1")]
    steps = np.arange(1, 7)
    pred = STRAIGHT + np.stack([np.zeros(6), 0.1 * steps], axis=-1)  # error 0.1·t m at step t
    metrics = score(records, [pred, pred])
    # ST-P3: mean of 0.1·t over t = 1..2k → 0.1·(2k + 1)/2.
    assert metrics["plan/l2_1s"] == pytest.approx(0.15)
    assert metrics["plan/l2_2s"] == pytest.approx(0.25)
    assert metrics["plan/l2_3s"] == pytest.approx(0.35)
    assert metrics["plan/l2_avg"] == pytest.approx(0.25)
    # UniAD: the error at step 2k.
    assert metrics["plan/uniad/l2_1s"] == pytest.approx(0.2)
    assert metrics["plan/uniad/l2_2s"] == pytest.approx(0.4)
    assert metrics["plan/uniad/l2_3s"] == pytest.approx(0.6)
    assert metrics["plan/uniad/l2_avg"] == pytest.approx(0.4)


def swerving_prediction():
    """The prediction runs along y = 5 while the GT stays on y = 0."""
    return STRAIGHT + [0.0, 5.0]


@pytest.mark.parametrize(
    "step, stp3, uniad",
    [
        (3, (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)),  # 1.5 s: inside the 2 s and 3 s windows, at no 1/2/3 s step
        (4, (0.0, 1.0, 1.0), (0.0, 1.0, 0.0)),  # 2 s exactly
        (2, (1.0, 1.0, 1.0), (1.0, 0.0, 0.0)),
    ],
)
def test_obstacle_on_the_path_at_one_step(step, stp3, uniad, infos):
    record = infos.make("s0")
    pred = swerving_prediction()
    obstacle = np.tile([100.0, 100.0], (6, 1))
    obstacle[step - 1] = pred[step - 1] + [EGO_CENTRE_OFFSET, 0.0]  # exactly on the ego box at that step
    mask = [int(t == step - 1) for t in range(6)]
    infos.add_agent(record, "car", obstacle, mask=mask)
    metrics = score([record, infos.make("free")], [pred, STRAIGHT])  # second sample never collides
    for k, (want_stp3, want_uniad) in enumerate(zip(stp3, uniad), start=1):
        assert metrics[f"plan/collision_{k}s"] == pytest.approx(want_stp3 / 2)
        assert metrics[f"plan/uniad/collision_{k}s"] == pytest.approx(want_uniad / 2)
    assert metrics["plan/collision_avg"] == pytest.approx(np.mean(stp3) / 2)


def test_non_vehicle_obstacles_and_missing_future_steps_are_ignored(infos):
    record = infos.make("s0")
    pred = swerving_prediction()
    infos.add_agent(record, "pedestrian", pred + [EGO_CENTRE_OFFSET, 0.0], size=(0.7, 0.7))
    infos.add_agent(record, "traffic_cone", pred + [EGO_CENTRE_OFFSET, 0.0], size=(0.4, 0.4))
    infos.add_agent(record, "car", pred + [EGO_CENTRE_OFFSET, 0.0], mask=[0] * 6)  # never observed
    metrics = score([record], [pred])
    assert metrics["plan/collision_3s"] == 0.0


def test_an_emergency_vehicle_is_an_obstacle(infos):
    record = infos.make("s0")
    pred = swerving_prediction()
    infos.add_agent(record, "ambulance", pred + [EGO_CENTRE_OFFSET, 0.0], mask=[0, 0, 0, 0, 1, 0])
    assert record["gt_names"] == []  # no detection class
    metrics = score([record], [pred])
    assert (metrics["plan/collision_2s"], metrics["plan/collision_3s"]) == (0.0, 1.0)


def test_steps_where_the_ground_truth_collides_are_not_counted(infos):
    record = infos.make("s0")
    obstacle = np.tile([100.0, 100.0], (6, 1))
    obstacle[1] = STRAIGHT[1] + [EGO_CENTRE_OFFSET, 0.0]  # on the GT path at step 2
    infos.add_agent(record, "car", obstacle, mask=[0, 1, 0, 0, 0, 0])
    pred = STRAIGHT + [0.0, 0.5]  # also hits it at step 2
    metrics = score([record], [pred])
    assert metrics["plan/collision_3s"] == 0.0 and metrics["plan/uniad/collision_1s"] == 0.0


def test_ego_box_is_rotated_with_the_heading(infos):
    """Heading along +y puts the 4.084 m box along y: an obstacle 2.5 m to the side along x is missed."""
    record = infos.make("s0")
    pred = np.array([[0.0, 2.5 * (t + 1)] for t in range(6)])  # driving left
    centre = pred[2] + [0.0, EGO_CENTRE_OFFSET]  # box centre at step 3
    infos.add_agent(record, "car", np.tile(centre + [2.5, 0.0], (6, 1)), size=(2.0, 2.0), mask=[0, 0, 1, 0, 0, 0])
    assert score([record], [pred])["plan/collision_3s"] == 0.0
    infos.add_agent(record, "car", np.tile(centre + [0.0, 2.5], (6, 1)), size=(2.0, 2.0), mask=[0, 0, 1, 0, 0, 0])
    assert score([record], [pred])["plan/collision_3s"] == 1.0


def test_heading_is_zero_for_steps_under_one_metre():
    traj = np.array([[[0.0, 0.5], [0.0, 2.0], [0.0, 2.5], [1.5, 2.5], [1.5, 2.5], [1.5, 0.0]]])
    np.testing.assert_allclose(collision_headings(traj)[0], [0.0, np.pi / 2, 0.0, 0.0, 0.0, -np.pi / 2])


def test_boundary_counts_only_leaving_a_drivable_start(infos):
    on_road = infos.make("on")  # road |y| <= 10
    leaving = np.array(STRAIGHT)
    leaving[4:, 1] = 15.0  # steps 5 and 6 off the road
    grazing = STRAIGHT + [0.0, 9.5]  # centre inside, box edge at 9.5 + 0.925 > 10
    started_off = infos.make("off", drivable_area=[{"exterior": [[20, 20], [40, 20], [40, 40], [20, 40]], "holes": []}])
    records = [on_road, infos.make("grazing"), started_off, infos.make("stays")]
    metrics = score(records, [leaving, grazing, leaving, STRAIGHT])
    # leaving: only in the 3 s window; grazing: from step 1 on; started_off: never counted.
    assert metrics["plan/boundary_1s"] == pytest.approx(1 / 4)
    assert metrics["plan/boundary_2s"] == pytest.approx(1 / 4)
    assert metrics["plan/boundary_3s"] == pytest.approx(2 / 4)
    assert metrics["plan/boundary_avg"] == pytest.approx((1 + 1 + 2) / 12)


def test_boundary_respects_holes(infos):
    hole = [[5, -1], [15, -1], [15, 1], [5, 1]]
    record = infos.make(
        "hole", drivable_area=[{"exterior": [[-50, -10], [50, -10], [50, 10], [-50, 10]], "holes": [hole]}]
    )
    assert score([record], [STRAIGHT])["plan/boundary_1s"] == 1.0


def test_samples_without_a_full_future_are_skipped_and_counted(infos):
    short = infos.make("short", fut_valid=False, ego_fut_mask=[1, 1, 1, 0, 0, 0])
    metrics = score([infos.make("full"), short], [STRAIGHT, STRAIGHT + 100.0])
    assert metrics["plan/num_samples"] == 1 and metrics["plan/num_skipped"] == 1
    assert metrics["plan/l2_3s"] == 0.0
    with pytest.raises(ValueError, match="none of the 1 samples has a valid 6-step future"):
        score([short], [STRAIGHT])


def test_bad_inputs_raise_with_the_reason(infos):
    records = [infos.make("s0"), infos.make("s1")]
    with pytest.raises(ValueError, match=r"shape \(1, 6, 2\), expected \(2, 6, 2\)"):
        score(records, [STRAIGHT])
    with pytest.raises(ValueError, match=r"NaN/inf, e.g. \['s1'\]"):
        score(records, [STRAIGHT, np.full((6, 2), np.nan)])
    with pytest.raises(ValueError, match="s0: obstacle_fut_traj has shape"):
        infos.add_agent(records[0], "car", STRAIGHT)
        records[0]["obstacle_fut_traj"] = [[[0.0, 0.0]] * 5]
        PlanningGroundTruth.from_infos(records)
    with pytest.raises(ValueError, match="s1: no 'obstacle_\\*' keys .* re-run tools/create_data.py"):
        del records[1]["obstacle_categories"]
        PlanningGroundTruth.from_infos(records[1:])
    with pytest.raises(ValueError, match="fut_valid is True but ego_fut_mask"):
        PlanningGroundTruth.from_infos([infos.make("s2", ego_fut_mask=[1, 1, 1, 1, 1, 0])])


def test_benchmark_function_runs():
    result = benchmark_planning(num_samples=100, num_agents=30)
    assert result["num_samples"] == 100 and result["seconds"] > 0
    assert 0.0 <= result["plan/collision_avg"] <= 1.0
