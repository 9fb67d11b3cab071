"""Pieces every head shares: an MLP and the reference-point refinement."""

from __future__ import annotations

import torch
from torch import nn

from onedrive.model.initial_values import PriorLinear
from onedrive.model.position_3d import inverse_sigmoid


def mlp(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_features)
    )


def classifier(hidden: int, num_classes: int, prior: float = 0.01) -> nn.Sequential:
    """MLP whose last bias starts at the focal-loss prior (every class has probability ``prior``)."""
    head = mlp(hidden, hidden, num_classes)
    head[-1] = PriorLinear(hidden, num_classes, prior)
    return head


def refine(reference: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Move normalised reference points by a delta in logit space → points in [0, 1] (same shape)."""
    return (inverse_sigmoid(reference) + delta).sigmoid()
