"""The temporal memory as flat graph tensors: names, the Python side of a step, checks.

An exported graph of a model with a temporal memory (``task_config.memory_size > 0``) takes the
memory state as inputs and returns the next one beside its structured outputs. What the graph
cannot do stays here, in Python: the scene tokens are strings, so ``streaming.continues`` (same
scene, time step in (0, ``memory_max_gap_seconds``]) decides per batch slot whether the stream
continues, and the graph takes that decision as the (B,) bool input ``memory_continues``. A slot
whose flag is False computes what ``predict(batch, memory=None)`` computes for it.

Inputs after the image / prompt inputs (and ``ego_history``), in this order (``MEMORY_INPUTS``):
  memory_continues (B,) bool; timestamps (B,) float64 s and ego_to_global (B, 4, 4) float64 of
  the current frame; then for each group in ``streaming.MEMORY_GROUPS`` (det, lane) the
  ``TaskMemory`` fields as ``memory_<group>_<field>``: embedding (B, M, H) float32, reference
  (B, M, P, 3) float64 (global frame), timestamp (B, M) float64, ego_pose (B, M, 4, 4) float64,
  score (B, M) float32, valid (B, M) bool.
Outputs after the structured ones (``MEMORY_OUTPUTS``): the same fields of the next state,
``next_memory_<group>_<field>``. The next state's slot fields (scene tokens, timestamps, poses) are
the current frame's, kept on the Python side (``memory_from_graph_outputs``).
"""

from __future__ import annotations

from dataclasses import fields

import torch

from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.memory import QueryMemory, TaskMemory
from onedrive.model.streaming import MEMORY_GROUPS, continues, empty_entries, memory_points

STREAM_INPUTS = ("memory_continues", "timestamps", "ego_to_global")
MEMORY_FIELDS = tuple(field.name for field in fields(TaskMemory))


def state_names(prefix: str) -> tuple[str, ...]:
    """``<prefix>_<group>_<field>`` for every memory group, then every ``TaskMemory`` field."""
    return tuple(f"{prefix}_{group}_{field}" for group in MEMORY_GROUPS for field in MEMORY_FIELDS)


MEMORY_INPUTS = STREAM_INPUTS + state_names("memory")
MEMORY_OUTPUTS = state_names("next_memory")
FIELD_DOCS = {  # TaskMemory field: (dtype, shape and meaning)
    "embedding": ("float32", "(B, M, H) query states at the last task layer, newest entry first"),
    "reference": ("float64", "(B, M, P, 3) predicted positions, global frame, metres"),
    "timestamp": ("float64", "(B, M) seconds of each entry's frame"),
    "ego_pose": ("float64", "(B, M, 4, 4) ego->global pose of each entry's frame"),
    "score": ("float32", "(B, M) score when stored"),
    "valid": ("bool", "(B, M) False for empty entries"),
}
MEMORY_INPUT_DOCS = {
    "memory_continues": ("bool", "(B,) the slot continues its stream (streaming.continues, Python side)"),
    "timestamps": ("float64", "(B,) seconds of the current frame"),
    "ego_to_global": ("float64", "(B, 4, 4) ego->global pose of the current frame"),
} | {
    f"memory_{group}_{field}": (FIELD_DOCS[field][0], f"{group} memory: {FIELD_DOCS[field][1]}")
    for group in MEMORY_GROUPS
    for field in MEMORY_FIELDS
}


def has_memory(config: OneDriveConfig) -> bool:
    return config.task_config.memory_size > 0


def entries_from(values: dict[str, torch.Tensor], prefix: str) -> dict[str, TaskMemory]:
    """{``<prefix>_<group>_<field>``: tensor} → {group: ``TaskMemory``}."""
    return {
        group: TaskMemory(**{field: values[f"{prefix}_{group}_{field}"] for field in MEMORY_FIELDS})
        for group in MEMORY_GROUPS
    }


def flatten_entries(entries: dict[str, TaskMemory]) -> tuple[torch.Tensor, ...]:
    """{group: ``TaskMemory``} → its tensors in the order of ``state_names``."""
    return tuple(getattr(entries[group], field) for group in MEMORY_GROUPS for field in MEMORY_FIELDS)


def memory_graph_inputs(
    config: OneDriveConfig,
    memory: QueryMemory | None,
    scene_tokens: list[str],
    timestamps: torch.Tensor,
    ego_to_global: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """The ``MEMORY_INPUTS`` of one frame: the continue flags from ``streaming.continues`` (scene tokens and
    time gap, Python side), the frame's timestamps (B,) / ego_to_global (B, 4, 4) in float64, and the state's
    tensors (``memory`` None: empty entries, every slot starts afresh)."""
    task = config.task_config
    timestamps, ego_to_global = torch.as_tensor(timestamps).double(), torch.as_tensor(ego_to_global).double()
    keep = continues(memory, list(scene_tokens), timestamps, task.memory_max_gap_seconds)
    if memory is None:
        hidden, points = config.text_config.hidden_size, memory_points(task)
        batch = len(scene_tokens)
        tasks = {
            group: empty_entries(task.memory_size, points[group], hidden, batch, torch.float32)
            for group in MEMORY_GROUPS
        }
    else:
        tasks = memory.tasks
    state = dict(zip(state_names("memory"), flatten_entries(tasks)))
    stream = {"memory_continues": keep, "timestamps": timestamps, "ego_to_global": ego_to_global}
    return stream | {name: state[name].contiguous() for name in state}


def memory_from_graph_outputs(
    outputs: dict, scene_tokens: list[str], timestamps: torch.Tensor, ego_to_global: torch.Tensor
) -> QueryMemory:
    """The next ``QueryMemory`` from a graph's ``MEMORY_OUTPUTS`` (torch tensors or numpy arrays) and the
    frame's scene tokens, timestamps (B,) and ego_to_global (B, 4, 4) (the slots' last frame)."""
    values = {name: torch.as_tensor(outputs[name]) for name in MEMORY_OUTPUTS}
    return QueryMemory(
        entries_from(values, "next_memory"),
        list(scene_tokens),
        torch.as_tensor(timestamps).double(),
        torch.as_tensor(ego_to_global).double(),
    )


def expected_memory_inputs(config: OneDriveConfig, batch: int) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """{name: (shape, dtype)} of the ``MEMORY_INPUTS`` for ``batch`` samples."""
    task = config.task_config
    size, hidden, points = task.memory_size, config.text_config.hidden_size, memory_points(task)
    expected = {
        "memory_continues": ((batch,), torch.bool),
        "timestamps": ((batch,), torch.float64),
        "ego_to_global": ((batch, 4, 4), torch.float64),
    }
    for group in MEMORY_GROUPS:
        shapes = {
            "embedding": ((batch, size, hidden), torch.float32),
            "reference": ((batch, size, points[group], 3), torch.float64),
            "timestamp": ((batch, size), torch.float64),
            "ego_pose": ((batch, size, 4, 4), torch.float64),
            "score": ((batch, size), torch.float32),
            "valid": ((batch, size), torch.bool),
        }
        expected |= {f"memory_{group}_{field}": shapes[field] for field in MEMORY_FIELDS}
    return expected


def check_memory_inputs(config: OneDriveConfig, values: dict[str, torch.Tensor], batch: int) -> None:
    """Shapes, dtypes and finite values of the ``MEMORY_INPUTS`` (``graph.check_graph_inputs`` calls it)."""
    for name, (shape, dtype) in expected_memory_inputs(config, batch).items():
        value = values[name]
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise ValueError(
                f"{name} must be {dtype} of shape {shape} for batch {batch}, got {value.dtype} "
                f"{tuple(value.shape)} (memory_graph_inputs builds the memory inputs from a QueryMemory)"
            )
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError(f"{name} must be finite, got NaN/inf")
