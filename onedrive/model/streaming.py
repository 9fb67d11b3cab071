"""``StreamingMemory``: StreamPETR-style propagated queries for the perception query groups.

Per frame, for each memory-carrying group (``det``, ``lane``; ``task_config.memory_*``):

1. ``align``: a batch slot whose frame continues its last one (same scene token, a time step
   in (0, ``memory_max_gap_seconds``]) keeps its entries, any other slot is reset (every entry
   invalid). Entries are moved into the current ego frame: their global reference points through
   the inverse of the current ego→global pose, and their embeddings through a motion-aware layer
   norm (StreamPETR's MLN) conditioned on the entry's age and its pose relative to the current
   frame (13 values: Δt, then the 3 × 4 rotation and translation). The first
   ``memory_propagated`` entries (the newest) become extra queries of the group; an empty one is a
   zero embedding at a fixed pseudo reference point, as StreamPETR refreshes them. The remaining
   entries are extra keys and values of the perception query self-attention (invalid ones
   masked); they never enter the decoder's causal attention.
2. ``update``: after the heads, the ``memory_topk`` best-scoring queries of the frame (all of the
   group's queries, propagated ones included; detached) go in front of the kept entries, and the
   memory is cut to ``memory_size``.

With ``memory_size = 0`` the model has no ``StreamingMemory`` and computes what it computes
without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.initial_values import ZeroLinear
from onedrive.model.memory import QueryMemory, TaskMemory
from onedrive.model.position_3d import normalise_points
from onedrive.model.queries import initial_lane_reference_points

MEMORY_GROUPS = ("det", "lane")  # the query groups that carry a memory, in sequence order
MOTION_FEATURES = 13  # Δt (s) and the 3 × 4 [R | t] of the entry's frame relative to the current one


class MotionLayerNorm(nn.Module):
    """StreamPETR's motion-aware layer norm: ``LN(x) · (1 + γ(c)) + β(c)`` with ``c`` = MLP(motion).

    γ and β start at zero, so at first the layer is a plain (affine-free) layer norm.
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False)
        self.reduce = nn.Sequential(nn.Linear(MOTION_FEATURES, hidden), nn.ReLU())
        self.gamma = ZeroLinear(hidden, hidden)
        self.beta = ZeroLinear(hidden, hidden)

    def forward(self, states: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        """states (B, M, H), motion (B, M, 13) → (B, M, H)."""
        condition = self.reduce(motion.to(self.gamma.weight.dtype))
        return self.norm(states) * (1 + self.gamma(condition)) + self.beta(condition)


@dataclass
class AlignedMemory:
    """One group's memory in the current ego frame, split into propagated queries and attention keys.

    propagated:           (B, K, H) input embeddings of the K propagated queries.
    propagated_reference: (B, K, P, 3) their reference points, normalised over ``position_range``.
    keys:                 (B, M - K, H) the other entries, keys and values of the query self-attention.
    key_reference:        (B, M - K, P, 3) their reference points, normalised.
    key_valid:            (B, M - K) bool, False where an entry is empty (masked out of the attention).
    """

    propagated: torch.Tensor
    propagated_reference: torch.Tensor
    keys: torch.Tensor
    key_reference: torch.Tensor
    key_valid: torch.Tensor


def memory_points(task_config) -> dict[str, int]:
    """{memory group: P, the points each entry's reference holds} (a box centre; a lane's points)."""
    return {"det": 1, "lane": task_config.lane_points}


def continues(
    memory: QueryMemory | None, scene_tokens: list[str], timestamps: torch.Tensor, max_gap_seconds: float
) -> torch.Tensor:
    """(B,) bool: which batch slots continue the stream of ``memory`` (same scene, 0 < Δt <= max gap)."""
    batch = len(scene_tokens)
    if memory is None:
        return torch.zeros(batch, dtype=torch.bool, device=timestamps.device)
    if memory.batch_size != batch:
        raise InputError(
            f"the memory holds {memory.batch_size} batch slots, the batch has {batch} samples; keep the batch "
            f"size while streaming or pass memory=None (QueryMemory.select keeps some slots)"
        )
    same_scene = torch.tensor([a == b for a, b in zip(memory.scene_tokens, scene_tokens)], device=timestamps.device)
    gap = timestamps.double() - memory.timestamps.to(timestamps.device).double()  # (B,) seconds
    return same_scene & (gap > 0) & (gap <= max_gap_seconds)


def transform_points(pose: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """pose (B, 4, 4), points (B, M, P, 3) → pose applied to every point (B, M, P, 3)."""
    rotated = torch.einsum("bij,bmpj->bmpi", pose[:, :3, :3], points)
    return rotated + pose[:, None, None, :3, 3]


class StreamingMemory(nn.Module):
    """The memory's learned parts (a motion-aware layer norm per group) and its align / update steps."""

    def __init__(self, config: OneDriveConfig):
        super().__init__()
        task = config.task_config
        hidden = config.text_config.hidden_size
        self.size, self.topk, self.propagated = task.memory_size, task.memory_topk, task.memory_propagated
        self.max_gap_seconds = task.memory_max_gap_seconds
        self.position_range = task.position_range
        self.points = memory_points(task)
        self.motion_norms = nn.ModuleDict({name: MotionLayerNorm(hidden) for name in MEMORY_GROUPS})
        self.lane_points = task.lane_points

    def pseudo_reference(self, name: str) -> torch.Tensor:
        """(K, P, 3) fixed, untrained reference points of empty propagated slots, normalised: uniform points
        (StreamPETR's pseudo reference points) for ``det``, short random segments for ``lane``. Drawn from a
        fixed seed on every call (not parameters: nothing to save, nothing to load)."""
        generator = torch.Generator().manual_seed(1)
        if name == "det":
            return torch.rand(self.propagated, 1, 3, generator=generator)
        return initial_lane_reference_points(self.propagated, self.lane_points, generator)

    def align(
        self,
        memory: QueryMemory | None,
        scene_tokens: list[str],
        timestamps: torch.Tensor,
        ego_to_global: torch.Tensor,
        dtype: torch.dtype,
    ) -> tuple[torch.Tensor, dict[str, AlignedMemory]]:
        """→ (B,) bool slots that continue their stream, {group: ``AlignedMemory``} in the current frame."""
        keep = continues(memory, scene_tokens, timestamps, self.max_gap_seconds)
        batch, device = len(scene_tokens), ego_to_global.device
        entries = {name: self._entries(memory, name, batch, dtype, device) for name in MEMORY_GROUPS}
        return keep, self.align_entries(entries, keep, timestamps, ego_to_global, dtype)

    def align_entries(
        self,
        entries: dict[str, TaskMemory],
        keep: torch.Tensor,
        timestamps: torch.Tensor,
        ego_to_global: torch.Tensor,
        dtype: torch.dtype,
        pseudo_references: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, AlignedMemory]:
        """{group: stored entries} → {group: ``AlignedMemory``} in the current frame; ``keep`` (B,) bool: the slots
        that continue their stream (the others' entries are all treated as invalid). Traceable when
        ``pseudo_references`` ({group: ``pseudo_reference(group)``}, drawn beforehand) is given: the exported
        graph calls it so, with the entries and ``keep`` as inputs (a random generator does not export)."""
        global_to_ego = rigid_inverse(ego_to_global.double())  # (B, 4, 4)
        aligned = {}
        for name in MEMORY_GROUPS:
            stored = entries[name]
            valid = stored.valid & keep[:, None]  # (B, M)
            relative = global_to_ego[:, None] @ stored.ego_pose  # (B, M, 4, 4) entry frame → current frame
            age = timestamps.double()[:, None] - stored.timestamp  # (B, M)
            motion = torch.cat([age[..., None], relative[..., :3, :].flatten(-2)], dim=-1)  # (B, M, 13)
            still = torch.cat(
                [motion.new_zeros(1), torch.eye(4, dtype=motion.dtype, device=motion.device)[:3].flatten()]
            )
            motion = torch.where(valid[..., None], motion, still)  # an empty entry: no age, no motion
            embedding = torch.where(valid[..., None], stored.embedding, 0)
            embedding = self.motion_norms[name](embedding, motion.float()).to(dtype)  # (B, M, H)
            points = transform_points(global_to_ego, stored.reference).float()  # (B, M, P, 3) current ego frame
            reference = normalise_points(points, self.position_range)
            k = self.propagated
            pseudo = pseudo_references[name] if pseudo_references is not None else self.pseudo_reference(name)
            pseudo = pseudo.to(reference)  # (K, P, 3)
            aligned[name] = AlignedMemory(
                propagated=embedding[:, :k],
                propagated_reference=torch.where(valid[:, :k, None, None], reference[:, :k], pseudo),
                keys=embedding[:, k:],
                key_reference=reference[:, k:],
                key_valid=valid[:, k:],
            )
        return aligned

    def update(
        self,
        memory: QueryMemory | None,
        keep: torch.Tensor,
        frame: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        scene_tokens: list[str],
        timestamps: torch.Tensor,
        ego_to_global: torch.Tensor,
    ) -> QueryMemory:
        """The state after this frame.

        frame: {group: (states (B, N, H) at the last task layer, scores (B, N) sigmoid, points (B, N, P, 3)
        predicted positions in metres, current ego frame)}; ``keep`` from ``align``.
        """
        timestamps, ego_to_global = timestamps.double(), ego_to_global.double()
        entries = {}
        for name in MEMORY_GROUPS:
            states = frame[name][0]
            entries[name] = self._entries(memory, name, states.shape[0], states.dtype, states.device)
        tasks = self.update_entries(entries, keep, frame, timestamps, ego_to_global)
        return QueryMemory(tasks, list(scene_tokens), timestamps, ego_to_global)

    def update_entries(
        self,
        entries: dict[str, TaskMemory],
        keep: torch.Tensor,
        frame: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        timestamps: torch.Tensor,
        ego_to_global: torch.Tensor,
    ) -> dict[str, TaskMemory]:
        """{group: the entries this frame started with} → {group: the entries after it}: the frame's
        ``memory_topk`` best queries in front of the kept old entries, cut to ``memory_size``. ``frame`` as in
        ``update``. Traceable (the exported graph returns its result)."""
        timestamps, ego_to_global = timestamps.double(), ego_to_global.double()
        tasks = {}
        for name in MEMORY_GROUPS:
            states, scores, points = (part.detach() for part in frame[name])
            top = scores.topk(self.topk, dim=1).indices  # (B, k)
            new = TaskMemory(
                embedding=states.gather(1, top[..., None].expand(-1, -1, states.shape[-1])),
                reference=transform_points(ego_to_global, _gather_points(points, top).double()),
                timestamp=timestamps[:, None].expand(-1, self.topk),
                ego_pose=ego_to_global[:, None].expand(-1, self.topk, -1, -1),
                score=scores.gather(1, top),
                valid=torch.ones_like(top, dtype=torch.bool),
            )
            old = entries[name]
            old = TaskMemory(**{**old.__dict__, "valid": old.valid & keep[:, None]})
            tasks[name] = TaskMemory(
                *(
                    torch.cat([a, b], dim=1)[:, : self.size]
                    for a, b in zip(new.__dict__.values(), old.__dict__.values())
                )
            )
        return tasks

    def _entries(
        self,
        memory: QueryMemory | None,
        name: str,
        batch: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> TaskMemory:
        """The stored entries of a group, or ``memory_size`` empty ones when there is no state yet."""
        if memory is not None:
            return memory.tasks[name].map(lambda tensor: tensor.to(device))
        hidden = self.motion_norms[name].gamma.in_features
        return empty_entries(self.size, self.points[name], hidden, batch, dtype, device)


def empty_entries(
    size: int, points: int, hidden: int, batch: int, dtype: torch.dtype, device: torch.device | str = "cpu"
) -> TaskMemory:
    """``size`` empty entries per slot (all invalid; zero embedding / reference / time / score, identity pose)."""
    return TaskMemory(
        embedding=torch.zeros(batch, size, hidden, dtype=dtype, device=device),
        reference=torch.zeros(batch, size, points, 3, dtype=torch.float64, device=device),
        timestamp=torch.zeros(batch, size, dtype=torch.float64, device=device),
        ego_pose=torch.eye(4, dtype=torch.float64, device=device).expand(batch, size, 4, 4),
        score=torch.zeros(batch, size, dtype=dtype, device=device),
        valid=torch.zeros(batch, size, dtype=torch.bool, device=device),
    )


def rigid_inverse(pose: torch.Tensor) -> torch.Tensor:
    """(..., 4, 4) rigid transforms [R | t] → their inverses [Rᵀ | −Rᵀ t] (exact for a rotation R; exportable,
    unlike ``torch.linalg.inv``)."""
    rotation_t = pose[..., :3, :3].transpose(-1, -2)  # (..., 3, 3)
    translation = -(rotation_t @ pose[..., :3, 3:])  # (..., 3, 1)
    top = torch.cat([rotation_t, translation], dim=-1)  # (..., 3, 4)
    return torch.cat([top, pose[..., 3:, :]], dim=-2)


def _gather_points(points: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """points (B, N, P, 3), index (B, k) → (B, k, P, 3)."""
    return points.gather(1, index[..., None, None].expand(-1, -1, *points.shape[2:]))
