"""Build what a training run needs from an ``ExperimentConfig``: model, tokenizer, processor, dataset.

* Model: ``OneDriveForDriving.from_internvl(model.internvl)`` (stage 1), or
  ``from_pretrained(<model.init_from>/final)`` (later stages). The task config is the
  stage's loss weights, then ``model.task``, then the camera settings of ``data``; a
  later stage whose task config changes a tensor's shape (e.g. NAVSIM's 8 × 3 waypoints
  from a 6 × 2 nuScenes checkpoint) re-initialises exactly those tensors and says so.
* Tokenizer: saved with ``init_from`` / ``internvl``, a named one, or ``"builtin"``
  (``onedrive.data.build_tokenizer`` trained on the training QA, for tiny models; a later
  stage always reuses the tokenizer saved with its ``init_from``).

    python -c "from onedrive.training.build import task_overrides; help(task_overrides)"
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, InternVLConfig, PreTrainedTokenizerBase

from onedrive.data import DriveDataset
from onedrive.data.conversation import location_context
from onedrive.data.plan_anchors import load_mode_anchors
from onedrive.infos import load_infos
from onedrive.io import apply_umask_tree
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.model.configuration_onedrive import OneDriveConfig, OneDriveTaskConfig
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.retired_plan_keys import drop_retired_plan_keys
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config
from onedrive.training.config import ExperimentConfig, TinyInternVLConfig, model_folder
from onedrive.training.recipe import stage_loss_weights

IMAGE_TOKEN_ID_TINY = 5  # <IMG_CONTEXT> of onedrive.data.build_tokenizer


def task_overrides(config: ExperimentConfig) -> dict:
    """Task-config values of this run: stage loss weights < ``model.task`` < the data's camera settings (keys of
    the removed planning design refused or dropped, ``retired_plan_keys``: a checkpoint's config gets none)."""
    overrides = stage_loss_weights(config.recipe)
    overrides.update(config.model.task)
    drop_retired_plan_keys(overrides, "model.task")
    overrides.update(
        num_cameras=len(config.data.cameras),
        camera_tiles=list(config.data.camera_tiles),
        use_thumbnail=config.data.use_thumbnail,
    )
    return overrides


def ensure_tiny_internvl(config: ExperimentConfig) -> None:
    """Write the random tiny InternVL3 of ``model.tiny`` to ``model.internvl`` when that folder is missing.

    A folder already there must hold a model of those sizes (``check_tiny_sizes``): a changed
    ``model.tiny`` would otherwise train the old model without a word.
    """
    model = config.model
    if model.tiny is None or model.init_from is not None:
        return
    target = Path(model.internvl)
    if target.is_dir():
        check_tiny_sizes(target, model.tiny)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    save_tiny_internvl(staging, tiny_config(model.tiny), seed=model.tiny.seed)
    apply_umask_tree(staging)  # mkdtemp made it private
    try:
        os.rename(staging, target)
    except OSError:  # another process of the same run wrote it first (same seed, same content)
        shutil.rmtree(staging)


# model.tiny field → (InternVLConfig sub-config, attribute); the seed leaves no trace in the config.
TINY_SIZE_FIELDS = {
    "hidden_size": ("text_config", "hidden_size"),
    "intermediate_size": ("text_config", "intermediate_size"),
    "num_hidden_layers": ("text_config", "num_hidden_layers"),
    "num_attention_heads": ("text_config", "num_attention_heads"),
    "num_key_value_heads": ("text_config", "num_key_value_heads"),
    "vocab_size": ("text_config", "vocab_size"),
    "vision_tile": ("vision_config", "image_size"),
    "vision_hidden_size": ("vision_config", "hidden_size"),
}


def tiny_config(sizes: TinyInternVLConfig) -> InternVLConfig:
    """The InternVL3 config of ``model.tiny``'s sizes, each set where ``TINY_SIZE_FIELDS`` says."""
    settings: dict[str, dict] = {"text_config": {}, "vision_config": {}}
    for field, (part, name) in TINY_SIZE_FIELDS.items():
        settings[part][name] = getattr(sizes, field)
    return tiny_internvl_config(
        image_token_id=IMAGE_TOKEN_ID_TINY,
        vision_overrides=settings["vision_config"],
        **settings["text_config"],
    )


def check_tiny_sizes(folder: Path, sizes: TinyInternVLConfig) -> None:
    """Raise if the InternVL in ``folder`` differs from ``tiny_config(sizes)`` in a size ``model.tiny`` sets."""
    wanted, found = tiny_config(sizes), InternVLConfig.from_pretrained(folder)
    differences = []
    for field, (part, name) in TINY_SIZE_FIELDS.items():
        want, have = (getattr(getattr(config, part), name) for config in (wanted, found))
        if _as_list(want) != _as_list(have):
            differences.append(f"model.tiny.{field} = {getattr(sizes, field)}, the folder's {part}.{name} = {have}")
    if differences:
        raise ValueError(
            f"model.internvl {folder} holds a model of other sizes than model.tiny ({'; '.join(differences)}): "
            "delete the folder to have the tiny model written there again, or point model.internvl at a new folder"
        )


def _as_list(value):
    """Sizes as a saved config.json reads back: tuples become lists (the ViT's image_size)."""
    return list(value) if isinstance(value, tuple) else value


def torch_dtype(name: str) -> torch.dtype:
    return {
        "float32": torch.float32,
        "bfloat16": torch.bfloat16,
        "float16": torch.float16,
    }[name]


def new_model_task(config: ExperimentConfig) -> dict:
    """The task config of a model built from scratch for this run: ``task_overrides`` and the training split's
    planning mode anchors (unless ``model.task`` sets them)."""
    overrides = task_overrides(config)
    defaults = OneDriveTaskConfig()
    overrides.update(training_mode_anchors(config, lambda key: overrides.get(key, getattr(defaults, key))))
    return overrides


def build_model(config: ExperimentConfig) -> tuple[OneDriveForDriving, list[str]]:
    """The model of this stage, and notes on tensors that were (re-)initialised rather than loaded."""
    model_cfg = config.model
    dtype = torch_dtype(model_cfg.dtype)
    if model_cfg.init_from is None:
        model = OneDriveForDriving.from_internvl(
            model_cfg.internvl,
            task_config=new_model_task(config),
            attn_implementation=model_cfg.attn_implementation,
            dtype=dtype,
        )
        return model, []
    folder = model_folder(model_cfg.init_from)
    model_config = OneDriveConfig.from_pretrained(folder)
    task = model_config.task_config
    for key, value in task_overrides(config).items():
        setattr(task, key, value)
    for key, value in training_mode_anchors(config, lambda key: getattr(task, key)).items():
        setattr(task, key, value)
    task.__post_init__()  # normalise and validate the changed values
    model, info = OneDriveForDriving.from_pretrained(
        folder,
        config=model_config,
        attn_implementation=model_cfg.attn_implementation,
        dtype=dtype,
        ignore_mismatched_sizes=True,
        output_loading_info=True,
    )
    notes = [f"re-initialised (shape changed by the task config): {key}" for key in _keys(info.get("mismatched_keys"))]
    notes += [f"initialised (not in {folder}): {key}" for key in _keys(info.get("missing_keys"))]
    return model, notes


def training_mode_anchors(config: ExperimentConfig, value: Callable[[str], Any]) -> dict:
    """``{"plan_mode_anchors": ...}`` from the training split's info file for the run's task (``value(key)``)
    when ``model.task`` does not set the anchors; ``{}`` when it does. A model built from a checkpoint takes them
    from the training split too (NAVSIM's trajectories differ from nuScenes')."""
    if "plan_mode_anchors" in config.model.task:
        return {}
    shape = tuple(value(key) for key in ("num_commands", "num_plan_modes", "plan_steps", "plan_dims"))
    return {"plan_mode_anchors": load_mode_anchors(config.data.infos_path(config.data.train_split), shape)}


def _keys(entries) -> list[str]:
    return sorted(entry[0] if isinstance(entry, tuple) else str(entry) for entry in (entries or []))


def build_tokenizer_for(config: ExperimentConfig) -> PreTrainedTokenizerBase:
    source = config.model.tokenizer
    if config.model.init_from is not None and source in (None, "builtin"):
        return AutoTokenizer.from_pretrained(model_folder(config.model.init_from))
    if source == "builtin":
        corpus = _training_qa(config)
        vocab = config.model.tiny.vocab_size if config.model.tiny is not None else 512
        return build_tokenizer(corpus=corpus, vocab_size=vocab)
    return AutoTokenizer.from_pretrained(source or config.model.internvl)


def _training_qa(config: ExperimentConfig) -> list[str]:
    _, records = load_infos(config.data.infos_path(config.data.train_split))
    texts = []
    for record in records:
        texts.append(location_context(record))
        for turn in record.get("qa") or []:
            texts += [str(turn.get("question", "")), str(turn.get("answer", ""))]
    return texts


def build_processor(model: OneDriveForDriving, tokenizer: PreTrainedTokenizerBase) -> OneDriveProcessor:
    return OneDriveProcessor.from_config(model.config, tokenizer)


def build_train_dataset(config: ExperimentConfig, processor: OneDriveProcessor) -> DriveDataset:
    data = config.data
    return DriveDataset(
        data.infos_path(data.train_split),
        data.root,
        processor,
        split=data.train_split,
        qa_mode=data.qa_mode,
        augment=data.augment,
        cameras=data.cameras,
        qa_seed=config.train.seed,
        detection_targets=data.detection_targets,
        max_text_tokens=data.max_text_tokens,
    )
