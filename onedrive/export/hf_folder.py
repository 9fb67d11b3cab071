"""Training checkpoint → Hugging Face folder, written atomically (temp folder, then rename).

The folder holds ``config.json`` (``architectures: ["OneDriveForDriving"]``, no
``auto_map``: ``import onedrive`` registers the classes), ``model.safetensors`` (sharded
with ``model.safetensors.index.json`` above ``max_shard_size``), ``generation_config.json``,
the tokenizer / processor files found in the checkpoint, ``README.md`` (model card) and,
with ``onnx=True``, ``onnx/`` (see ``onnx_graph``; needs the ``onnx`` extra, checked
before anything is read). Nothing of the training state (optimizer, scheduler, RNG,
training arguments) is copied. The folder is staged beside ``out``
(``onedrive.staging.StagingFolder``): an export killed midway leaves a hidden staging
folder that the next export to the same ``out`` removes.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import torch
from transformers import GenerationConfig

from onedrive.errors import InputError
from onedrive.export.checkpoint import CheckpointInfo, load_training_checkpoint
from onedrive.export.loading import check_model_folder
from onedrive.export.model_card import model_card
from onedrive.export.weights import read_json
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.staging import StagingFolder

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Tokenizer and processor files that save_pretrained of a tokenizer / ProcessorMixin writes.
PROCESSING_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
    "processor_config.json",
    "preprocessor_config.json",
)
MAX_NEW_TOKENS = 64  # OneDriveForDriving.generate's default
ONNX_EXPORT_PACKAGES = ("onnx", "onnxscript")  # torch.onnx.export(dynamo=True) needs both


def processing_files(info: CheckpointInfo) -> list[Path]:
    """Tokenizer / processor files of the checkpoint (or, for an adapter, of its base folder)."""
    for folder in (info.folder, info.base_folder):
        if folder is not None:
            found = [folder / name for name in PROCESSING_FILES if (folder / name).is_file()]
            if found:
                return found
    return []


def generation_config(model: OneDriveForDriving, info: CheckpointInfo) -> GenerationConfig:
    """The checkpoint's ``generation_config.json`` when present, else greedy decoding with the LLM's special ids."""
    for folder in (info.folder, info.base_folder):
        if folder is not None and (folder / "generation_config.json").is_file():
            return GenerationConfig.from_pretrained(folder)
    text = model.config.text_config
    return GenerationConfig(
        do_sample=False,
        max_new_tokens=MAX_NEW_TOKENS,
        bos_token_id=text.bos_token_id,
        eos_token_id=text.eos_token_id,
        pad_token_id=text.pad_token_id,
    )


def check_onnx_extra() -> None:
    """Raise ``InputError`` naming the packages of the ``onnx`` extra that ONNX export needs and that are missing."""
    missing = [name for name in ONNX_EXPORT_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(
            f"ONNX export (--onnx) needs the onnx extra: pip install 'onedrive[onnx]' (or pip install "
            f"{' '.join(missing)}); not installed: {missing}"
        )


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    dtype: str = "bf16",
    max_shard_size: str | int = "5GB",
    metrics: str | Path | None = None,
    onnx: bool = False,
    base: str | Path | None = None,
    lora_alpha: float | None = None,
    allow_pickle: bool = False,
    license: str = "apache-2.0",
    repo_id: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Merge, convert and write the folder described in the module docstring → ``out``."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (tools/export.py --overwrite)")
    if onnx:
        check_onnx_extra()
    metrics_path = Path(metrics) if metrics is not None else _find_metrics(Path(checkpoint))
    metrics_data = read_json(metrics_path) if metrics_path is not None else None

    model, info = load_training_checkpoint(checkpoint, base=base, lora_alpha=lora_alpha, allow_pickle=allow_pickle)
    staging = StagingFolder(out)
    try:
        onnx_files = []
        if onnx:  # from the float32 merged weights, before the dtype cast
            onnx_files = [f"onnx/{path.name}" for path in export_onnx_graphs(model, staging.path).values()]
        num_parameters = model.num_parameters()
        model = model.to(DTYPES[dtype])
        model.save_pretrained(staging.path, max_shard_size=max_shard_size)
        generation_config(model, info).save_pretrained(staging.path)
        for path in processing_files(info):
            shutil.copy2(path, staging.path / path.name)
        card = model_card(
            model.config,
            num_parameters,
            info,
            dtype,
            metrics_data,
            metrics_path,
            license,
            repo_id or out.name,
            onnx_files,
        )
        (staging.path / "README.md").write_text(card, encoding="utf-8")
        check_model_folder(staging.path)  # the written weights open and match their index
        staging.publish(overwrite)
    except BaseException:
        staging.discard()
        raise
    return out


def export_onnx_graphs(model: OneDriveForDriving, folder: Path) -> dict[str, Path]:
    from onedrive.export.onnx_graph import (
        export_onnx,  # onnx / onnxruntime are an optional extra
    )

    return export_onnx(model, folder)


def _find_metrics(checkpoint: Path) -> Path | None:
    for candidate in (checkpoint / "metrics.json", checkpoint.parent / "metrics.json"):
        if candidate.is_file():
            return candidate
    return None
