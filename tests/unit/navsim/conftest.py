"""Shared fixtures: one small synthetic NAVSIM set, its world, and its converted info files."""

from __future__ import annotations

import pytest

from onedrive.data.navsim.infos import create_navsim_infos
from onedrive.synthetic import SyntheticConfig, generate_world, make_synthetic
from onedrive.synthetic.navsim_writer import NAVSIM_LOG_FOLDERS, NAVSIM_PADDING, NAVSIM_PARKING_GAP
from onedrive.synthetic.roads import RoadConfig
from onedrive.synthetic.traffic import navsim_turn_delay

CONFIG = SyntheticConfig(
    scenes=4, val_scenes=1, samples_per_scene=4, image_size=(64, 32), roads=RoadConfig(grid_nodes=3)
)


@pytest.fixture(scope="session")
def navsim_root(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("navsim") / "data", CONFIG, fmt="navsim", progress=False)


@pytest.fixture(scope="session")
def navsim_world():
    return generate_world(
        CONFIG,
        padding=NAVSIM_PADDING,
        parking_gap=NAVSIM_PARKING_GAP,
        turn_delay=navsim_turn_delay(CONFIG.samples_per_scene),
    )


@pytest.fixture(scope="session")
def navsim_infos(navsim_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("navsim_infos")
    for split in ("navtrain", "navtest"):
        create_navsim_infos(
            navsim_root, NAVSIM_LOG_FOLDERS[split], navsim_root / "scene_filters" / f"{split}.yaml", out, progress=False
        )
    return out
