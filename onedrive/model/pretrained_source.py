"""Check what a ``from_pretrained``-style call was given, before transformers reads it.

A path that exists must be a folder holding a ``config.json`` of the expected
``model_type`` and weight files that are all present and whole (safetensors headers
checked by ``onedrive.export.weights``). A string naming no existing path goes on to the
Hub loader only when it has the form of a repository id ("name" or "org/name"). Each
failure raises ``InputError`` naming the path and what was expected.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from onedrive.errors import InputError

# How to load a folder of each model type, named when the wrong loader is given it.
LOADER_OF = {
    "onedrive": "OneDriveForDriving.from_pretrained",
    "internvl": "OneDriveForDriving.from_internvl",
}


def local_folder(source: str | Path, expected: str, subfolder: str = "") -> Path | None:
    """The folder ``source`` names (``subfolder`` inside it), or None for a hub repository id.

    ``expected`` says what the folder should be, for the error message.
    """
    path = Path(source)
    if path.exists():
        folder = path / subfolder if subfolder else path
        if not folder.is_dir():
            raise InputError(f"{folder} is {'a file' if folder.exists() else 'missing'}; expected {expected} folder")
        return folder
    try:
        validate_repo_id(str(source))
    except HFValidationError as error:
        raise InputError(
            f"{source}: no such folder, and not a hub repository id ('name' or 'org/name'); expected {expected} "
            f"folder or repository"
        ) from error
    return None


def check_local_checkpoint(folder: Path, model_type: str, expected: str, check_config: bool = True) -> None:
    """``folder``'s config.json has ``model_type`` (unless ``check_config`` is false) and its weights are whole."""
    from onedrive.export.weights import check_weight_files, read_json, weight_files

    if check_config:
        config_path = folder / "config.json"
        if not config_path.is_file():
            raise InputError(f"{folder} has no config.json; expected {expected} folder")
        found = read_json(config_path).get("model_type")
        if found != model_type:
            hint = f"; load it with {LOADER_OF[found]}" if found in LOADER_OF else ""
            raise InputError(
                f"{config_path} has model_type {found!r}; expected {expected} folder (model_type {model_type!r}){hint}"
            )
    check_weight_files(weight_files(folder, allow_pickle=True))


def check_pretrained_source(
    source: str | Path, model_type: str, expected: str, subfolder: str = "", check_config: bool = True
) -> None:
    """A local folder is checked here (see the module docstring); a hub repository id is left to transformers.

    ``source`` None (transformers then builds from ``config`` and ``state_dict``) is left to transformers too.
    """
    if source is None:
        return
    folder = local_folder(source, expected, subfolder)
    if folder is not None:
        check_local_checkpoint(folder, model_type, expected, check_config)
