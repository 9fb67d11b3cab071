"""plan_anchor = constant_velocity: the planning head predicts corrections to holding the current velocity."""

import torch
from model_helpers import load_onedrive, make_batch
from plan_query_helpers import with_anchors

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.official_planning import OfficialPlanningHead


def planning_heads(**task):
    """Two planning heads with the same weights, without and with the anchor."""
    torch.manual_seed(0)
    plain = OfficialPlanningHead(16, OneDriveTaskConfig(**with_anchors(num_plan_modes=2, **task)))
    anchored = OfficialPlanningHead(
        16, OneDriveTaskConfig(**with_anchors(num_plan_modes=2, plan_anchor="constant_velocity", **task))
    )
    anchored.load_state_dict(plain.state_dict())
    return plain, anchored


def test_anchor_adds_the_constant_velocity_path_to_every_mode():
    plain, anchored = planning_heads(plan_step_seconds=0.5)
    states = torch.randn(3, 1 + 3 * 2 * 6, 16)  # (B, 1 + C·M·T, H)
    ego_status = torch.tensor([[4.0, 0.5, 0, 0, 0, 4.0], [-1.0, 2.0, 0, 0, 0, 2.2], [0.0, 0.0, 1, 1, 1, 0.0]])
    command, history = torch.tensor([0, 2, 1]), torch.zeros(3, 2, 10)
    without, with_anchor = plain(states, ego_status, command, history), anchored(states, ego_status, command, history)
    times = 0.5 * torch.arange(1, 7.0)  # (T,) seconds
    path = times[None, :, None] * ego_status[:, None, :2]  # (B, T, 2)
    torch.testing.assert_close(with_anchor.trajectories, without.trajectories + path[:, None])
    torch.testing.assert_close(with_anchor.mode_logits, without.mode_logits)


def test_anchor_leaves_the_heading_alone():
    plain, anchored = planning_heads(plan_steps=8, plan_dims=3, plan_step_seconds=0.25)
    states, ego_status, command = torch.randn(2, 1 + 3 * 2 * 8, 16), torch.randn(2, 6), torch.tensor([1, 0])
    history = torch.zeros(2, 2, 10)
    without, with_anchor = plain(states, ego_status, command, history), anchored(states, ego_status, command, history)
    times = 0.25 * torch.arange(1, 9.0)  # (T,)
    torch.testing.assert_close(with_anchor.trajectories[..., 2], without.trajectories[..., 2])
    torch.testing.assert_close(
        with_anchor.trajectories[..., :2],
        without.trajectories[..., :2] + (times[:, None] * ego_status[:, None, :2])[:, None],
    )


def test_model_with_a_silent_waypoint_layer_plans_constant_velocity(internvl_dir):
    """Through the whole model: the ego status of each sample reaches the anchor, on every task layer."""
    model = load_onedrive(internvl_dir, plan_anchor="constant_velocity")
    output_layer = model.plan_head.waypoint[-1]
    with torch.no_grad():
        output_layer.weight.zero_()
        output_layer.bias.zero_()
        batch = make_batch()
        output = model(**batch)
    times = 0.5 * torch.arange(1, 7.0)  # (T,)
    expected = (times[None, :, None] * batch.ego_status[:, None, :2])[:, None].expand(-1, 2, -1, -1)  # (B, M, T, 2)
    assert len(output.planning) == model.config.text_config.num_hidden_layers
    for planning in output.planning.values():
        torch.testing.assert_close(planning.trajectories, expected)


def test_planning_without_ego_status_ignores_it(internvl_dir):
    """use_ego_status=False: the whole model's plans do not depend on the ego status (True: they do)."""
    batch = make_batch()
    other = make_batch()
    other.ego_status = other.ego_status + torch.tensor([3.0, -1.0, 0.5, 0.2, 0.1, 2.0])
    for use, same in ((False, True), (True, False)):
        model = load_onedrive(internvl_dir, use_ego_status=use)
        with torch.no_grad():
            first, second = model(**batch).planning, model(**other).planning
        for index in first:
            equal = torch.equal(first[index].trajectories, second[index].trajectories)
            assert equal == same and torch.equal(first[index].mode_logits, second[index].mode_logits) == same
