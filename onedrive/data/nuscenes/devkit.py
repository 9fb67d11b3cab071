"""Opening the nuScenes tables and maps through the devkit, with errors that name
what is missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from onedrive.extras import extra_module

NuScenes = extra_module("nuscenes", "nuscenes").NuScenes
_map_api = extra_module("nuscenes.map_expansion.map_api", "nuscenes")
NuScenesMap, locations = _map_api.NuScenesMap, _map_api.locations


def load_nuscenes(data_root: str | os.PathLike, version: str) -> NuScenes:
    """``NuScenes(version, data_root)``, quiet.

    The devkit links every annotation to its instance while loading; a dangling link
    surfaces there as a bare ``KeyError``. It is re-raised as ``ValueError`` naming the
    annotation and the instance it points at.
    """
    table_root = Path(data_root) / version
    if not table_root.is_dir():
        raise FileNotFoundError(f"nuScenes tables {table_root} do not exist (check --data-root and --version)")
    try:
        return NuScenes(version=version, dataroot=os.fspath(data_root), verbose=False)
    except KeyError as error:
        raise ValueError(_explain_missing_record(table_root, str(error.args[0]) if error.args else "")) from error


def _explain_missing_record(table_root: Path, token: str) -> str:
    with open(table_root / "instance.json", encoding="utf-8") as handle:
        instances = {record["token"] for record in json.load(handle)}
    with open(table_root / "sample_annotation.json", encoding="utf-8") as handle:
        dangling = [
            (record["token"], record["instance_token"])
            for record in json.load(handle)
            if record["instance_token"] not in instances
        ]
    if dangling:
        annotation, instance = dangling[0]
        return (
            f"{table_root / 'sample_annotation.json'}: annotation {annotation} points at instance {instance}, "
            f"which is not in instance.json ({len(dangling)} such annotation(s))"
        )
    return f"{table_root}: a record refers to token {token}, which its table does not hold"


def load_map(data_root: str | os.PathLike, location: str, context: str) -> NuScenesMap:
    """The map expansion of ``location``; ``context`` (log / scene) goes into errors."""
    path = Path(data_root) / "maps" / "expansion" / f"{location}.json"
    if location not in locations:
        raise ValueError(f"{context}: location {location!r} is not one of the devkit's map locations {locations}")
    if not path.is_file():
        raise FileNotFoundError(f"map expansion file {path} for location {location!r} ({context}) does not exist")
    try:
        return NuScenesMap(dataroot=os.fspath(data_root), map_name=location)
    except KeyError as error:  # the devkit indexes the JSON by layer name, then by token
        missing = error.args[0] if error.args else ""
        raise ValueError(
            f"map expansion file {path} ({context}) has no {missing!r}: a layer of the map expansion v1.3 (e.g. "
            f"'lane', 'drivable_area', 'lane_connector') or a record a layer refers to is missing"
        ) from error
