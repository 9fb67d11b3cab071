"""Tiny random InternVL checkpoints written with save_pretrained (session-scoped)."""

import pytest
from model_helpers import IMAGE_TOKEN_ID

from onedrive.tiny import save_tiny_internvl, tiny_internvl_config


@pytest.fixture(scope="session")
def internvl_dir(tmp_path_factory):
    return save_tiny_internvl(
        tmp_path_factory.mktemp("internvl") / "tiny", tiny_internvl_config(image_token_id=IMAGE_TOKEN_ID)
    )


@pytest.fixture(scope="session")
def three_layer_internvl_dir(tmp_path_factory):
    config = tiny_internvl_config(image_token_id=IMAGE_TOKEN_ID, num_hidden_layers=3)
    return save_tiny_internvl(tmp_path_factory.mktemp("internvl3") / "tiny", config, seed=1)
