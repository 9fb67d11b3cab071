"""Lane metrics: perfect predictions, known offsets, and parity of the batched Fréchet distance."""

from __future__ import annotations

import numpy as np
import pytest

from onedrive.evaluation.lane import discrete_frechet, lane_metrics, openlane_distance_matrix


def straight_lane(y: float, x0: float = -20.0, x1: float = 30.0, points: int = 11) -> np.ndarray:
    x = np.linspace(x0, x1, points)
    return np.column_stack([x, np.full(points, y), np.zeros(points)])  # (P, 3)


def curved_lane(radius: float, points: int = 11) -> np.ndarray:
    angle = np.linspace(0, np.pi / 2, points)
    return np.column_stack([radius * np.sin(angle), radius * (1 - np.cos(angle)), np.zeros(points)])


def scene():
    """Three samples with 3, 2 and 0 GT lanes."""
    return [
        np.stack([straight_lane(-3.5), straight_lane(0.0), straight_lane(3.5)]),
        np.stack([curved_lane(15.0), straight_lane(7.0, 0.0, 40.0)]),
        np.zeros((0, 11, 3)),
    ]


def test_ground_truth_as_prediction_scores_one():
    gts = scene()
    preds = [list(g) for g in gts]
    scores = [np.linspace(1.0, 0.5, len(g)) for g in gts]
    metrics = lane_metrics(gts, preds, scores)
    assert metrics["lane/DET_l"] == pytest.approx(1.0)
    assert metrics["lane/chamfer_AP"] == pytest.approx(1.0)
    assert metrics["lane/F1"] == pytest.approx(1.0)
    assert metrics["lane/num_gt"] == 5 and metrics["lane/num_pred"] == 5


def test_lateral_offset_passes_only_the_larger_thresholds():
    gts = [np.stack([straight_lane(0.0, 5.0, 45.0)])]
    # 1.2 m to the side: Fréchet 1.2 m × relaxation (1 − 0.005 · 5 m) = 1.17 m; Chamfer 1.2 m.
    preds = [[straight_lane(1.2, 5.0, 45.0)]]
    metrics = lane_metrics(gts, preds, [np.ones(1)])
    assert metrics["lane/DET_l@1m"] == 0.0
    assert metrics["lane/DET_l@2m"] == pytest.approx(1.0) and metrics["lane/DET_l@3m"] == pytest.approx(1.0)
    assert metrics["lane/DET_l"] == pytest.approx(2 / 3)
    assert metrics["lane/chamfer_AP@0.5m"] == 0.0 and metrics["lane/chamfer_AP@1m"] == 0.0
    assert metrics["lane/chamfer_AP@1.5m"] == pytest.approx(1.0)
    assert metrics["lane/F1"] == pytest.approx(1.0)  # every point within 1.5 m


def test_false_positive_and_duplicate_lower_precision():
    gts = [np.stack([straight_lane(0.0)])]
    preds = [[straight_lane(0.3), straight_lane(0.0), straight_lane(20.0)]]
    metrics = lane_metrics(gts, preds, [np.array([0.5, 0.9, 0.1])])
    # Score order: exact copy (TP), duplicate (FP, its nearest GT is taken), far lane (FP).
    # 11-point AP: precision 1 at every recall level → 1; area AP likewise 1.
    assert metrics["lane/DET_l"] == pytest.approx(1.0)
    assert metrics["lane/chamfer_AP"] == pytest.approx(1.0)
    reversed_scores = lane_metrics(gts, preds, [np.array([0.9, 0.5, 0.95])])
    # Far lane first (FP), then the 0.3 m lane (TP at every threshold) → precision 1/2 at recall 1.
    assert reversed_scores["lane/DET_l"] == pytest.approx(0.5)
    assert reversed_scores["lane/chamfer_AP"] == pytest.approx(0.5)


def test_no_prediction_scores_zero_and_no_gt_anywhere_follows_the_references():
    gts = scene()
    empty = lane_metrics(gts, [[] for _ in gts], [np.zeros(0) for _ in gts])
    assert empty["lane/DET_l"] == 0.0 and empty["lane/chamfer_AP"] == 0.0 and empty["lane/F1"] == 0.0
    nothing = lane_metrics([np.zeros((0, 11, 3))], [[]], [np.zeros(0)])
    assert nothing["lane/DET_l"] == 1.0  # OpenLane-V2: no GT and no prediction → AP 1
    assert nothing["lane/chamfer_AP"] == 0.0  # MapTR: no class with GT → mAP 0


def test_batched_frechet_matches_similaritymeasures():
    similaritymeasures = pytest.importorskip("similaritymeasures")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 11, 3)).cumsum(axis=1)
    b = rng.normal(size=(20, 7, 3)).cumsum(axis=1)
    ours = discrete_frechet(a, b)
    reference = [similaritymeasures.frechet_dist(x, y, p=2) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


def test_distance_matrix_applies_relaxation_and_chamfer_filter():
    gt = [straight_lane(0.0, 100.0, 140.0)]  # 100 m away: relaxation max(0.5, 1 − 0.5) = 0.5
    near = straight_lane(2.0, 100.0, 140.0)  # Chamfer 2 m · 0.5 = 1 m < 3 m
    far = straight_lane(8.0, 100.0, 140.0)  # Chamfer 8 · 0.5 = 4 m → filtered
    matrix = openlane_distance_matrix(gt, [near, far])
    assert matrix[0, 0] == pytest.approx(1.0)
    assert matrix[0, 1] == 1024.0


def test_det_l_counts_recall_in_float32_as_openlane_v2():
    """3 of 10 GT lanes found: recall 3/10 is 0.29999999999999999 in float64, under the 11-point threshold
    np.arange(0, 1.001, 0.1)[3] = 0.30000000000000004, but 0.30000001 in OpenLane-V2's float32 counts, which
    pass it: AP = 4/11 (thresholds 0, 0.1, 0.2, 0.3 at precision 1), not 3/11."""
    gts = [np.stack([straight_lane(4.0 * k, 5.0, 45.0) for k in range(10)])]
    preds = [[straight_lane(4.0 * k, 5.0, 45.0) for k in range(3)]]
    metrics = lane_metrics(gts, preds, [np.array([0.9, 0.8, 0.7])])
    assert metrics["lane/DET_l@1m"] == pytest.approx(4 / 11)
    assert metrics["lane/DET_l"] == pytest.approx(4 / 11)
