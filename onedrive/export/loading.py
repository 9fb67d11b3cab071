"""Load an exported OneDrive folder or hub repository, with errors that name the bad file.

``OneDriveForDriving.from_pretrained(DIR or "org/name")`` and, after ``import onedrive``,
``AutoModel.from_pretrained`` work on their own (no ``trust_remote_code``: the classes
are registered with the Auto factories). ``load_model`` adds what a deployment wants
before that call: the folder is found (a local folder, or a repository resolved through
the Hugging Face cache — ``HF_HUB_OFFLINE=1`` reads only the cache), its
``config.json`` must be a OneDrive config, every weight file must be present and whole
(``weights.check_weight_files``), pickle weights need ``allow_pickle``, and after
loading no tensor may be missing, unexpected or of the wrong shape.
"""

from __future__ import annotations

from pathlib import Path

import torch
from huggingface_hub import snapshot_download

from onedrive.export.weights import (
    CheckpointError,
    check_weight_files,
    read_json,
    weight_files,
)
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.modeling_onedrive import OneDriveForDriving

# What a model repository needs for loading (tokenizer / processor files are fetched by their own classes).
MODEL_FILE_PATTERNS = ["config.json", "generation_config.json", "*.safetensors", "*.safetensors.index.json"]


def resolve_model_folder(path_or_repo: str | Path, revision: str | None = None) -> Path:
    """A local folder as given; otherwise a hub repository id resolved to its snapshot in the HF cache."""
    local = Path(path_or_repo)
    if local.is_dir():
        return local
    if local.exists():
        raise CheckpointError(f"{local} is a file; expected a model folder or a hub repository id")
    try:
        return Path(snapshot_download(str(path_or_repo), revision=revision, allow_patterns=MODEL_FILE_PATTERNS))
    except Exception as error:  # hub errors (offline, not cached, not found, invalid id) → one clear message
        raise CheckpointError(
            f"{path_or_repo!r} is neither a local folder nor a repository found on the hub or in the Hugging Face "
            f"cache ({type(error).__name__}: {error})"
        ) from error


def check_model_folder(folder: Path, allow_pickle: bool = False) -> list[Path]:
    """``config.json`` is OneDrive's and every weight file is present and complete → the weight files."""
    config_path = folder / "config.json"
    model_type = read_json(config_path).get("model_type")
    if model_type != OneDriveConfig.model_type:
        raise CheckpointError(
            f"{config_path} has model_type {model_type!r}; a OneDrive folder has {OneDriveConfig.model_type!r}"
        )
    files = weight_files(folder, allow_pickle=allow_pickle)
    check_weight_files(files)
    return files


def tied_keys(model: OneDriveForDriving) -> set[str]:
    """Parameters that share storage with another one when the config ties them (not saved)."""
    return set(model._tied_weights_keys or {}) if model.config.tie_word_embeddings else set()


def load_model(
    path_or_repo: str | Path,
    allow_pickle: bool = False,
    revision: str | None = None,
    dtype: torch.dtype | str = "auto",
    **from_pretrained_kwargs,
) -> OneDriveForDriving:
    """Checked ``OneDriveForDriving.from_pretrained`` (see the module docstring); returns the model in eval mode."""
    folder = resolve_model_folder(path_or_repo, revision)
    files = check_model_folder(folder, allow_pickle)
    pickled = files[0].suffix != ".safetensors"
    try:
        model, info = OneDriveForDriving.from_pretrained(
            folder,
            use_safetensors=not pickled,
            weights_only=True,  # pickle weights (allow_pickle) go through torch.load(weights_only=True)
            dtype=dtype,
            output_loading_info=True,
            **from_pretrained_kwargs,
        )
    except Exception as error:  # transformers' own errors do not always name the folder
        raise CheckpointError(f"loading {folder} failed: {type(error).__name__}: {error}") from error
    problems = {
        "missing": sorted(set(info["missing_keys"]) - tied_keys(model)),
        "unexpected": sorted(info["unexpected_keys"]),
        "wrong shape": sorted(str(item) for item in info["mismatched_keys"]),
    }
    problems = {kind: keys for kind, keys in problems.items() if keys}
    if problems:
        details = "; ".join(f"{kind}: {keys[:5]}" for kind, keys in problems.items())
        raise CheckpointError(f"{folder}: the weights in {[f.name for f in files]} do not fit the config ({details})")
    return model.eval()
