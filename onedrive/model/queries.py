"""Learned query tokens: detection anchors, lane anchors, planning tokens.

* Detection: ``num_det_queries`` content embeddings and 3D reference points in [0, 1]
  (normalised over ``position_range``). ``det_reference_init`` places them at start:
  ``uniform`` (PETR's uniformly random points) or ``sunflower`` (evenly spread: a spiral
  over the disc inscribed in the BEV square, the region nuScenes scores with its 30-50 m
  class ranges, 1 m above the ground). Random points leave gaps: with 64 queries and 32
  boxes, Hungarian matching on position gave a box a query a median 9.5 m away, 6.2 m
  with the spiral.
* Lanes: ``num_lane_queries`` content embeddings and ``lane_points`` reference points
  each (a short straight segment at a random place and heading).
* Planning: ``plan_queries.OfficialPlanQueries`` (ego token of the command, status and
  history; one token per command, mode anchor and timestep).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import initialization

from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.plan_queries import OfficialPlanQueries
from onedrive.model.position_3d import inverse_sigmoid

DET_REFERENCE_HEIGHT = 1.0  # metres above the ego origin: about the centre of a car
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))  # radians between consecutive spiral points


def initial_det_reference_points(num_queries: int, position_range: list[float]) -> torch.Tensor:
    """Normalised reference points (N, 3): a sunflower (Vogel) spiral over the disc of radius 0.48 around the centre of position_range."""
    # Explicit CPU tensors: transformers builds models under a meta-device context while loading.
    index = torch.arange(num_queries, dtype=torch.float32, device="cpu") + 0.5  # (N,)
    radius = 0.48 * (index / num_queries).sqrt()  # (N,) equal area per point
    angle = index * GOLDEN_ANGLE
    z_min, z_max = position_range[2], position_range[5]
    height = min(max((DET_REFERENCE_HEIGHT - z_min) / (z_max - z_min), 0.01), 0.99)
    return torch.stack([0.5 + radius * angle.cos(), 0.5 + radius * angle.sin(), torch.full_like(index, height)], dim=-1)


def initial_lane_reference_points(num_lanes: int, num_points: int, generator: torch.Generator) -> torch.Tensor:
    """Straight segments of length 0.2 (normalised units) at random centres and headings → (N, P, 3)."""
    # Explicit CPU tensors: transformers builds models under a meta-device context while loading.
    centres = torch.rand(num_lanes, 2, generator=generator, device="cpu") * 0.8 + 0.1  # (N, 2)
    headings = torch.rand(num_lanes, generator=generator, device="cpu") * 2 * math.pi  # (N,)
    along = torch.linspace(-0.1, 0.1, num_points, device="cpu")  # (P,)
    direction = torch.stack([headings.cos(), headings.sin()], dim=-1)  # (N, 2)
    xy = centres[:, None, :] + along[None, :, None] * direction[:, None, :]  # (N, P, 2)
    z = torch.full((num_lanes, num_points, 1), 0.5, device="cpu")
    return torch.cat([xy, z], dim=-1).clamp(0.01, 0.99)


class DrivingQueries(nn.Module):
    """Builds the query-token input embeddings and reference points for a batch."""

    def __init__(self, config: OneDriveConfig):
        super().__init__()
        task = config.task_config
        self.task, self.hidden = task, config.text_config.hidden_size
        values = self.initial_values()
        self.det_embed = nn.Parameter(values["det_embed"])  # (N_det, H)
        self.det_reference = nn.Parameter(values["det_reference"])  # (N_det, 3) logits of normalised points
        self.lane_embed = nn.Parameter(values["lane_embed"])  # (N_lane, H)
        self.lane_reference = nn.Parameter(values["lane_reference"])  # (N_lane, P, 3)
        self.official_plan = OfficialPlanQueries(config)

    def initial_values(self) -> dict[str, torch.Tensor]:
        """The starting value of each raw parameter, drawn from one generator seeded 0 (explicit CPU tensors:
        transformers builds models under a meta-device context while loading)."""
        task, hidden = self.task, self.hidden
        generator = torch.Generator().manual_seed(0)
        values = {"det_embed": torch.randn(task.num_det_queries, hidden, generator=generator, device="cpu") * 0.02}
        if task.det_reference_init == "sunflower":
            det_points = initial_det_reference_points(task.num_det_queries, task.position_range)
        else:
            det_points = torch.rand(task.num_det_queries, 3, generator=generator, device="cpu")
        values["det_reference"] = inverse_sigmoid(det_points)
        values["lane_embed"] = torch.randn(task.num_lane_queries, hidden, generator=generator, device="cpu") * 0.02
        lane_points = initial_lane_reference_points(task.num_lane_queries, task.lane_points, generator)
        values["lane_reference"] = inverse_sigmoid(lane_points)
        return values

    def restore(self) -> None:
        """Give every raw parameter transformers did not load its starting value (a checkpoint that lacks it):
        transformers' generic init only knows standard layers, and a
        parameter it skips would keep uninitialised memory. Loaded parameters are left alone."""
        for name, value in self.initial_values().items():
            initialization.copy_(getattr(self, name), value.to(getattr(self, name).dtype))

    def group_parts(self) -> dict[str, list[nn.Module | nn.Parameter]]:
        """The parameters each query group (``query_groups``) owns here, for ``parameter_groups``."""
        return {
            "det": [self.det_embed, self.det_reference],
            "lane": [self.lane_embed, self.lane_reference],
            "plan": [self.official_plan],
        }

    def det_reference_points(self) -> torch.Tensor:  # (N_det, 3) in [0, 1]
        return self.det_reference.sigmoid()

    def lane_reference_points(self) -> torch.Tensor:  # (N_lane, P, 3) in [0, 1]
        return self.lane_reference.sigmoid()

    def forward(
        self,
        ego_status: torch.Tensor,
        command: torch.Tensor,
        ego_history: torch.Tensor,
        propagated: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """ego_status (B, E), command (B,), ego_history (B, 2, 10) → query embeddings (B, N_det + N_lane + N_plan, H).

        ``propagated``: {"det": (B, K, H), "lane": (B, K, H)} temporal-memory queries (``model/streaming.py``),
        placed after each group's own queries (then N_det and N_lane count them).
        """
        batch = ego_status.shape[0]
        plan = self.official_plan(ego_status, command, ego_history)  # (B, 1 + C·M·T, H)
        if propagated is None:
            perception = torch.cat([self.det_embed, self.lane_embed], dim=0).expand(batch, -1, -1)
        else:
            det, lane = (embed.expand(batch, -1, -1) for embed in (self.det_embed, self.lane_embed))
            perception = torch.cat([det, propagated["det"].to(det), lane, propagated["lane"].to(lane)], dim=1)
        return torch.cat([perception, plan.to(perception.dtype)], dim=1)
