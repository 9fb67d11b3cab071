"""The planning head's decode on a hand-made case: the given command's modes, the best-scoring one of them."""

import torch

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.planning import PlanningHead

HIDDEN = 6  # a mode state is (dx1, dy1, dx2, dy2, score, 0)


def pass_through_head() -> PlanningHead:
    """A head whose MLP maps a mode state to its increments and its score unchanged (the ego token and the
    ego status get zero weights; every hand-made value is positive, so the ReLUs let it through)."""
    task = OneDriveTaskConfig(num_commands=3, num_plan_modes=2, plan_steps=2, plan_dims=2, ego_status_dim=6)
    head = PlanningHead(HIDDEN, task)
    first, second, last = head.decoder[0], head.decoder[2], head.decoder[4]
    with torch.no_grad():
        for layer in (first, second, last):
            layer.weight.zero_()
            layer.bias.zero_()
        first.weight[:, :HIDDEN] = torch.eye(HIDDEN)  # reads the mode query only
        second.weight.copy_(torch.eye(HIDDEN))
        last.weight[:, :5] = torch.eye(5)  # (dx1, dy1, dx2, dy2, score)
    return head


def test_decode_takes_the_best_mode_of_the_given_command():
    ego = [0.0] * HIDDEN
    modes = [
        [3.0, 3.0, 3.0, 3.0, 5.0, 0.0],
        [3.0, 3.0, 3.0, 3.0, 0.1, 0.0],  # command 0: the best score overall
        [1.0, 0.0, 1.0, 0.0, 0.2, 0.0],
        [1.0, 1.0, 0.0, 1.0, 0.9, 0.0],  # command 1
        [0.5, 0.0, 0.5, 0.0, 4.0, 0.0],
        [2.0, 0.0, 2.0, 0.0, 1.0, 0.0],  # command 2
    ]
    plan_states = torch.tensor([ego, *modes]).expand(2, -1, -1)  # (B, 1 + C·M, H)
    command = torch.tensor([1, 2])
    output = pass_through_head()(plan_states, torch.zeros(2, 6), command)

    # Sample 0 (command 1): modes [(1, 0), (2, 0)] scoring 0.2 and [(1, 1), (1, 2)] scoring 0.9.
    # Sample 1 (command 2): modes [(0.5, 0), (1, 0)] scoring 4 and [(2, 0), (4, 0)] scoring 1.
    expected_modes = torch.tensor(
        [
            [[[1.0, 0.0], [2.0, 0.0]], [[1.0, 1.0], [1.0, 2.0]]],
            [[[0.5, 0.0], [1.0, 0.0]], [[2.0, 0.0], [4.0, 0.0]]],
        ]
    )  # (B, M, T, D)
    torch.testing.assert_close(output.trajectories, expected_modes, rtol=0, atol=1e-6)
    torch.testing.assert_close(output.mode_logits, torch.tensor([[0.2, 0.9], [4.0, 1.0]]), rtol=0, atol=1e-6)
    torch.testing.assert_close(
        output.best(), torch.tensor([[[1.0, 1.0], [1.0, 2.0]], [[0.5, 0.0], [1.0, 0.0]]]), rtol=0, atol=1e-6
    )
