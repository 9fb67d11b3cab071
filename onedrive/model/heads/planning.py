"""Planning head: multi-modal trajectories per driving command, from the planning tokens.

The planning tokens are ``[ego | modes of command 0 | modes of command 1 | …]``. Each
mode query, joined with the ego token's state and the ego status, gives ``T`` waypoint
increments (cumulated into waypoints, metres; heading in radians when ``plan_dims`` is 3)
and a mode score. Only the given command's modes count. With ``plan_anchor`` =
``constant_velocity`` each increment is a correction to the ego's current velocity
``(vx, vy)`` (ego status, m/s) times ``plan_step_seconds``, so the head starts near the
constant-velocity baseline instead of at the origin; a heading increment (``plan_dims`` 3)
is not anchored. With ``use_ego_status`` False the head sees zeros in place of the ego
status (and the configuration refuses the anchor).
Loss (winner takes all, as VAD's planning head): L1 on the valid steps of the mode
closest to the ground truth, plus a mode-score loss; averaged over samples. The mode
score's target is that mode (``plan_mode_target`` = ``winner``) or, with ``soft``, the
distribution ``softmax(−L1_m / plan_mode_temperature)`` over the modes' errors; both are
cross-entropies, so the logged ``plan_cls`` has one scale (with ``soft`` its floor is the
target's entropy, which shrinks as the modes spread apart). A one-hot target flips whenever
another mode becomes the nearest, so its loss can rise while every mode improves; the soft
target moves smoothly with the errors. The head runs on every task layer; the planning
loss is the mean over those layers (deep supervision).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.common import mlp


@dataclass
class PlanningOutput:
    """trajectories (B, M, T, D) of the given command's modes; mode_logits (B, M)."""

    trajectories: torch.Tensor
    mode_logits: torch.Tensor

    def best(self) -> torch.Tensor:
        """The highest-scoring mode's trajectory → (B, T, D)."""
        index = self.mode_logits.argmax(dim=1)[:, None, None, None]  # (B, 1, 1, 1)
        return self.trajectories.gather(1, index.expand(-1, -1, *self.trajectories.shape[2:])).squeeze(1)


class PlanningHead(nn.Module):
    def __init__(self, hidden: int, task: OneDriveTaskConfig):
        super().__init__()
        self.task = task
        self.decoder = mlp(2 * hidden + task.ego_status_dim, hidden, task.plan_steps * task.plan_dims + 1)

    def forward(
        self,
        plan_states: torch.Tensor,
        ego_status: torch.Tensor,
        command: torch.Tensor,
        ego_history: torch.Tensor | None = None,
    ) -> PlanningOutput:
        """plan_states (B, 1 + C·M, H); ego_status (B, E); command (B,) → the command's M modes. ``ego_history``
        is read by the official planning head only (the same call serves both heads)."""
        task = self.task
        batch = plan_states.shape[0]
        modes = plan_states[:, 1:].view(batch, task.num_commands, task.num_plan_modes, -1)  # (B, C, M, H)
        modes = modes[torch.arange(batch), command]  # (B, M, H)
        ego = plan_states[:, :1].expand(-1, task.num_plan_modes, -1)  # (B, M, H)
        if not task.use_ego_status:
            ego_status = torch.zeros_like(ego_status)  # planning without the ego status
        status = ego_status.to(modes)[:, None, :].expand(-1, task.num_plan_modes, -1)  # (B, M, E)
        decoded = self.decoder(torch.cat([modes, ego, status], dim=-1))  # (B, M, T·D + 1)
        steps = decoded[..., :-1].view(batch, task.num_plan_modes, task.plan_steps, task.plan_dims)
        if task.plan_anchor == "constant_velocity":
            steps = steps + self.constant_velocity_step(ego_status.to(steps))[:, None, None, :]
        return PlanningOutput(steps.cumsum(dim=2), decoded[..., -1])

    def constant_velocity_step(self, ego_status: torch.Tensor) -> torch.Tensor:
        """ego_status (B, E) → one step at the current velocity (B, D): (vx, vy)·Δt, heading 0."""
        step = ego_status[:, :2] * self.task.plan_step_seconds  # (B, 2) metres
        return F.pad(step, (0, self.task.plan_dims - 2))  # (B, D)

    def loss(self, output: PlanningOutput, trajectory: torch.Tensor, mask: torch.Tensor) -> dict:
        """trajectory (B, T, D), mask (B, T) → {"plan_l1", "plan_cls"} averaged over samples."""
        per_mode = self.mode_errors(output, trajectory, mask)  # (B, M)
        mode_errors = per_mode.detach()  # (B, M), the mode-score targets
        best = mode_errors.argmin(dim=1)  # (B,)
        has_future = mask.any(dim=1).to(per_mode)  # (B,)
        l1 = per_mode[torch.arange(len(best)), best]
        classification = self.mode_score_loss(output.mode_logits, mode_errors, best) * has_future
        return {
            "plan_l1": self.task.plan_weight * l1.mean(),
            "plan_cls": self.task.plan_cls_weight * classification.mean(),
        }

    def mode_errors(self, output: PlanningOutput, trajectory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """trajectory (B, T, D), mask (B, T) → each mode's mean L1 error over the valid steps (B, M), metres."""
        valid = mask.to(output.trajectories)[:, None, :, None]  # (B, 1, T, 1)
        errors = (output.trajectories - trajectory.to(output.trajectories)[:, None]).abs() * valid  # (B, M, T, D)
        counts = valid.sum(dim=(1, 2, 3)).clamp(min=1) * self.task.plan_dims  # (B,)
        return errors.sum(dim=(2, 3)) / counts[:, None]

    def mode_score_loss(self, logits: torch.Tensor, errors: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
        """logits (B, M), per-mode L1 errors (B, M), nearest mode (B,) → cross-entropy per sample (B,)."""
        if self.task.plan_mode_target == "winner":
            target = best  # (B,) class indices
        else:
            target = self.soft_mode_target(errors)
        return F.cross_entropy(logits, target, reduction="none")

    def soft_mode_target(self, errors: torch.Tensor) -> torch.Tensor:
        """Per-mode L1 errors (B, M) → the ``soft`` mode-score target (B, M), probabilities."""
        return F.softmax(-errors / self.task.plan_mode_temperature, dim=1)

    def mode_target_entropy(self, output: PlanningOutput, trajectory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The part of ``plan_cls`` no parameter's gradient can lower: the ``soft`` target's entropy, weighted
        and averaged over samples as ``plan_cls`` is (the rest is the KL divergence of the scores from it) → ()."""
        if self.task.plan_mode_target != "soft":
            raise ValueError(f"the mode-score target is {self.task.plan_mode_target!r}: only 'soft' has an entropy")
        target = self.soft_mode_target(self.mode_errors(output, trajectory, mask).detach())  # (B, M)
        entropy = -(target * target.clamp(min=torch.finfo(target.dtype).tiny).log()).sum(dim=1)  # (B,)
        return self.task.plan_cls_weight * (entropy * mask.any(dim=1).to(entropy)).mean()
