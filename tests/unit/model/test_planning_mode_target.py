"""plan_mode_target: the mode score learns the nearest mode (winner) or a softmax over the modes' errors (soft)."""

import pytest
import torch
import torch.nn.functional as F

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.planning import PlanningHead, PlanningOutput


def head(**task):
    return PlanningHead(8, OneDriveTaskConfig(num_plan_modes=3, plan_cls_weight=1.0, **task))


def modes_at(offsets, logits):
    """One sample, 3 modes; mode m is the ground truth (all zeros) shifted by offsets[m] metres in x."""
    trajectories = torch.zeros(1, 3, 6, 2)
    trajectories[0, :, :, 0] = torch.tensor(offsets)[:, None]
    return PlanningOutput(trajectories, torch.tensor([logits], requires_grad=True))


def test_soft_target_is_the_softmax_of_the_negative_errors_over_the_temperature():
    # Mean L1 over (x, y) of mode m is offsets[m] / 2: errors (0.1, 0.5, 1.0) m.
    output = modes_at([0.2, 1.0, 2.0], [0.3, -0.2, 0.1])
    losses = head(plan_mode_target="soft", plan_mode_temperature=0.25).loss(
        output, torch.zeros(1, 6, 2), torch.ones(1, 6)
    )
    target = F.softmax(-torch.tensor([0.1, 0.5, 1.0]) / 0.25, dim=0)
    predicted = F.softmax(output.mode_logits.detach()[0], dim=0)
    expected = -(target * predicted.log()).sum()
    torch.testing.assert_close(losses["plan_cls"], expected)
    losses["plan_cls"].backward()
    torch.testing.assert_close(output.mode_logits.grad[0], predicted - target)


def test_soft_loss_is_the_target_entropy_when_the_scores_match_and_winner_is_the_one_hot_cross_entropy():
    errors = torch.tensor([0.1, 0.5, 1.0])
    matching = modes_at([0.2, 1.0, 2.0], (-errors / 0.5).tolist())
    soft = head(plan_mode_target="soft", plan_mode_temperature=0.5).loss(
        matching, torch.zeros(1, 6, 2), torch.ones(1, 6)
    )
    target = F.softmax(-errors / 0.5, dim=0)
    assert soft["plan_cls"].item() == pytest.approx(-(target * target.log()).sum().item(), abs=1e-6)
    soft["plan_cls"].backward()
    assert matching.mode_logits.grad.abs().max().item() < 1e-6  # the minimum: nothing left to learn
    output = modes_at([1.0, 0.2, 2.0], [0.3, -0.2, 0.1])
    winner = head().loss(output, torch.zeros(1, 6, 2), torch.ones(1, 6))
    torch.testing.assert_close(winner["plan_cls"], F.cross_entropy(output.mode_logits.detach(), torch.tensor([1])))


def test_a_sample_without_future_adds_no_mode_score_loss_for_either_target():
    for task in ({}, {"plan_mode_target": "soft"}):
        output = modes_at([0.2, 1.0, 2.0], [0.3, -0.2, 0.1])
        losses = head(**task).loss(output, torch.zeros(1, 6, 2), torch.zeros(1, 6))
        assert losses["plan_cls"].item() == 0.0


def test_soft_loss_splits_into_the_target_entropy_and_the_kl_divergence_of_the_scores():
    errors = torch.tensor([0.1, 0.5, 1.0])
    output = modes_at([0.2, 1.0, 2.0], [0.3, -0.2, 0.1])
    soft = head(plan_mode_target="soft", plan_mode_temperature=0.25)
    truth, mask = torch.zeros(1, 6, 2), torch.ones(1, 6)
    target = F.softmax(-errors / 0.25, dim=0)
    entropy = soft.mode_target_entropy(output, truth, mask)
    assert entropy.item() == pytest.approx(-(target * target.log()).sum().item(), abs=1e-6)
    kl = F.kl_div(F.log_softmax(output.mode_logits.detach(), dim=1), target[None], reduction="batchmean")
    assert (soft.loss(output, truth, mask)["plan_cls"] - entropy).item() == pytest.approx(kl.item(), abs=1e-6)
    assert kl.item() > 0.1
    assert soft.mode_target_entropy(output, truth, torch.zeros(1, 6)).item() == 0.0  # no future: no plan_cls
    with pytest.raises(ValueError, match="mode-score target is 'winner': only 'soft' has an entropy"):
        head().mode_target_entropy(output, truth, mask)
