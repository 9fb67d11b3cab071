"""``model.tiny``: the random InternVL is written once, and a folder of other sizes is refused, not trained."""

from dataclasses import replace

import pytest
from tiny_run import tiny_experiment
from transformers import InternVLForConditionalGeneration

from onedrive.training.build import ensure_tiny_internvl


def with_tiny(config, **sizes):
    return replace(config, model=replace(config.model, tiny=replace(config.model.tiny, **sizes)))


def test_written_with_the_configured_sizes_and_reused(tmp_path):
    config = with_tiny(tiny_experiment(tmp_path, tmp_path / "out"), num_hidden_layers=3, vision_tile=112)
    ensure_tiny_internvl(config)
    folder = tmp_path / "tiny_internvl"
    model = InternVLForConditionalGeneration.from_pretrained(folder)
    assert model.config.text_config.num_hidden_layers == 3
    assert len(model.model.language_model.layers) == 3
    written = (folder / "config.json").stat().st_mtime_ns
    ensure_tiny_internvl(config)  # same sizes: the folder is kept as it is
    assert (folder / "config.json").stat().st_mtime_ns == written


def test_folder_of_other_sizes_is_refused(tmp_path):
    config = tiny_experiment(tmp_path, tmp_path / "out")
    ensure_tiny_internvl(config)
    deeper = with_tiny(config, num_hidden_layers=3, vision_hidden_size=64)
    with pytest.raises(
        ValueError, match="num_hidden_layers = 3, the folder's text_config.num_hidden_layers = 2"
    ) as error:
        ensure_tiny_internvl(deeper)
    assert "vision_hidden_size = 64, the folder's vision_config.hidden_size = 32" in str(error.value)
    assert "delete the folder" in str(error.value)
