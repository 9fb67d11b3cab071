"""Tensor-in / tensor-out wrapper around ``OneDriveForDriving``'s traceable core, for export.

``OneDriveForDriving.predict`` takes a ``DriveBatch``, validates it and returns per-sample
lists; an exported graph needs plain tensors in and out. The model splits every pass into
``inputs.validate_inputs`` (Python checks on tensor values) and a core with static shapes
and no Python decision on tensor values (``token_layout`` → ``prefill`` →
``prediction_heads``). ``StructuredGraph`` calls that core as it is, with the same modules
and arithmetic as ``predict``; the only thing it adds is the explicit additive float
mask ``(B, 1, L', L')`` (transformers passes a 4D mask through unchanged), which keeps
transformers' mask construction out of the trace. Validation stays on the Python side:
``check_graph_inputs`` (``OnnxDriving.run`` calls it). Outputs equal ``predict``'s
(tested in tests/unit/export); decoding is the heads' batched ``top_boxes`` / ``top_lanes``.
A model with a temporal memory (``task_config.memory_size > 0``) also takes the memory state and the
Python-side continue flags as inputs and returns the next state (``graph_memory``: names, helpers);
it then equals ``predict(batch, memory=...)``, frame after frame.
"""

from __future__ import annotations

import torch
from torch import nn

from onedrive.export.graph_memory import (
    MEMORY_INPUTS,
    MEMORY_OUTPUTS,
    check_memory_inputs,
    entries_from,
    flatten_entries,
    has_memory,
)
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.streaming import MEMORY_GROUPS
from onedrive.schema import EGO_HISTORY_FIELDS, EGO_HISTORY_FRAMES, CameraGeometry

GRAPH_INPUTS = ("pixel_values", "intrinsics", "cam2ego", "ego_status", "command", "input_ids", "attention_mask")
EGO_HISTORY_INPUT = "ego_history"  # (B, 2, 10) float, the input after GRAPH_INPUTS
STRUCTURED_OUTPUTS = (
    "det_boxes",  # (B, K_box, 9) [x, y, z, l, w, h, yaw, vx, vy], ego frame
    "det_scores",  # (B, K_box) sigmoid scores, descending
    "det_labels",  # (B, K_box) int64 class index into task_config.det_classes
    "lane_points",  # (B, K_lane, P, 3)
    "lane_scores",  # (B, K_lane)
    "trajectory",  # (B, T, D) best mode of the given command
    "trajectory_modes",  # (B, M, T, D) every mode of the given command
    "mode_logits",  # (B, M)
)
PLANNING_OUTPUTS = ("trajectory", "trajectory_modes", "mode_logits")


def graph_input_names(config) -> tuple[str, ...]:
    """The graph's inputs in order: ``GRAPH_INPUTS``, ``ego_history``, then ``graph_memory.MEMORY_INPUTS`` for a
    model with a temporal memory."""
    return GRAPH_INPUTS + (EGO_HISTORY_INPUT,) + (MEMORY_INPUTS if has_memory(config) else ())


def graph_output_names(config, planning_only: bool = False) -> tuple[str, ...]:
    """The graph's outputs in order: ``PLANNING_OUTPUTS`` or ``STRUCTURED_OUTPUTS``, then
    ``graph_memory.MEMORY_OUTPUTS`` (the next memory state) for a model with a temporal memory."""
    structured = PLANNING_OUTPUTS if planning_only else STRUCTURED_OUTPUTS
    return structured + (MEMORY_OUTPUTS if has_memory(config) else ())


def check_graph_inputs(config, inputs: dict[str, torch.Tensor]) -> None:
    """The checks the exported graph cannot make: shapes, dtypes, finite values, commands, image-token counts
    (and those of the memory inputs, ``graph_memory.check_memory_inputs``).

    ``inputs`` holds every name of ``graph_input_names(config)`` (torch tensors or numpy arrays).
    """
    names = graph_input_names(config)
    missing = [name for name in names if name not in inputs]
    if missing:
        raise ValueError(f"graph inputs missing: {missing} (expected {list(names)})")
    values = {name: torch.as_tensor(inputs[name]) for name in names}
    task = config.task_config
    batch, length = values["input_ids"].shape
    tile = config.vision_config.image_size[0]
    tiles = batch * task.num_cameras * task.tiles_per_camera
    expected = {
        "pixel_values": (tiles, 3, tile, tile),
        "intrinsics": (batch, task.num_cameras, 3, 3),
        "cam2ego": (batch, task.num_cameras, 4, 4),
        "ego_status": (batch, task.ego_status_dim),
        "command": (batch,),
        "attention_mask": (batch, length),
        EGO_HISTORY_INPUT: (batch, EGO_HISTORY_FRAMES, len(EGO_HISTORY_FIELDS)),
    }
    for name, shape in expected.items():
        if tuple(values[name].shape) != shape:
            raise ValueError(f"{name} must have shape {shape} for batch {batch}, got {tuple(values[name].shape)}")
    for name in ("input_ids", "command", "attention_mask"):
        if values[name].dtype != torch.int64:
            raise ValueError(f"{name} must be int64, got {values[name].dtype}")
    floats = ("pixel_values", "intrinsics", "cam2ego", "ego_status", EGO_HISTORY_INPUT)
    for name in floats:
        if not values[name].is_floating_point() or not torch.isfinite(values[name]).all():
            raise ValueError(f"{name} must be finite floats, got dtype {values[name].dtype} with NaN/inf or not float")
    command = values["command"]
    if command.min() < 0 or command.max() >= task.num_commands:
        raise ValueError(f"command must be in [0, {task.num_commands - 1}], got {command.tolist()}")
    per_sample = (values["input_ids"] == config.image_token_id).sum(dim=1)  # (B,)
    wanted = task.num_cameras * config.image_tokens_per_camera
    if not bool((per_sample == wanted).all()):
        raise ValueError(
            f"each sample needs {wanted} image tokens (id {config.image_token_id}), got {per_sample.tolist()}"
        )
    if has_memory(config):
        check_memory_inputs(config, values, batch)


def additive_causal_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, L') 1/0 → (B, 1, L', L') 0 where causal and not padding, the dtype's minimum elsewhere."""
    length = mask.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=mask.device).tril()  # (L', L')
    allowed = causal[None, None] & mask.bool()[:, None, None, :]  # (B, 1, L', L')
    return torch.zeros(allowed.shape, dtype=dtype, device=mask.device).masked_fill(~allowed, torch.finfo(dtype).min)


class StructuredGraph(nn.Module):
    """``(pixel_values, intrinsics, cam2ego, ego_status, command, input_ids, attention_mask[, ...])`` → tensors.

    planning_only=False: ``STRUCTURED_OUTPUTS``; planning_only=True: ``PLANNING_OUTPUTS`` (``predict(tasks=("plan",))``).
    Both run the decoder up to the last task layer only, as ``predict`` does.
    Inputs (``B`` samples, ``L`` prompt tokens, right padding), checked beforehand by ``check_graph_inputs``:
      pixel_values (B·N_cam·T, 3, S, S); intrinsics (B, N_cam, 3, 3); cam2ego (B, N_cam, 4, 4);
      ego_status (B, E); command (B,) int64; input_ids (B, L) int64; attention_mask (B, L) int64;
      then ``extra`` in the order of ``graph_input_names``: ego_history (B, 2, 10); the
      ``graph_memory.MEMORY_INPUTS`` for a model with a temporal memory,
      whose graph also returns the ``graph_memory.MEMORY_OUTPUTS`` (the next state; the det and lane heads
      then run in the planning-only graph too, as in ``predict``).
    """

    def __init__(self, model: OneDriveForDriving, planning_only: bool = False):
        super().__init__()
        self.model = model
        self.planning_only = planning_only
        config = model.config
        tile = config.vision_config.image_size[0]
        rows, cols = config.task_config.camera_tiles
        self.image_hw = (rows * tile, cols * tile)
        self.extra_names = graph_input_names(config)[len(GRAPH_INPUTS) :]
        if model.stream_memory is not None:  # drawn here: the graph holds them as constants
            for name in MEMORY_GROUPS:
                pseudo = model.stream_memory.pseudo_reference(name)  # (K, P, 3)
                self.register_buffer(f"pseudo_reference_{name}", pseudo, persistent=False)

    @property
    def output_names(self) -> tuple[str, ...]:
        return graph_output_names(self.model.config, self.planning_only)

    def forward(self, pixel_values, intrinsics, cam2ego, ego_status, command, input_ids, attention_mask, *extra):
        model = self.model
        named = dict(zip(self.extra_names, extra, strict=True))
        ego_history = named[EGO_HISTORY_INPUT]
        torch._check(attention_mask.shape[1] == input_ids.shape[1])  # one sequence axis for the exporter
        layout = model.token_layout(input_ids, attention_mask, driving=True)
        dtype = model.get_input_embeddings().weight.dtype
        aligned = None
        if model.stream_memory is not None:
            keep, timestamps, ego_to_global = named["memory_continues"], named["timestamps"], named["ego_to_global"]
            entries = entries_from(named, "memory")
            pseudo = {name: getattr(self, f"pseudo_reference_{name}") for name in MEMORY_GROUPS}
            aligned = model.stream_memory.align_entries(entries, keep, timestamps, ego_to_global, dtype, pseudo)
        output = model.prefill(
            layout,
            input_ids,
            pixel_values,
            CameraGeometry(intrinsics, cam2ego, self.image_hw),
            ego_status,
            command,
            causal_mask=additive_causal_mask(layout.attention_mask, dtype),
            stop_after_layer=model.last_task_layer,
            ego_history=ego_history,
            memory=aligned,
        )
        tasks = ("plan",) if self.planning_only and aligned is None else ("det", "lane", "plan")
        detection, lanes, modes = model.prediction_heads(
            layout, output, ego_status, command, tasks, ego_history, memory=aligned
        )
        planning = (modes.best(), modes.trajectories, modes.mode_logits)  # (B, T, D), (B, M, T, D), (B, M)
        structured = planning
        if not self.planning_only:
            structured = model.det_head.top_boxes(detection) + model.lane_head.top_lanes(lanes) + planning
        if aligned is None:
            return structured
        frame = model.memory_frame(layout, output, detection, lanes)
        following = model.stream_memory.update_entries(entries, keep, frame, timestamps, ego_to_global)
        return structured + flatten_entries(following)
