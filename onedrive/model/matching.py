"""Hungarian matching (scipy's ``linear_sum_assignment``) and the focal terms it and the losses use.

Costs follow DETR-style 3D detectors (PETR / StreamPETR's ``HungarianAssigner3D``):
a focal classification cost plus a weighted L1 regression cost.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Element-wise focal loss (Lin et al. 2017) on sigmoid logits; same shape as ``logits``."""
    probability = logits.sigmoid()
    cross_entropy = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = probability * targets + (1 - probability) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * (1 - p_t) ** gamma * cross_entropy


def focal_cost(logits: torch.Tensor, labels: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Classification cost of assigning each prediction to each target: logits (N, C), labels (M,) → (N, M)."""
    probability = logits.sigmoid()
    negative = (1 - alpha) * probability**gamma * -F.logsigmoid(-logits)
    positive = alpha * (1 - probability) ** gamma * -F.logsigmoid(logits)
    return (positive - negative)[:, labels]


def hungarian_match(cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimum-cost one-to-one assignment: cost (N, M) → prediction indices (K,), target indices (K,)."""
    if not torch.isfinite(cost).all():
        raise ValueError(f"matching cost holds non-finite values (shape {tuple(cost.shape)}): check predictions")
    rows, cols = linear_sum_assignment(cost.detach().float().cpu().numpy())
    device = cost.device
    return torch.as_tensor(rows, dtype=torch.long, device=device), torch.as_tensor(
        cols, dtype=torch.long, device=device
    )
