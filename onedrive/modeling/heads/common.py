"""Pieces every head shares: an MLP and the reference-point refinement."""

from __future__ import annotations

import math

import torch
from torch import nn


def mlp(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_features))


def classifier(hidden: int, num_classes: int, prior: float = 0.01) -> nn.Sequential:
    """MLP whose last bias starts at the focal-loss prior (every class has probability ``prior``)."""
    head = mlp(hidden, hidden, num_classes)
    nn.init.constant_(head[-1].bias, -math.log((1 - prior) / prior))
    return head


def refine(reference: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Move normalised reference points by a delta in logit space → points in [0, 1] (same shape)."""
    reference = reference.clamp(1e-5, 1 - 1e-5)
    return (torch.log(reference / (1 - reference)) + delta).sigmoid()
