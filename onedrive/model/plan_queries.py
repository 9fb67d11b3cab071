"""The planning queries (the official release's design): one ego token, then one token per (command, mode, timestep).

* Ego token: an MLP of ``ego_token_input``: the driving command (one-hot), the current ego
  status and the two previous key frames' ``ego_history`` (status, pose in the current ego
  frame, validity; ``onedrive.schema.EGO_HISTORY_FIELDS``), all from the past.
* Planning tokens, ``num_commands × num_plan_modes × plan_steps`` in that order: the
  embedding of their mode's anchor (``plan_mode_anchors``: k-means of the training split's
  futures per command, kept in the config; Fourier features of the anchor's end point
  ``x, y`` through an MLP) plus a learned embedding of their timestep.
With ``use_ego_status`` False the status and the history are zeros (the command stays). A model
cannot be built without anchors: the task config accepts None, ``OfficialPlanQueries`` refuses it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveConfig, OneDriveTaskConfig
from onedrive.schema import EGO_HISTORY_FIELDS, EGO_HISTORY_FRAMES

ANCHOR_FREQUENCIES = 16  # per coordinate; wavelengths from 1 m to 200 m, geometric


def ego_input_dim(task: OneDriveTaskConfig) -> int:
    """Width of ``ego_token_input``: command one-hot, ego status, flattened history."""
    return task.num_commands + task.ego_status_dim + EGO_HISTORY_FRAMES * len(EGO_HISTORY_FIELDS)


def ego_token_input(
    task: OneDriveTaskConfig, ego_status: torch.Tensor, command: torch.Tensor, ego_history: torch.Tensor
) -> torch.Tensor:
    """ego_status (B, E), command (B,), ego_history (B, 2, 10) → the ego token's input (B, C + E + 20), float32."""
    status, history = ego_status.float(), ego_history.float().flatten(1)  # (B, E), (B, 20)
    if not task.use_ego_status:  # planning without the ego status: its inputs are zeros, the command stays
        status, history = torch.zeros_like(status), torch.zeros_like(history)
    return torch.cat([F.one_hot(command.long(), task.num_commands).float(), status, history], dim=1)


def mode_anchors(task: OneDriveTaskConfig, like: torch.Tensor) -> torch.Tensor:
    """The config's ``plan_mode_anchors`` as a tensor (C, M, T, D), metres, on ``like``'s device, float32."""
    return torch.tensor(task.plan_mode_anchors, dtype=torch.float32, device=like.device)


def anchor_features(end_points: torch.Tensor) -> torch.Tensor:
    """(..., 2) end points in metres → (..., 4·ANCHOR_FREQUENCIES) sines and cosines."""
    wavelengths = torch.logspace(0, math.log10(200.0), ANCHOR_FREQUENCIES, device=end_points.device)  # (F,) metres
    angles = end_points[..., None] * (2 * math.pi / wavelengths)  # (..., 2, F)
    return torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)  # (..., 4F)


class OfficialPlanQueries(nn.Module):
    """Embeddings of the ``1 + C·M·T`` planning tokens of a batch."""

    def __init__(self, config: OneDriveConfig):
        super().__init__()
        task = config.task_config
        if task.plan_mode_anchors is None:
            shape = (task.num_commands, task.num_plan_modes, task.plan_steps, task.plan_dims)
            raise InputError(
                f"the planning queries need task_config.plan_mode_anchors {shape} (commands, modes, steps, dims; "
                "metres), got None: the converter (tools/create_data.py) writes them into each info file's "
                "metadata and the training build copies the training split's; a model built by hand needs them given"
            )
        hidden = config.text_config.hidden_size
        self.task = task
        self.ego_encoder = nn.Sequential(nn.Linear(ego_input_dim(task), hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.anchor_encoder = nn.Sequential(
            nn.Linear(4 * ANCHOR_FREQUENCIES, hidden), nn.ReLU(), nn.Linear(hidden, hidden)
        )
        self.timestep_embed = nn.Embedding(task.plan_steps, hidden)

    def forward(self, ego_status: torch.Tensor, command: torch.Tensor, ego_history: torch.Tensor) -> torch.Tensor:
        """ego_status (B, E), command (B,), ego_history (B, 2, 10) → (B, 1 + C·M·T, H)."""
        task, batch = self.task, ego_status.shape[0]
        dtype = self.timestep_embed.weight.dtype
        ego = self.ego_encoder(ego_token_input(task, ego_status, command, ego_history).to(dtype))[:, None]  # (B, 1, H)
        anchors = mode_anchors(task, ego_status)  # (C, M, T, D)
        modes = self.anchor_encoder(anchor_features(anchors[..., -1, :2]).to(dtype))  # (C, M, H)
        tokens = modes[:, :, None, :] + self.timestep_embed.weight[None, None]  # (C, M, T, H)
        return torch.cat([ego, tokens.flatten(0, 2).expand(batch, -1, -1)], dim=1)
