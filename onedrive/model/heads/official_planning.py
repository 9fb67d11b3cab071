"""Planning head (the official release's design): one waypoint and one mode score per planning token.

The planning states are ``[ego | (command, mode, timestep) tokens]`` (``model/plan_queries.py``).
Each token's state plus the ego token's state gives its waypoint (``plan_dims`` values: metres,
heading in radians) and a score; a mode's score is the mean of its timesteps' scores. Only the
given command's modes count. With ``plan_anchor`` = ``constant_velocity`` the waypoint at step
``t`` is a correction to holding the current velocity ``(vx, vy)`` for ``t + 1`` steps. The ego
token's state also predicts the ego token's own input (command, status, history: the ego-status
auxiliary task).
Loss (the official release's, with its weights as defaults): the chosen mode is the predicted
mode nearest the ground truth (mean Euclidean distance over the valid steps); ``plan_l1`` the
mean L1 of that mode on the valid steps; ``plan_cls`` a sigmoid focal loss on the mode scores
with that mode as the positive, averaged over the modes; ``plan_status`` the mean L1 of the
ego-input prediction; each averaged over samples. Samples without a future add no mode loss.
The head runs on every task layer; the planning losses are summed over those layers (deep supervision).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.common import mlp
from onedrive.model.matching import sigmoid_focal_loss
from onedrive.model.plan_queries import ego_input_dim, ego_token_input


@dataclass
class PlanningOutput:
    """trajectories (B, M, T, D), mode_logits (B, M) of the given command's modes; status (B, K) the ego token's
    prediction of its input ego_input (B, K)."""

    trajectories: torch.Tensor
    mode_logits: torch.Tensor
    status: torch.Tensor
    ego_input: torch.Tensor

    def best(self) -> torch.Tensor:
        """The highest-scoring mode's trajectory → (B, T, D)."""
        index = self.mode_logits.argmax(dim=1)[:, None, None, None]  # (B, 1, 1, 1)
        return self.trajectories.gather(1, index.expand(-1, -1, *self.trajectories.shape[2:])).squeeze(1)


class OfficialPlanningHead(nn.Module):
    def __init__(self, hidden: int, task: OneDriveTaskConfig):
        super().__init__()
        self.task = task
        self.waypoint = mlp(hidden, hidden, task.plan_dims)
        self.score = mlp(hidden, hidden, 1)
        self.status = mlp(hidden, hidden, ego_input_dim(task))

    def forward(
        self, plan_states: torch.Tensor, ego_status: torch.Tensor, command: torch.Tensor, ego_history: torch.Tensor
    ) -> PlanningOutput:
        """plan_states (B, 1 + C·M·T, H); ego_status (B, E); command (B,); ego_history (B, 2, 10)."""
        task = self.task
        batch = plan_states.shape[0]
        ego = plan_states[:, :1]  # (B, 1, H)
        tokens = plan_states[:, 1:].view(batch, task.num_commands, task.num_plan_modes, task.plan_steps, -1)
        tokens = tokens[torch.arange(batch), command] + ego[:, :, None]  # (B, M, T, H)
        waypoints = self.waypoint(tokens)  # (B, M, T, D)
        if task.plan_anchor == "constant_velocity":
            steps = torch.arange(1, task.plan_steps + 1, device=waypoints.device, dtype=waypoints.dtype)  # (T,)
            velocity = ego_status[:, :2].to(waypoints) * task.plan_step_seconds  # (B, 2) metres per step
            path = steps[None, :, None] * velocity[:, None, :]  # (B, T, 2)
            waypoints = waypoints + nn.functional.pad(path, (0, task.plan_dims - 2))[:, None]
        mode_logits = self.score(tokens).squeeze(-1).mean(dim=-1)  # (B, M)
        status = self.status(ego[:, 0])  # (B, K)
        ego_input = ego_token_input(task, ego_status, command, ego_history).to(status)
        return PlanningOutput(waypoints, mode_logits, status, ego_input)

    def loss(self, output: PlanningOutput, trajectory: torch.Tensor, mask: torch.Tensor) -> dict:
        """trajectory (B, T, D), mask (B, T) → {"plan_l1", "plan_cls", "plan_status"} averaged over samples."""
        task = self.task
        predicted = output.trajectories  # (B, M, T, D)
        valid = mask.to(predicted)  # (B, T)
        steps = valid.sum(dim=1).clamp(min=1)  # (B,)
        offsets = predicted - trajectory.to(predicted)[:, None]  # (B, M, T, D)
        distance = (offsets.detach().norm(dim=-1) * valid[:, None]).sum(dim=2) / steps[:, None]  # (B, M) metres
        chosen = distance.argmin(dim=1)  # (B,)
        rows = torch.arange(len(chosen), device=chosen.device)
        l1 = (offsets[rows, chosen].abs() * valid[..., None]).sum(dim=(1, 2)) / (steps * task.plan_dims)  # (B,)
        has_future = mask.any(dim=1).to(predicted)  # (B,)
        target = nn.functional.one_hot(chosen, task.num_plan_modes).to(output.mode_logits)  # (B, M)
        focal = sigmoid_focal_loss(output.mode_logits, target, task.focal_alpha, task.focal_gamma).mean(dim=1)
        status = (output.status - output.ego_input).abs().mean(dim=1)  # (B,)
        return {
            "plan_l1": task.plan_weight * l1.mean(),
            "plan_cls": task.plan_cls_weight * (focal * has_future).mean(),
            "plan_status": task.plan_status_weight * status.mean(),
        }
