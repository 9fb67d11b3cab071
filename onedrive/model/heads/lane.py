"""Lane head: a lane score and ``P`` 3D centerline points per lane query.

Points are the query's reference points moved in logit space, in metres (ego frame),
ordered along travel like the targets. Loss: Hungarian matching (focal cost + L1 on
the points), focal classification over all queries and L1 on matched points, each
normalised by the sample's number of lanes and averaged over samples (release
settings: focal weight 1.5, L1 weight 0.02).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.common import classifier, mlp, refine
from onedrive.model.matching import focal_cost, hungarian_match, sigmoid_focal_loss
from onedrive.model.position_3d import denormalise_points


@dataclass
class LaneOutput:
    """logits (B, N, 1); points (B, N, P, 3) in metres."""

    logits: torch.Tensor
    points: torch.Tensor


@dataclass
class Lanes:
    """Top-scoring lanes of one sample: points (K, P, 3), scores (K,)."""

    points: torch.Tensor
    scores: torch.Tensor


class LaneHead(nn.Module):
    def __init__(self, hidden: int, task: OneDriveTaskConfig):
        super().__init__()
        self.task = task
        self.classifier = classifier(hidden, 1)
        self.regressor = mlp(hidden, hidden, task.lane_points * 3)

    def forward(self, states: torch.Tensor, reference: torch.Tensor) -> LaneOutput:
        """states (B, N, H); reference (N, P, 3) in [0, 1]."""
        batch, count, _ = states.shape
        delta = self.regressor(states).view(batch, count, self.task.lane_points, 3)  # (B, N, P, 3)
        points = denormalise_points(refine(reference.to(delta), delta), self.task.position_range)
        return LaneOutput(self.classifier(states), points)

    def loss(self, output: LaneOutput, lanes: list[torch.Tensor]) -> dict:
        """→ {"lane_cls", "lane_points"}, averaged over samples."""
        task = self.task
        cls_losses, point_losses = [], []
        for logits, points, gt_lanes in zip(output.logits, output.points, lanes):
            targets = torch.zeros_like(logits)  # (N, 1)
            normaliser = max(1, len(gt_lanes))
            if len(gt_lanes):
                gt = gt_lanes.to(points).flatten(1)  # (M, P·3)
                predicted = points.flatten(1)  # (N, P·3)
                l1 = torch.cdist(predicted, gt, p=1)  # (N, M)
                labels = torch.zeros(len(gt), dtype=torch.long, device=logits.device)
                cost = task.lane_cls_weight * focal_cost(logits, labels, task.focal_alpha, task.focal_gamma)
                rows, cols = hungarian_match(cost + task.lane_points_weight * l1)
                targets[rows] = 1.0
                point_losses.append((predicted[rows] - gt[cols]).abs().sum() / normaliser)
            else:
                point_losses.append(points.sum() * 0.0)
            focal = sigmoid_focal_loss(logits, targets, task.focal_alpha, task.focal_gamma)
            cls_losses.append(focal.sum() / normaliser)
        return {
            "lane_cls": task.lane_cls_weight * torch.stack(cls_losses).mean(),
            "lane_points": task.lane_points_weight * torch.stack(point_losses).mean(),
        }

    def top_lanes(self, output: LaneOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """Top ``max_lanes`` lanes by sigmoid score, batched → points (B, K, P, 3), scores (B, K) descending."""
        scores = output.logits[..., 0].sigmoid()  # (B, N)
        top_scores, top_index = scores.topk(min(self.task.max_lanes, scores.shape[1]), dim=1)  # (B, K)
        points = output.points.gather(1, top_index[..., None, None].expand(-1, -1, *output.points.shape[2:]))
        return points, top_scores

    def decode(self, output: LaneOutput) -> list[Lanes]:
        """``top_lanes`` per sample."""
        return [Lanes(*sample) for sample in zip(*self.top_lanes(output))]
