"""Shared fixtures: one default synthetic dataset per test session, loaded by the real devkit."""

from __future__ import annotations

import pytest
from nuscenes import NuScenes

from onedrive.synthetic import DEFAULT_VERSION, SyntheticConfig, generate_world, make_synthetic


@pytest.fixture(scope="session")
def default_config() -> SyntheticConfig:
    return SyntheticConfig()


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory, default_config):
    return make_synthetic(tmp_path_factory.mktemp("synthetic") / "data", default_config, progress=False)


@pytest.fixture(scope="session")
def world(default_config):
    return generate_world(default_config)


@pytest.fixture(scope="session")
def nusc(synthetic_root) -> NuScenes:
    return NuScenes(version=DEFAULT_VERSION, dataroot=str(synthetic_root), verbose=False)
