"""Which scenes belong to a split, following the devkit.

Predefined names (``train``, ``val``, ``test``, ``mini_train``, ``mini_val``,
``train_detect``, ``train_track``) come from ``nuscenes.utils.splits.
create_splits_scenes()``; any other name is read from ``<data_root>/<version>/
splits.json`` — the file devkit 1.2's ``get_scenes_of_custom_split`` reads.

Default splits of a version (when ``--split`` is not given): the standard ones the
devkit's evaluation pairs with it (``v1.0-trainval``: train, val; ``v1.0-mini``:
mini_train, mini_val; ``v1.0-test``: test), otherwise every split in ``splits.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from onedrive.extras import extra_module

create_splits_scenes = extra_module("nuscenes.utils.splits", "nuscenes").create_splits_scenes

STANDARD_SPLITS = {"trainval": ("train", "val"), "mini": ("mini_train", "mini_val"), "test": ("test",)}


def custom_splits_file(data_root: str | os.PathLike, version: str) -> Path:
    return Path(data_root) / version / "splits.json"


def _custom_splits(data_root: str | os.PathLike, version: str) -> dict[str, list[str]]:
    path = custom_splits_file(data_root, version)
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as handle:
        content = json.load(handle)
    if not isinstance(content, dict) or not all(isinstance(v, list) for v in content.values()):
        raise ValueError(f"{path}: expected {{split_name: [scene names]}}, got {type(content).__name__}")
    return content


def default_splits(data_root: str | os.PathLike, version: str) -> list[str]:
    """Splits written when the user names none (see module docstring)."""
    for suffix, names in STANDARD_SPLITS.items():
        if version.endswith(suffix):
            return list(names)
    custom = _custom_splits(data_root, version)
    if not custom:
        raise ValueError(
            f"version {version!r} is not a standard nuScenes version and {custom_splits_file(data_root, version)} "
            f"does not exist: pass --split with a predefined split name"
        )
    return list(custom)


def scenes_of_split(data_root: str | os.PathLike, version: str, split: str, scene_names: set[str]) -> list[str]:
    """Scene names of ``split`` present in this version, sorted.

    Raises when the split is unknown, or names scenes that the version does not hold
    (a wrong ``--version`` / ``--split`` pair, e.g. ``val`` on ``v1.0-mini``).
    """
    predefined = create_splits_scenes()
    if split in predefined:
        names = predefined[split]
    else:
        custom = _custom_splits(data_root, version)
        if split not in custom:
            raise ValueError(
                f"unknown split {split!r}: not predefined ({sorted(predefined)}) and not in "
                f"{custom_splits_file(data_root, version)} ({sorted(custom)})"
            )
        names = custom[split]
    missing = sorted(set(names) - scene_names)
    if missing:
        raise ValueError(
            f"split {split!r} names {len(missing)} scene(s) that {version} at {data_root} does not hold "
            f"(first: {missing[:3]}); pick a split that matches the version"
        )
    return sorted(names)
