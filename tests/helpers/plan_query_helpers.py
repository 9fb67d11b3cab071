"""Task settings and batch parts for models with plan_queries = official (tests)."""

from __future__ import annotations

import numpy as np
import torch


def anchors(commands=3, modes=2, steps=6, dims=2) -> list:
    """(C, M, T, D) straight anchors: mode m of command c ends at (10 (m + 1), 3 (c − 1)) metres."""
    end = np.array([[[10.0 * (m + 1), 3.0 * (c - 1)] for m in range(modes)] for c in range(commands)])  # (C, M, 2)
    path = np.linspace(1 / steps, 1, steps)[None, None, :, None] * end[:, :, None, :]  # (C, M, T, 2)
    return np.concatenate([path, np.zeros((commands, modes, steps, dims - 2))], axis=-1).tolist()


def official(**task) -> dict:
    """Task overrides for the official planning queries with hand-made anchors (2 modes unless given)."""
    task = {"num_plan_modes": 2, **task}
    shape = (3, task["num_plan_modes"], task.get("plan_steps", 6), task.get("plan_dims", 2))
    return {"plan_queries": "official", "plan_mode_anchors": anchors(*shape), **task}


def with_history(batch, seed=1):
    """The batch with a random ego_history (B, 2, 10)."""
    generator = torch.Generator().manual_seed(seed)
    batch.ego_history = torch.randn(len(batch.input_ids), 2, 10, generator=generator)
    return batch
