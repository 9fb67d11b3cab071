"""Hand-made planning mode anchors and ego histories for the tests' models and batches (the one place tests get
them: real runs take the anchors from the training split's info file, and no library default stands in)."""

from __future__ import annotations

import numpy as np
import torch

from onedrive.model.configuration_onedrive import OneDriveTaskConfig


def anchors(commands=3, modes=2, steps=6, dims=2) -> list:
    """(C, M, T, D) straight anchors: mode m of command c ends at (10 (m + 1), 3 (c − 1)) metres."""
    end = np.array([[[10.0 * (m + 1), 3.0 * (c - 1)] for m in range(modes)] for c in range(commands)])  # (C, M, 2)
    path = np.linspace(1 / steps, 1, steps)[None, None, :, None] * end[:, :, None, :]  # (C, M, T, 2)
    return np.concatenate([path, np.zeros((commands, modes, steps, dims - 2))], axis=-1).tolist()


def with_anchors(**task) -> dict:
    """Task settings plus hand-made ``plan_mode_anchors`` of their shape (the config's defaults for the sizes
    not given), unless they set anchors."""
    if "plan_mode_anchors" in task:
        return task
    shape = [task.get(key, getattr(OneDriveTaskConfig, key)) for key in ("num_commands", "num_plan_modes")]
    shape += [task.get(key, getattr(OneDriveTaskConfig, key)) for key in ("plan_steps", "plan_dims")]
    return {**task, "plan_mode_anchors": anchors(*shape)}


def history(batch_size: int, seed=1) -> torch.Tensor:
    """A random ego_history (B, 2, 10)."""
    return torch.randn(batch_size, 2, 10, generator=torch.Generator().manual_seed(seed))


def with_history(batch, seed=1):
    """The batch with a random ego_history (B, 2, 10)."""
    batch.ego_history = history(len(batch.input_ids), seed)
    return batch
