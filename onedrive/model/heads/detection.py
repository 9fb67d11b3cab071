"""3D detection head: class scores and boxes relative to the queries' reference points.

Box code (10 values): ``[x, y, z, log l, log w, log h, sin yaw, cos yaw, vx, vy]`` in the
ego frame (metres, m/s). Centres are the reference point moved in logit space.
Loss: Hungarian matching (focal cost + L1 cost on the first ``MATCH_CODE_DIMS`` values of
the weighted code: position, size and heading, not velocity, as the reference assigners
of DETR3D / PETR / StreamPETR do: one frame cannot tell speed, and a velocity term would
pair queries with boxes by a guess), then focal classification over all queries and
weighted L1 on matched boxes (all 10 values), each normalised by the sample's number of
boxes and averaged over samples (StreamPETR's settings: focal α 0.25, γ 2, weight 2.0;
L1 weight 0.25; code weights from the config).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.heads.common import classifier, mlp, refine
from onedrive.model.matching import focal_cost, hungarian_match, sigmoid_focal_loss
from onedrive.model.position_3d import denormalise_points

MATCH_CODE_DIMS = 8  # x, y, z, log l, log w, log h, sin yaw, cos yaw: the matching cost leaves velocity out


@dataclass
class DetectionOutput:
    """logits (B, N, C); codes (B, N, 10) box codes in metres."""

    logits: torch.Tensor
    codes: torch.Tensor


@dataclass
class Detections:
    """Top-scoring boxes of one sample: boxes (K, 9) ``[x, y, z, l, w, h, yaw, vx, vy]``, scores (K,), labels (K,)."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def encode_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """(N, 9) ``[x, y, z, l, w, h, yaw, vx, vy]`` → (N, 10) box code."""
    x, y, z, length, width, height, yaw, vx, vy = boxes.unbind(-1)
    sizes = torch.stack([length, width, height], dim=-1).clamp(min=1e-3).log()
    return torch.cat([torch.stack([x, y, z], -1), sizes, torch.stack([yaw.sin(), yaw.cos(), vx, vy], -1)], dim=-1)


def decode_boxes(codes: torch.Tensor) -> torch.Tensor:
    """(..., 10) box code → (..., 9) boxes."""
    yaw = torch.atan2(codes[..., 6], codes[..., 7])
    return torch.cat([codes[..., :3], codes[..., 3:6].exp(), yaw[..., None], codes[..., 8:10]], dim=-1)


class DetectionHead(nn.Module):
    def __init__(self, hidden: int, task: OneDriveTaskConfig):
        super().__init__()
        self.task = task
        self.classifier = classifier(hidden, len(task.det_classes))
        self.regressor = mlp(hidden, hidden, 10)

    def forward(self, states: torch.Tensor, reference: torch.Tensor) -> DetectionOutput:
        """states (B, N, H) final hidden states of the det queries; reference (N, 3) in [0, 1]."""
        delta = self.regressor(states)  # (B, N, 10)
        centres = denormalise_points(refine(reference.to(delta), delta[..., :3]), self.task.position_range)
        return DetectionOutput(self.classifier(states), torch.cat([centres, delta[..., 3:]], dim=-1))

    def loss(self, output: DetectionOutput, boxes: list[torch.Tensor], labels: list[torch.Tensor]) -> dict:
        """Per-sample Hungarian-matched focal + L1, averaged over samples → {"det_cls", "det_box"}."""
        task = self.task
        code_weights = output.codes.new_tensor(task.box_code_weights)
        cls_losses, box_losses = [], []
        for logits, codes, gt_boxes, gt_labels in zip(output.logits, output.codes, boxes, labels):
            targets = torch.zeros_like(logits)  # (N, C)
            normaliser = max(1, len(gt_boxes))
            if len(gt_boxes):
                gt_codes = encode_boxes(gt_boxes.to(codes))  # (M, 10)
                rows, cols = self.match(logits, codes, gt_codes, gt_labels)
                targets[rows, gt_labels[cols]] = 1.0
                box_losses.append(((codes[rows] - gt_codes[cols]).abs() * code_weights).sum() / normaliser)
            else:
                box_losses.append(codes.sum() * 0.0)
            focal = sigmoid_focal_loss(logits, targets, task.focal_alpha, task.focal_gamma)
            cls_losses.append(focal.sum() / normaliser)
        return {
            "det_cls": task.det_cls_weight * torch.stack(cls_losses).mean(),
            "det_box": task.det_box_weight * torch.stack(box_losses).mean(),
        }

    def match(self, logits: torch.Tensor, codes: torch.Tensor, gt_codes: torch.Tensor, gt_labels: torch.Tensor):
        """One sample's Hungarian matching: logits (N, C), codes (N, 10), gt_codes (M, 10), gt_labels (M,) →
        matched query rows and GT columns. The L1 cost reads the first ``MATCH_CODE_DIMS`` weighted values."""
        task = self.task
        code_weights = codes.new_tensor(task.box_code_weights)[:MATCH_CODE_DIMS]
        l1 = torch.cdist(codes[:, :MATCH_CODE_DIMS] * code_weights, gt_codes[:, :MATCH_CODE_DIMS] * code_weights, p=1)
        cost = task.det_cls_weight * focal_cost(logits, gt_labels, task.focal_alpha, task.focal_gamma)  # (N, M)
        return hungarian_match(cost + task.det_box_weight * l1)

    def top_boxes(self, output: DetectionOutput) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Top ``max_boxes`` (query, class) pairs by sigmoid score, batched → boxes (B, K, 9), scores (B, K)
        descending, labels (B, K)."""
        scores = output.logits.sigmoid().flatten(1)  # (B, N·C)
        num_classes = output.logits.shape[-1]
        top_scores, top_index = scores.topk(min(self.task.max_boxes, scores.shape[1]), dim=1)  # (B, K)
        query = top_index // num_classes
        codes = output.codes.gather(1, query[..., None].expand(-1, -1, output.codes.shape[-1]))  # (B, K, 10)
        return decode_boxes(codes), top_scores, top_index % num_classes

    def decode(self, output: DetectionOutput) -> list[Detections]:
        """``top_boxes`` per sample."""
        return [Detections(*sample) for sample in zip(*self.top_boxes(output))]
