"""A small synthetic nuScenes world and its training info file, for the streaming-training tests."""

from __future__ import annotations

from pathlib import Path

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.pipeline import create_infos
from onedrive.synthetic import DEFAULT_VERSION, SyntheticConfig, make_synthetic


def write_streaming_world(folder: str | Path, scenes: int = 3, samples_per_scene: int = 5) -> tuple[Path, Path]:
    """(data root, training info file): ``scenes`` scenes (a third held out for val) of ``samples_per_scene`` frames."""
    root = make_synthetic(Path(folder) / "world", SyntheticConfig(scenes, samples_per_scene), progress=False)
    settings = ConverterSettings(data_root=str(root), version=DEFAULT_VERSION)
    paths = create_infos(settings, Path(folder) / "infos", progress=False)
    (train,) = [path for path in paths if path.name.endswith("_train.json")]
    return root, train
