"""Find, check and read the weight files of a Hugging Face model folder — safetensors first.

Every problem raises ``CheckpointError`` naming the file: a missing shard of a
``model.safetensors.index.json``, a truncated or corrupt safetensors file (its header
must cover the whole file; the ``safetensors`` library checks that when opening), a
folder with no weights. Pickle weights (``pytorch_model.bin``) are read only when the
caller passes ``allow_pickle=True``, and then with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from onedrive.errors import InputError

SAFE_SINGLE = "model.safetensors"
SAFE_INDEX = "model.safetensors.index.json"
PICKLE_SINGLE = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"


class CheckpointError(InputError):
    """A checkpoint or exported folder that cannot be loaded; the message names the file."""


def read_json(path: Path) -> dict:
    """A JSON object from ``path`` (error names the file)."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} must hold a JSON object, got {type(value).__name__}")
    return value


def _index_shards(index_path: Path) -> list[Path]:
    weight_map = read_json(index_path).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"{index_path} has no 'weight_map' (tensor name → shard file)")
    shards = [index_path.parent / name for name in sorted(set(weight_map.values()))]
    missing = [shard.name for shard in shards if not shard.is_file()]
    if missing:
        raise CheckpointError(f"{index_path} lists shard files that are missing from {index_path.parent}: {missing}")
    return shards


def weight_files(folder: Path, allow_pickle: bool = False, stem: str = "model") -> list[Path]:
    """The weight files of ``folder`` (one file or every shard of an index), safetensors preferred.

    ``stem`` is "model" for a model folder; ``adapter_model`` for a peft adapter folder
    (single files only, as peft writes them).
    """
    safe_single, safe_index = folder / f"{stem}.safetensors", folder / f"{stem}.safetensors.index.json"
    pickle_single, pickle_index = folder / f"{stem}.bin", folder / f"{stem}.bin.index.json"
    if stem == "model":
        pickle_single, pickle_index = folder / PICKLE_SINGLE, folder / PICKLE_INDEX
    if safe_index.is_file():
        return _index_shards(safe_index)
    if safe_single.is_file():
        return [safe_single]
    pickled = [path for path in (pickle_index, pickle_single) if path.is_file()]
    if pickled and not allow_pickle:
        raise CheckpointError(
            f"{pickled[0]} is a pickle checkpoint and {folder} has no {safe_single.name}; pass allow_pickle=True "
            f"(tools/export.py --allow-pickle) to read it with torch.load(weights_only=True)"
        )
    if pickle_index.is_file():
        return _index_shards(pickle_index)
    if pickle_single.is_file():
        return [pickle_single]
    present = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    raise CheckpointError(
        f"{folder} holds no weights: expected {safe_single.name} or {safe_index.name}"
        f"{'' if stem != 'model' else ' (or pytorch_model.bin with allow_pickle)'}; found {present}"
    )


def check_safetensors(path: Path) -> list[str]:
    """Open ``path``'s header (the library checks it covers the whole file) → its tensor names."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return list(handle.keys())
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a complete safetensors file (truncated or corrupt?): {error}") from error


def check_weight_files(files: list[Path]) -> None:
    """Every safetensors file opens and, for an index, holds exactly the tensors the index maps to it."""
    index = files[0].parent / SAFE_INDEX
    expected: dict[str, set[str]] = {}
    if index.is_file() and files[0].suffix == ".safetensors":
        for name, shard in read_json(index)["weight_map"].items():
            expected.setdefault(shard, set()).add(name)
    for path in files:
        if path.suffix != ".safetensors":
            continue
        names = set(check_safetensors(path))
        if path.name in expected and not expected[path.name] <= names:
            absent = sorted(expected[path.name] - names)[:5]
            raise CheckpointError(f"{path} lacks tensors that {index.name} maps to it, e.g. {absent}")


def tensor_names(files: list[Path]) -> list[str]:
    """Names of the tensors in ``files`` (safetensors: from the headers only)."""
    names: list[str] = []
    for path in files:
        names += check_safetensors(path) if path.suffix == ".safetensors" else list(read_state_dict([path]))
    return names


def read_state_dict(files: list[Path]) -> dict[str, torch.Tensor]:
    """All tensors of ``files`` on the CPU (safetensors, or pickle with ``weights_only=True``)."""
    check_weight_files(files)
    state: dict[str, torch.Tensor] = {}
    for path in files:
        if path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                names = handle.keys()
                part = {name: handle.get_tensor(name) for name in names}
        else:
            try:
                part = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError… for bad files
                raise CheckpointError(
                    f"{path} could not be read with torch.load(weights_only=True): {error}"
                ) from error
            if not isinstance(part, dict) or not all(isinstance(v, torch.Tensor) for v in part.values()):
                raise CheckpointError(f"{path} must hold a dict of tensors, got {type(part).__name__}")
        overlap = set(part) & set(state)
        if overlap:
            raise CheckpointError(f"{path} repeats tensors already read from another shard: {sorted(overlap)[:5]}")
        state.update(part)
    return state
