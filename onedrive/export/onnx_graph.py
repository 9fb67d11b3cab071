"""ONNX graphs of the structured path and of the planning-only early exit (``graph.StructuredGraph``).

Route (docs/reference.md, "ONNX export of the structured path"):
``torch.onnx.export(..., dynamo=True, opset_version=23)`` of the tensor-in/tensor-out
wrapper, traced on a batch of 2 (a size-1 axis would be specialised) with a dynamic
batch axis (pixel tiles = batch × cameras × tiles) and a dynamic prompt length. The
graphs are float32 (onnxruntime's CPU kernels); they do not validate inputs — call
``graph.check_graph_inputs`` first (``OnnxDriving.run`` does).

Files written to ``<folder>/onnx/``: ``onedrive_structured.onnx``,
``onedrive_planning.onnx`` and ``graph_io.json`` (input / output names, shapes, dtypes). The graphs of a model with a
temporal memory take the memory state and return the next one (float64 where the state is;
``graph_memory``); ``OnnxDriving.step`` runs one frame of a stream with a ``QueryMemory``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.export import Dim

from onedrive.errors import InputError
from onedrive.export.graph import (
    EGO_HISTORY_INPUT,
    GRAPH_INPUTS,
    StructuredGraph,
    check_graph_inputs,
    graph_input_names,
    graph_output_names,
)
from onedrive.export.graph_memory import (
    MEMORY_INPUT_DOCS,
    MEMORY_INPUTS,
    has_memory,
    memory_from_graph_outputs,
    memory_graph_inputs,
)
from onedrive.extras import extra_module
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.memory import QueryMemory
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.schema import EGO_HISTORY_FIELDS, EGO_HISTORY_FRAMES

GRAPH_FILES = {"structured": "onedrive_structured.onnx", "planning": "onedrive_planning.onnx"}
OPSET = 23
EXTERNAL_DATA_BYTES = 1_500_000_000  # protobuf's 2 GB limit: larger graphs keep weights in a side file

INPUT_DOCS = {
    "pixel_values": ("float32", "(B*N_cam*T, 3, S, S) ViT tiles, sample-major, then camera, then tile"),
    "intrinsics": ("float32", "(B, N_cam, 3, 3) pinhole matrices of the processed images"),
    "cam2ego": ("float32", "(B, N_cam, 4, 4) camera-to-ego transforms (OpenCV camera axes)"),
    "ego_status": ("float32", "(B, 6) [vx, vy, ax, ay, yaw_rate, speed]"),
    "command": ("int64", "(B,) 0 right, 1 left, 2 straight"),
    "input_ids": ("int64", "(B, L) prompt ids with every camera's image-context tokens"),
    "attention_mask": ("int64", "(B, L) 1 for real tokens, 0 for padding"),
    "ego_history": ("float32", "(B, 2, 10) previous key frames' ego status, x, y, yaw, valid"),
} | MEMORY_INPUT_DOCS


def example_inputs(
    config: OneDriveConfig, batch: int = 2, text_tokens: int = 8, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Random graph inputs of valid shapes: ``text_tokens`` text ids, then every camera's image tokens, then text."""
    generator = torch.Generator().manual_seed(seed)
    task = config.task_config
    tile = config.vision_config.image_size[0]
    image_tokens = task.num_cameras * config.image_tokens_per_camera
    vocab = config.text_config.vocab_size
    ids = torch.randint(0, vocab, (batch, 2 * text_tokens + image_tokens), generator=generator)
    ids[ids == config.image_token_id] = (config.image_token_id + 1) % vocab
    ids[:, text_tokens : text_tokens + image_tokens] = config.image_token_id
    height, width = task.camera_tiles[0] * tile, task.camera_tiles[1] * tile
    intrinsics = torch.tensor([[width / 2, 0.0, width / 2], [0.0, width / 2, height / 2], [0.0, 0.0, 1.0]])
    cam2ego = torch.eye(4)
    cam2ego[:3, :3] = torch.tensor([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # looking ahead
    cam2ego[:3, 3] = torch.tensor([1.0, 0.0, 1.5])
    inputs = {
        "pixel_values": torch.randn(
            batch * task.num_cameras * task.tiles_per_camera, 3, tile, tile, generator=generator
        ),
        "intrinsics": intrinsics.expand(batch, task.num_cameras, 3, 3).clone(),
        "cam2ego": cam2ego.expand(batch, task.num_cameras, 4, 4).clone(),
        "ego_status": torch.randn(batch, task.ego_status_dim, generator=generator),
        "command": torch.arange(batch) % task.num_commands,
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        EGO_HISTORY_INPUT: torch.randn(batch, EGO_HISTORY_FRAMES, len(EGO_HISTORY_FIELDS), generator=generator),
    }
    if has_memory(config):  # an empty state, then some entries made valid, one slot continuing
        poses = torch.eye(4, dtype=torch.float64).expand(batch, 4, 4)
        inputs |= memory_graph_inputs(config, None, [""] * batch, torch.ones(batch, dtype=torch.float64), poses)
        inputs["memory_continues"] = torch.arange(batch) % 2 == 0
        for name in MEMORY_INPUTS:
            if name.endswith("_valid"):
                inputs[name] = torch.rand(inputs[name].shape, generator=generator) < 0.5
    return inputs


def _dynamic_shapes(config: OneDriveConfig) -> dict:
    """{forward argument: its dynamic axes}; the inputs after ``GRAPH_INPUTS`` are ``forward``'s ``extra``."""
    task = config.task_config
    batch = Dim("batch", min=1, max=1024)
    seq = Dim.AUTO  # the prompt length; a named Dim trips a range check on the attention reshapes
    shapes = {
        "pixel_values": {0: batch * (task.num_cameras * task.tiles_per_camera)},
        "intrinsics": {0: batch},
        "cam2ego": {0: batch},
        "ego_status": {0: batch},
        "command": {0: batch},
        "input_ids": {0: batch, 1: seq},
        "attention_mask": {0: batch, 1: seq},
    }
    extra = graph_input_names(config)[len(GRAPH_INPUTS) :]  # ego_history, memory inputs: batch-first
    return shapes | {"extra": tuple({0: batch} for _ in extra)}


def _export_one(graph: StructuredGraph, inputs: dict[str, torch.Tensor], path: Path) -> None:
    names = graph_input_names(graph.model.config)
    args = tuple(inputs[name] for name in names)
    program = torch.onnx.export(
        graph,
        args,
        dynamo=True,
        opset_version=OPSET,
        dynamic_shapes=_dynamic_shapes(graph.model.config),
        input_names=list(names),
        output_names=list(graph.output_names),
        verbose=False,
    )
    size = sum(p.numel() * p.element_size() for p in graph.model.parameters())
    program.save(str(path), external_data=size > EXTERNAL_DATA_BYTES)


def export_onnx(model: OneDriveForDriving, folder: str | Path) -> dict[str, Path]:
    """Write both graphs and ``graph_io.json`` into ``<folder>/onnx`` (atomically) → {"structured", "planning"}: path."""
    folder = Path(folder)
    target = folder / "onnx"
    if target.exists():
        raise FileExistsError(f"{target} exists; export into a fresh folder")
    model = model.float().eval()
    inputs = example_inputs(model.config)
    staging = Path(tempfile.mkdtemp(prefix=".onnx.", dir=folder))
    with torch.no_grad():
        for kind, name in GRAPH_FILES.items():
            _export_one(StructuredGraph(model, planning_only=kind == "planning").eval(), inputs, staging / name)
    description = {
        "opset": OPSET,
        "inputs": {
            name: {"dtype": INPUT_DOCS[name][0], "shape": INPUT_DOCS[name][1]}
            for name in graph_input_names(model.config)
        },
        "outputs": {kind: list(graph_output_names(model.config, kind == "planning")) for kind in GRAPH_FILES},
        "note": "inputs are not validated inside the graphs: use onedrive.export.check_graph_inputs first",
    }
    if has_memory(model.config):
        description["memory"] = (
            "memory_* inputs: the temporal memory state (onedrive.export.memory_graph_inputs builds them from a "
            "QueryMemory and the scene tokens); next_memory_* outputs: the next state "
            "(onedrive.export.memory_from_graph_outputs)"
        )
    (staging / "graph_io.json").write_text(json.dumps(description, indent=2))
    os.replace(staging, target)
    return {kind: target / name for kind, name in GRAPH_FILES.items()}


class OnnxDriving:
    """An onnxruntime session of one exported graph; ``run`` checks the inputs and returns named arrays."""

    def __init__(self, path: str | Path, config: OneDriveConfig, threads: int | None = None):
        onnxruntime = extra_module("onnxruntime", "onnx")

        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX graph {self.path} does not exist (tools/export.py ... --onnx writes it)")
        self.config = config
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.output_names = [output.name for output in self.session.get_outputs()]

    def run(self, inputs: dict[str, torch.Tensor | np.ndarray]) -> dict[str, np.ndarray]:
        check_graph_inputs(self.config, inputs)
        names = graph_input_names(self.config)
        feed = {name: np.ascontiguousarray(torch.as_tensor(inputs[name]).numpy()) for name in names}
        return dict(zip(self.output_names, self.session.run(None, feed)))

    def step(
        self,
        inputs: dict[str, torch.Tensor | np.ndarray],
        memory: QueryMemory | None,
        scene_tokens: list[str],
        timestamps: torch.Tensor,
        ego_to_global: torch.Tensor,
    ) -> tuple[dict[str, np.ndarray], QueryMemory]:
        """One frame of a stream (a graph with a temporal memory): ``inputs`` without the memory inputs, the
        state the previous step returned (None at the start) and this frame's scene tokens, timestamps (B,) s
        and ego→global poses (B, 4, 4) → (named outputs, the next state)."""
        if not has_memory(self.config):
            raise InputError("step needs a graph with a temporal memory (memory_size > 0); call run")
        stream = (scene_tokens, timestamps, ego_to_global)
        outputs = self.run(dict(inputs) | memory_graph_inputs(self.config, memory, *stream))
        return outputs, memory_from_graph_outputs(outputs, *stream)
