"""The ``README.md`` model card of an exported folder (YAML front matter via ``huggingface_hub``).

Sections: what the model is (from its config), how it was trained (``experiment.json``,
``trainer_state.json``, LoRA merge), its metrics (an evaluation ``metrics.json``,
flattened), the files and how to load them. Only facts found in those files are written.
"""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

import onedrive
from onedrive.export.checkpoint import CheckpointInfo
from onedrive.model.configuration_onedrive import OneDriveConfig

TAGS = [
    "onedrive",
    "autonomous-driving",
    "vision-language-action",
    "3d-object-detection",
    "motion-planning",
    "internvl",
]


def flatten_metrics(metrics: dict, prefix: str = "") -> dict[str, float | str]:
    """Nested ``metrics.json`` → {"a.b": value} for numbers and short strings."""
    flat: dict[str, float | str] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_metrics(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
    return flat


def _format(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _model_section(config: OneDriveConfig, num_parameters: int) -> list[str]:
    task, text, vision = config.task_config, config.text_config, config.vision_config
    thumbnail = " + thumbnail" if task.use_thumbnail else ""
    trajectory = "(x, y)" if task.plan_dims == 2 else "(x, y, heading)"
    return [
        "## Model",
        "",
        (
            "OneDrive: one causal decoder (InternVL3: InternViT + MLP projector + Qwen2) that reads surround-view "
            "camera images and produces 3D boxes, lanes, an ego trajectory and text from a single prefill. "
            "Learned detection, lane and planning queries sit in the decoder's sequence after the image tokens; "
            "query tokens have their own FFNs and a bidirectional self-attention in the task layers."
        ),
        "",
        "| | |",
        "|---|---|",
        f"| parameters | {num_parameters:,} |",
        f"| LLM | {text.num_hidden_layers} layers, width {text.hidden_size}, vocabulary {text.vocab_size} |",
        f"| vision tower | {vision.num_hidden_layers} layers, width {vision.hidden_size}, {vision.image_size[0]} px tiles |",
        f"| cameras | {task.num_cameras} × {task.camera_tiles[0]}×{task.camera_tiles[1]} tiles{thumbnail} |",
        f"| detection | {task.num_det_queries} queries, {len(task.det_classes)} classes: {', '.join(task.det_classes)} |",
        f"| lanes | {task.num_lane_queries} queries × {task.lane_points} 3D points |",
        f"| planning | {task.num_commands} commands × {task.num_plan_modes} modes, {task.plan_steps} steps of {trajectory}; "
        f"{task.num_plan_tokens} planning tokens |",
        f"| task layers | {config.task_layer_indices} |",
    ]


def _training_section(info: CheckpointInfo) -> list[str]:
    lines = ["## Training", ""]
    lines.append(f"Exported from `{info.folder.name}` (layout: {info.layout}).")
    if info.lora:
        lora = info.lora
        lines.append(
            f"LoRA (rank {lora['r']}, alpha {lora['lora_alpha']}{', rsLoRA' if lora.get('use_rslora') else ''}) "
            f"was merged into the base weights with peft `merge_and_unload` (alpha read from {lora['alpha_from']})."
        )
    experiment = info.experiment
    if experiment:
        lines += ["", f"Experiment `{experiment.get('name', '?')}`:", ""]
        for section in ("recipe", "train", "data", "model"):
            if isinstance(experiment.get(section), dict):
                settings = ", ".join(f"{k}={json.dumps(v)}" for k, v in experiment[section].items())
                lines.append(f"- **{section}**: {settings}")
    state = info.trainer_state
    if state:
        logged = [entry for entry in state.get("log_history", []) if "loss" in entry]
        progress = f"step {state.get('global_step')} of {state.get('max_steps')}, epoch {_format(state.get('epoch'))}"
        lines += ["", f"Trainer state: {progress}."]
        if logged:
            last = logged[-1]
            losses = ", ".join(f"{k}={_format(v)}" for k, v in last.items() if k not in ("step", "epoch"))
            lines.append(f"Last logged (step {last.get('step')}): {losses}.")
    if not experiment and not state:
        lines.append("No experiment.json or trainer_state.json was found next to the checkpoint.")
    return lines


def _metrics_section(metrics: dict | None, source: Path | None) -> list[str]:
    if not metrics:
        return ["## Evaluation", "", "No evaluation metrics.json was given or found with the checkpoint."]
    lines = ["## Evaluation", "", f"From `{source.name}` (`tools/eval.py`).", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {_format(value)} |" for name, value in flatten_metrics(metrics).items()]
    return lines


def _usage_section(repo_id: str, onnx_files: list[str]) -> list[str]:
    lines = [
        "## Use",
        "",
        "```python",
        "import onedrive  # registers OneDrive with transformers' Auto classes",
        "from transformers import AutoModel",
        "",
        f'model = AutoModel.from_pretrained("{repo_id}").eval()  # or OneDriveForDriving.from_pretrained',
        "prediction = model.predict(batch)  # batch: onedrive.DriveBatch (OneDriveProcessor + collate)",
        "```",
        "",
        (
            "Install with `pip install onedrive`; no `trust_remote_code` is needed. "
            "Checked loading with clear errors: `onedrive.export.load_model(path_or_repo)`."
        ),
    ]
    if onnx_files:
        lines += [
            "",
            (
                "ONNX graphs (float32, opset 23, run with onnxruntime; inputs and outputs in `onnx/graph_io.json`; "
                "validate inputs with `onedrive.export.check_graph_inputs` first — the graphs do not check them): "
            )
            + ", ".join(f"`{name}`" for name in onnx_files)
            + ".",
        ]
    return lines


def model_card(
    config: OneDriveConfig,
    num_parameters: int,
    info: CheckpointInfo,
    dtype: str,
    metrics: dict | None = None,
    metrics_source: Path | None = None,
    license: str = "apache-2.0",
    repo_id: str = "path/to/this/folder",
    onnx_files: list[str] = (),
) -> str:
    """The card's text (front matter + markdown)."""
    data = ModelCardData(library_name="transformers", license=license, tags=TAGS)
    body = [
        "# OneDrive",
        "",
        f"Exported by onedrive {onedrive.__version__} (`tools/export.py`), weights in {dtype}.",
        "",
        *_model_section(config, num_parameters),
        "",
        *_training_section(info),
        "",
        *_metrics_section(metrics, metrics_source),
        "",
        *_usage_section(repo_id, list(onnx_files)),
        "",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)))
