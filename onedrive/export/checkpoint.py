"""Read what training leaves behind and give back one ``OneDriveForDriving`` with LoRA merged.

Layouts (written by ``onedrive.training`` or by peft itself):

1. ``model``: a ``save_pretrained`` folder — ``config.json`` + ``model.safetensors`` (or
   shards with an index); e.g. a stage's ``final/``.
2. ``trainer-lora``: a Trainer ``checkpoint-N`` folder of a LoRA stage. The Trainer
   trains the inner ``OneDriveForDriving`` with LoRA injected in place (see
   ``onedrive.training.recipe.apply_recipe``), so its ``model.safetensors`` holds
   ``…q_proj.base_layer.weight`` and ``…q_proj.lora_A.default.weight`` / ``lora_B``
   tensors. The rank comes from the tensors; the scaling ``lora_alpha`` from
   ``adapter_config.json`` when present, else from ``experiment.json``
   (``recipe.lora_alpha``, in the folder or in its parent, the Trainer's output_dir),
   else from the ``lora_alpha`` argument.
3. ``adapter``: what ``PeftModel.save_pretrained`` writes — ``adapter_config.json`` +
   ``adapter_model.safetensors`` — on top of a OneDrive model folder: the same folder
   when it also holds ``config.json`` and weights, else ``base``, else the adapter's
   ``base_model_name_or_path`` (absolute, relative to the folder, or a hub id).

LoRA is merged with peft (``get_peft_model`` → load the tensors → ``merge_and_unload``).
Optimizer, scheduler, RNG and ``training_args.bin`` files are never read (pickles, and
training state). ``trainer_state.json`` and ``experiment.json`` are read for the model card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

from onedrive.export.loading import check_model_folder, resolve_model_folder, tied_keys
from onedrive.export.weights import (
    CheckpointError,
    read_json,
    read_state_dict,
    tensor_names,
    weight_files,
)
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.tied_embeddings import checkpoint_ties

ADAPTER_CONFIG = "adapter_config.json"
EXPERIMENT_FILE = "experiment.json"
TRAINER_STATE = "trainer_state.json"
_INJECTED_LORA = re.compile(r"^(?P<module>.+)\.lora_(?P<part>A|B)\.(?P<adapter>[^.]+)\.weight$")


@dataclass
class CheckpointInfo:
    """Where a merged model came from (what the model card reports)."""

    folder: Path
    layout: str  # "model", "trainer-lora" or "adapter"
    weight_files: list[Path]
    base_folder: Path | None = None  # adapter layout: the model the adapter sits on
    lora: dict | None = None  # r, lora_alpha, target_modules, source of alpha
    trainer_state: dict | None = None
    experiment: dict | None = None
    found_files: dict[str, Path] = field(default_factory=dict)  # "trainer_state" / "experiment" → path


def _near(folder: Path, name: str) -> Path | None:
    """``name`` in the folder, else in its parent (a Trainer output_dir holding checkpoint-N folders)."""
    for candidate in (folder / name, folder.parent / name):
        if candidate.is_file():
            return candidate
    return None


def _trainer_state_path(folder: Path) -> Path | None:
    """The folder's ``trainer_state.json``, else the one of the parent's latest ``checkpoint-N``."""
    if (folder / TRAINER_STATE).is_file():
        return folder / TRAINER_STATE
    steps = []
    for candidate in folder.parent.glob("checkpoint-*"):
        if candidate.name.split("-")[-1].isdigit() and (candidate / TRAINER_STATE).is_file():
            steps.append((int(candidate.name.split("-")[-1]), candidate / TRAINER_STATE))
    return max(steps)[1] if steps else None


def _build(config: OneDriveConfig) -> OneDriveForDriving:
    return OneDriveForDriving._from_config(config, dtype=torch.float32).eval()


def _load_exactly(model: torch.nn.Module, state: dict[str, torch.Tensor], files: list[Path], allowed_missing: set[str]):
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = sorted(set(missing) - allowed_missing)
    if missing or unexpected:
        raise CheckpointError(
            f"the tensors of {[str(f) for f in files]} do not fit the model of its config.json: "
            f"missing {missing[:5]}, unexpected {sorted(unexpected)[:5]}"
        )


def _injected_lora(state: dict[str, torch.Tensor], files: list[Path]) -> tuple[list[str], int]:
    """Module names carrying LoRA and the rank, from ``…lora_A.<adapter>.weight`` tensors."""
    ranks, adapters = {}, set()
    for key, tensor in state.items():
        if ".lora_" not in key:
            continue
        match = _INJECTED_LORA.match(key)
        if match is None:
            raise CheckpointError(f"{files[0]}: LoRA tensor {key!r} is not a plain lora_A / lora_B weight (DoRA?)")
        adapters.add(match["adapter"])
        if match["part"] == "A":
            ranks[match["module"]] = tensor.shape[0]
    if adapters != {"default"}:
        raise CheckpointError(f"{files[0]}: expected one LoRA adapter named 'default', got {sorted(adapters)}")
    if len(set(ranks.values())) != 1:
        raise CheckpointError(f"{files[0]}: LoRA ranks differ between modules: {sorted(set(ranks.values()))}")
    return sorted(ranks), next(iter(ranks.values()))


def _lora_alpha(folder: Path, rank: int, lora_alpha: float | None, experiment: dict | None, source: Path | None):
    if (folder / ADAPTER_CONFIG).is_file():
        config = read_json(folder / ADAPTER_CONFIG)
        return config["lora_alpha"], bool(config.get("use_rslora", False)), str(folder / ADAPTER_CONFIG)
    if lora_alpha is not None:
        return lora_alpha, False, "lora_alpha argument"
    recipe = (experiment or {}).get("recipe", {})
    if "lora_alpha" not in recipe:
        raise CheckpointError(
            f"{folder} holds LoRA tensors (rank {rank}) but no {ADAPTER_CONFIG}, and no {EXPERIMENT_FILE} with "
            f"recipe.lora_alpha was found in it or its parent; pass lora_alpha (tools/export.py --lora-alpha)"
        )
    if recipe.get("lora_rank") not in (None, rank):
        raise CheckpointError(f"{source}: recipe.lora_rank is {recipe['lora_rank']} but the tensors have rank {rank}")
    return recipe["lora_alpha"], False, str(source)


def _merge_injected(config, state, files, folder, lora_alpha, info: CheckpointInfo) -> OneDriveForDriving:
    modules, rank = _injected_lora(state, files)
    alpha, rslora, source = _lora_alpha(folder, rank, lora_alpha, info.experiment, info.found_files.get("experiment"))
    model = _build(config)
    lora_config = LoraConfig(r=rank, lora_alpha=alpha, use_rslora=rslora, target_modules=modules, lora_dropout=0.0)
    peft_model = get_peft_model(model, lora_config)
    _load_exactly(model, state, files, tied_keys(model))
    info.lora = {"r": rank, "lora_alpha": alpha, "use_rslora": rslora, "modules": len(modules), "alpha_from": source}
    return peft_model.merge_and_unload()


def _read_plain(folder: Path, allow_pickle: bool) -> tuple[OneDriveConfig, dict[str, torch.Tensor], list[Path]]:
    files = check_model_folder(folder, allow_pickle)
    config, state = OneDriveConfig.from_pretrained(folder), read_state_dict(files)
    config.tie_word_embeddings = checkpoint_ties(config.tie_word_embeddings, state)  # as from_pretrained decides
    return config, state, files


def _base_of_adapter(folder: Path, base: str | Path | None) -> Path:
    if base is not None:
        return resolve_model_folder(base)
    named = read_json(folder / ADAPTER_CONFIG).get("base_model_name_or_path")
    if not named:
        raise CheckpointError(f"{folder / ADAPTER_CONFIG} names no base model; pass base (tools/export.py --base DIR)")
    for candidate in (folder / named, Path(named)):
        if candidate.is_dir():
            return candidate
    return resolve_model_folder(named)


def _merge_adapter(folder: Path, base: str | Path | None, allow_pickle: bool, info: CheckpointInfo):
    base_folder = folder if (folder / "config.json").is_file() and base is None else _base_of_adapter(folder, base)
    try:
        config, base_state, base_files = _read_plain(base_folder, allow_pickle)
    except CheckpointError as error:
        raise CheckpointError(
            f"the adapter in {folder} needs a OneDrive model folder as its base (tools/export.py --base DIR): {error}"
        ) from error
    if any(".lora_" in key for key in base_state):
        raise CheckpointError(f"{base_folder}: the base of an adapter must not hold LoRA tensors itself")
    model = _build(config)
    _load_exactly(model, base_state, base_files, tied_keys(model))
    lora_config = LoraConfig.from_pretrained(folder)
    if not isinstance(lora_config, LoraConfig) or lora_config.peft_type.value != "LORA":
        raise CheckpointError(
            f"{folder / ADAPTER_CONFIG}: only LoRA adapters can be merged, got {lora_config.peft_type}"
        )
    adapter_files = weight_files(folder, allow_pickle=allow_pickle, stem="adapter_model")
    peft_model = get_peft_model(model, lora_config)
    result = set_peft_model_state_dict(peft_model, read_state_dict(adapter_files))
    not_loaded = [key for key in result.missing_keys if ".lora_" in key]
    if result.unexpected_keys or not_loaded:
        raise CheckpointError(
            f"{adapter_files[0]} does not fit the base model {base_folder}: unexpected "
            f"{sorted(result.unexpected_keys)[:5]}, LoRA tensors not found {sorted(not_loaded)[:5]}"
        )
    target = lora_config.target_modules
    info.base_folder, info.weight_files = base_folder, base_files + adapter_files
    info.lora = {
        "r": lora_config.r,
        "lora_alpha": lora_config.lora_alpha,
        "use_rslora": lora_config.use_rslora,
        "target_modules": target if isinstance(target, str) else sorted(target),
        "alpha_from": str(folder / ADAPTER_CONFIG),
    }
    return peft_model.merge_and_unload()


def load_training_checkpoint(
    path: str | Path,
    base: str | Path | None = None,
    lora_alpha: float | None = None,
    allow_pickle: bool = False,
) -> tuple[OneDriveForDriving, CheckpointInfo]:
    """Any layout of the module docstring → (float32 model with LoRA merged, in eval mode; where it came from)."""
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {folder} is not a folder")
    info = CheckpointInfo(folder=folder, layout="model", weight_files=[])
    for key, found in (("trainer_state", _trainer_state_path(folder)), ("experiment", _near(folder, EXPERIMENT_FILE))):
        if found is not None:
            info.found_files[key] = found
            setattr(info, key, read_json(found))

    has_model = (folder / "config.json").is_file()
    if (folder / ADAPTER_CONFIG).is_file() and (
        not has_model or base is not None or not _holds_lora(folder, allow_pickle)
    ):
        info.layout = "adapter"
        model = _merge_adapter(folder, base, allow_pickle, info)
    else:
        config, state, files = _read_plain(folder, allow_pickle)
        info.weight_files = files
        if any(".lora_" in key for key in state):
            info.layout = "trainer-lora"
            model = _merge_injected(config, state, files, folder, lora_alpha, info)
        else:
            model = _build(config)
            _load_exactly(model, state, files, tied_keys(model))
    leftover = [name for name, _ in model.named_parameters() if ".lora_" in name or ".base_layer." in name]
    if leftover:
        raise CheckpointError(f"merging LoRA of {folder} left peft tensors behind: {leftover[:5]}")
    return model.eval(), info


def _holds_lora(folder: Path, allow_pickle: bool) -> bool:
    """Whether the model weights next to an adapter_config.json carry injected LoRA tensors (trainer-lora)."""
    return any(".lora_" in name for name in tensor_names(weight_files(folder, allow_pickle=allow_pickle)))
