"""Read the per-token PDM scene file (``navsim_pdms_<split>.json``) into the scorer's scenes.

The file is written beside the NAVSIM info files by ``tools/create_data.py navsim``
(``onedrive/data/navsim/pdms_scenes.py`` documents its layout); maps are the scorer's
JSON maps (``map.py``) under the data root.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from onedrive.evaluation.pdms.map import load_map
from onedrive.evaluation.pdms.scene import EgoState, EPDMSInputs, ObjectTrack, PDMSScene
from onedrive.io import read_json

SCENES_FORMAT = "onedrive-pdms-scenes"
SCENES_VERSION = 2  # 2 added the EPDMS inputs (log_name, time, history, human, red_lights)


def load_pdms_scenes(path: str | Path, data_root: str | Path | None = None) -> list[PDMSScene]:
    """The scorer's scenes of a scene file; maps are read from ``data_root`` (default: the file's)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"PDM scene file {path} does not exist")
    document = read_json(path)
    if document.get("format") != SCENES_FORMAT or document.get("version") != SCENES_VERSION:
        raise ValueError(
            f"{path}: expected format {SCENES_FORMAT!r} version {SCENES_VERSION}, "
            f"got {document.get('format')!r} {document.get('version')!r}; write it again with "
            "tools/create_data.py navsim"
        )
    root = Path(data_root) if data_root is not None else Path(document["data_root"])
    maps = {location: load_map(root / relative) for location, relative in document["maps"].items()}
    scenes = []
    for token, entry in document["scenes"].items():
        ego = entry["ego"]
        objects = tuple(
            ObjectTrack(
                obj["token"],
                obj["object_class"],
                np.asarray(obj["times"]),
                np.asarray(obj["poses"]),
                np.asarray(obj["velocities"]),
                float(obj["length"]),
                float(obj["width"]),
            )
            for obj in entry["objects"]
        )
        state = EgoState(ego["x"], ego["y"], ego["heading"], tuple(ego["velocity"]), tuple(ego["acceleration"]))
        extended = EPDMSInputs(
            str(entry["log_name"]),
            float(entry["time"]),
            np.asarray(entry["history"], dtype=np.float64),
            np.asarray(entry["human"], dtype=np.float64),
            tuple(tuple(str(lane) for lane in frame) for frame in entry["red_lights"]),
        )
        road = maps[entry["map_location"]].with_route(entry["route"])
        scene = PDMSScene(token, state, objects, road, extended=extended)
        scene.validate()
        scenes.append(scene)
    return scenes
