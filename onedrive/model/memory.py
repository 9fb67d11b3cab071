"""``QueryMemory``: the streaming state of the perception queries, carried from one frame to the next.

One ``TaskMemory`` per memory-carrying query group (``det``, ``lane``), batch-first, newest entry
first. Entries are the top-scoring queries of earlier frames: their hidden state at the last
task layer, their predicted position (box centre, or lane points) stored in the GLOBAL frame
(float64, so moving them into any later ego frame is one exact transform), the time and the
ego→global pose of the frame they come from, their score and a validity flag. Beside the
entries, each batch slot keeps the scene token, timestamp and ego pose of its last frame, which
decide whether the next frame continues the slot's stream (``streaming.continues``).

The state holds tensors only (plus the slot's scene tokens); ``detach()`` cuts the graph between
training steps, ``select(slots)`` keeps some batch slots (a streaming evaluator whose scenes end
at different steps).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass
class TaskMemory:
    """Memory entries of one query group, newest first (M = ``memory_size``, P points per query).

    embedding:  (B, M, H) hidden state of the query at the last task layer (after the final norm).
    reference:  (B, M, P, 3) float64 predicted position in the global frame, metres.
    timestamp:  (B, M) float64 seconds of the frame the entry comes from.
    ego_pose:   (B, M, 4, 4) float64 ego→global pose of that frame.
    score:      (B, M) the query's score when it was stored (sigmoid; detection: best class).
    valid:      (B, M) bool, False for empty entries and after a reset.
    """

    embedding: torch.Tensor
    reference: torch.Tensor
    timestamp: torch.Tensor
    ego_pose: torch.Tensor
    score: torch.Tensor
    valid: torch.Tensor

    def map(self, function) -> TaskMemory:
        return TaskMemory(**{f.name: function(getattr(self, f.name)) for f in fields(self)})


@dataclass
class QueryMemory:
    """The streaming state of a batch: {query group: ``TaskMemory``} plus each slot's last frame.

    scene_tokens:  B scene tokens of the slots' last frames (None: the slot's stream was cut, ``forget``).
    timestamps:    (B,) float64 seconds of those frames.
    ego_to_global: (B, 4, 4) float64 ego→global poses of those frames.
    """

    tasks: dict[str, TaskMemory]
    scene_tokens: list[str | None]
    timestamps: torch.Tensor
    ego_to_global: torch.Tensor

    @property
    def batch_size(self) -> int:
        return len(self.scene_tokens)

    def detach(self) -> QueryMemory:
        """The same state without autograd history (carried between training steps)."""
        return self._map(lambda tensor: tensor.detach())

    def to(self, device: torch.device | str) -> QueryMemory:
        return self._map(lambda tensor: tensor.to(device))

    def select(self, slots: list[int]) -> QueryMemory:
        """Keep the batch slots ``slots``, in that order."""
        index = torch.as_tensor(slots, dtype=torch.long, device=self.timestamps.device)
        kept = self._map(lambda tensor: tensor.index_select(0, index))
        return replace(kept, scene_tokens=[self.scene_tokens[slot] for slot in slots])

    def forget(self, slots: torch.Tensor) -> QueryMemory:
        """The same state with the slots where ``slots`` (B,) bool is True cut from their stream: their next
        frame starts afresh (a streaming sampler's sub-sequence start, ``DriveBatch.sequence_start``)."""
        tokens = [None if cut else token for token, cut in zip(self.scene_tokens, slots.tolist())]
        return replace(self, scene_tokens=tokens)

    def _map(self, function) -> QueryMemory:
        return QueryMemory(
            tasks={name: memory.map(function) for name, memory in self.tasks.items()},
            scene_tokens=list(self.scene_tokens),
            timestamps=function(self.timestamps),
            ego_to_global=function(self.ego_to_global),
        )
