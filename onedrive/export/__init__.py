"""Export a trained OneDrive: Hugging Face folder (merged LoRA, safetensors, model card), checked loading, ONNX.

python tools/export.py runs/stage3/checkpoint-100 --out exported/onedrive --dtype bf16 --onnx
"""

from onedrive.export.checkpoint import CheckpointInfo, load_training_checkpoint
from onedrive.export.graph import (
    GRAPH_INPUTS,
    STRUCTURED_OUTPUTS,
    StructuredGraph,
    check_graph_inputs,
    graph_input_names,
    graph_output_names,
)
from onedrive.export.graph_memory import (
    MEMORY_INPUTS,
    MEMORY_OUTPUTS,
    memory_from_graph_outputs,
    memory_graph_inputs,
)
from onedrive.export.hf_folder import export_checkpoint
from onedrive.export.loading import load_model
from onedrive.export.weights import CheckpointError

__all__ = [
    "GRAPH_INPUTS",
    "MEMORY_INPUTS",
    "MEMORY_OUTPUTS",
    "STRUCTURED_OUTPUTS",
    "CheckpointError",
    "CheckpointInfo",
    "StructuredGraph",
    "check_graph_inputs",
    "graph_input_names",
    "graph_output_names",
    "memory_from_graph_outputs",
    "memory_graph_inputs",
    "export_checkpoint",
    "load_model",
    "load_training_checkpoint",
]
