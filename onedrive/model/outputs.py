"""Typed outputs of ``OneDriveForDriving``."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers.utils import ModelOutput

from onedrive.model.heads.detection import DetectionOutput, Detections
from onedrive.model.heads.lane import LaneOutput, Lanes
from onedrive.model.heads.official_planning import PlanningOutput
from onedrive.model.memory import QueryMemory


@dataclass
class OneDriveOutput(ModelOutput):
    """What ``forward`` returns.

    loss:     weighted sum of ``losses`` (when any target was given).
    losses:   {"text", "det_cls", "det_box", "lane_cls", "lane_points", "plan_l1", "plan_cls", "plan_status"} — each
              already multiplied by its task weight; only the families whose targets were given.
    logits:   (B, L', V) LM logits over the expanded sequence; only when no labels were given
              (with labels, logits are computed on answer positions only).
    detection / lanes / planning: {task layer: raw head output} for every task layer (with driving inputs;
              deep supervision: each family's losses are summed over these layers).
    memory:   the temporal-memory state after this batch (``task_config.memory_size > 0`` and driving inputs),
              to pass to the next call; ``None`` without a memory.
    """

    loss: torch.Tensor | None = None
    losses: dict[str, torch.Tensor] | None = None
    logits: torch.Tensor | None = None
    detection: dict[int, DetectionOutput] | None = None
    lanes: dict[int, LaneOutput] | None = None
    planning: dict[int, PlanningOutput] | None = None
    memory: QueryMemory | None = None


@dataclass
class DrivePrediction:
    """Decoded structured outputs of one prefill.

    Every field is read at the last task layer.
    detections: B × ``Detections`` (boxes (K, 9), scores, labels), ego frame.
    lanes:      B × ``Lanes`` (points (K, P, 3), scores).
    trajectory: (B, T, D) best mode of the given command.
    trajectory_modes: ``PlanningOutput`` of that layer (all modes of the given command).
    memory:     the temporal-memory state after this batch (``None`` without a memory).
    """

    detections: list[Detections] = field(default_factory=list)
    lanes: list[Lanes] = field(default_factory=list)
    trajectory: torch.Tensor | None = None
    trajectory_modes: PlanningOutput | None = None
    memory: QueryMemory | None = None


@dataclass
class DriveGenerateOutput:
    """sequences (B, N_new) generated token ids (padded with ``pad_token_id`` after EOS);
    prediction: structured outputs decoded from the same prefill (with driving inputs)."""

    sequences: torch.Tensor
    prediction: DrivePrediction | None
