"""The planning queries and head: 1 ego token + commands × modes × timesteps waypoint tokens, anchors from the
config."""

import numpy as np
import pytest
import torch
from model_helpers import load_onedrive, make_batch
from plan_query_helpers import anchors, with_anchors

from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.official_planning import OfficialPlanningHead, PlanningOutput
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.plan_queries import ego_input_dim
from onedrive.model.query_groups import query_groups


def test_token_counts_follow_commands_modes_and_steps():
    nuscenes = OneDriveTaskConfig(**with_anchors(num_plan_modes=6))
    assert nuscenes.num_plan_tokens == 1 + 3 * 6 * 6 == 109
    navsim = OneDriveTaskConfig(**with_anchors(num_plan_modes=6, plan_steps=8, plan_dims=3))
    assert navsim.num_plan_tokens == 1 + 3 * 6 * 8
    assert dict((g.name, g.count) for g in query_groups(navsim))["plan"] == 145


def test_config_refuses_anchors_of_another_shape():
    with pytest.raises(ValueError, match=r"must be \(3, 2, 6, 2\)"):
        OneDriveTaskConfig(num_plan_modes=2, plan_mode_anchors=anchors(3, 2, 5))


def test_a_model_without_anchors_is_refused(internvl_dir):
    """The task config accepts None (transformers builds default configs), the model does not."""
    assert OneDriveTaskConfig().plan_mode_anchors is None
    with pytest.raises(InputError, match=r"need task_config.plan_mode_anchors \(3, 2, 6, 2\).*tools/create_data.py"):
        load_onedrive(internvl_dir, plan_mode_anchors=None)


def pass_through_head() -> OfficialPlanningHead:
    """Hidden 4 = (x, y, score, 0): the waypoint MLP returns (x, y), the score MLP the score (inputs positive)."""
    task = OneDriveTaskConfig(**with_anchors(num_plan_modes=2, plan_steps=2))
    head = OfficialPlanningHead(4, task)
    with torch.no_grad():
        for mlp, rows in ((head.waypoint, [0, 1]), (head.score, [2])):
            for layer in mlp[0::2]:
                layer.weight.zero_()
                layer.bias.zero_()
            mlp[0].weight.copy_(torch.eye(4))
            mlp[2].weight.copy_(torch.eye(4))
            mlp[4].weight.copy_(torch.eye(4)[rows])
    return head


def test_decode_takes_the_best_mode_of_the_given_command():
    # Tokens (command, mode, step) → (x, y, score, 0); the ego token's state (zeros) is added to each.
    tokens = torch.zeros(3, 2, 2, 4)
    tokens[1, 0] = torch.tensor([[1.0, 0.0, 0.2, 0], [2.0, 0.0, 0.4, 0]])  # command 1, mode 0: score 0.3
    tokens[1, 1] = torch.tensor([[1.0, 1.0, 1.0, 0], [1.0, 2.0, 0.0, 0]])  # command 1, mode 1: score 0.5
    tokens[2, 0] = torch.tensor([[0.5, 0.0, 4.0, 0], [1.0, 0.0, 4.0, 0]])  # command 2, mode 0: score 4
    tokens[2, 1] = torch.tensor([[2.0, 0.0, 1.0, 0], [4.0, 0.0, 1.0, 0]])
    tokens[0, 1] = torch.tensor([[9.0, 9.0, 9.0, 0], [9.0, 9.0, 9.0, 0]])  # command 0: the best score overall
    plan_states = torch.cat([torch.zeros(1, 4), tokens.flatten(0, 2)])[None].expand(2, -1, -1)  # (B, 1 + 12, 4)
    output = pass_through_head()(plan_states, torch.zeros(2, 6), torch.tensor([1, 2]), torch.zeros(2, 2, 10))
    torch.testing.assert_close(output.mode_logits, torch.tensor([[0.3, 0.5], [4.0, 1.0]]))  # mean over the steps
    torch.testing.assert_close(output.trajectories, tokens[[1, 2], :, :, :2])  # (B, M, T, D)
    torch.testing.assert_close(output.best(), torch.tensor([[[1.0, 1.0], [1.0, 2.0]], [[0.5, 0.0], [1.0, 0.0]]]))


def test_loss_on_a_hand_made_case():
    task = OneDriveTaskConfig(num_plan_modes=2, plan_steps=2, plan_cls_weight=0.5, plan_status_weight=1.0)
    head = OfficialPlanningHead(4, task)
    modes = torch.tensor([[[[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [2.0, 1.0]]]])  # (1, M, T, D)
    logits = torch.tensor([[0.0, 0.0]])
    status, ego_input = torch.zeros(1, ego_input_dim(task)), torch.zeros(1, ego_input_dim(task))
    status[0, :2] = torch.tensor([1.0, -3.0])
    output = PlanningOutput(modes, logits, status, ego_input)
    truth = torch.tensor([[[1.0, 0.5], [2.0, 9.0]]])  # step 2 is not valid: mode 1 is the nearest on step 1
    losses = head.loss(output, truth, torch.tensor([[True, False]]))
    torch.testing.assert_close(losses["plan_l1"], torch.tensor(0.25))  # |0 − 0.5| / 2 dims on the valid step
    # Focal with p = 0.5 for both modes: α (1 − p)² log 2 for the positive, (1 − α) p² log 2 for the negative.
    focal = (0.25 * 0.25 + 0.75 * 0.25) * np.log(2) / 2
    torch.testing.assert_close(losses["plan_cls"], torch.tensor(0.5 * focal, dtype=torch.float32))
    torch.testing.assert_close(losses["plan_status"], torch.tensor(4.0 / ego_input_dim(task)))


def test_forward_deep_supervision_and_inputs(internvl_dir):
    model = load_onedrive(internvl_dir)
    assert model.config.task_config.num_plan_tokens == 1 + 3 * 2 * 6
    batch = make_batch()
    output = model(**batch)
    assert {"plan_l1", "plan_cls", "plan_status"} <= set(output.losses)
    assert len(output.planning) == len(model.config.task_layer_indices)  # every task layer
    output.loss.backward()
    assert model.queries.official_plan.timestep_embed.weight.grad.abs().sum() > 0
    prediction = model.predict(batch)
    assert prediction.trajectory.shape == (2, 6, 2)
    batch.ego_history = None
    with pytest.raises(InputError, match="ego_history"):
        model.predict(batch)


def test_the_ego_token_reads_the_history_unless_the_status_is_off(internvl_dir):
    batch = make_batch()
    moved = make_batch()
    moved.ego_history = moved.ego_history + 1.0
    for use_ego_status, changes in ((True, True), (False, False)):
        model = load_onedrive(internvl_dir, use_ego_status=use_ego_status)
        first, second = model.predict(batch).trajectory, model.predict(moved).trajectory
        assert (not torch.allclose(first, second)) == changes


def test_anchors_survive_save_and_load(internvl_dir, tmp_path):
    model = load_onedrive(internvl_dir)
    batch = make_batch()
    model.save_pretrained(tmp_path / "saved")
    loaded = OneDriveForDriving.from_pretrained(tmp_path / "saved").eval()
    assert loaded.config.task_config.plan_mode_anchors == anchors(3, 2)
    torch.testing.assert_close(loaded.predict(batch).trajectory, model.predict(batch).trajectory)
