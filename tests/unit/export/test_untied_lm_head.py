"""An InternVL with its own LM head (InternVL3-1B/2B-hf) keeps it through training's save, export and loading."""

import json

import pytest
import torch
from model_helpers import load_onedrive, remove_top_level_key, save_internvl_like_release

from onedrive import OneDriveForDriving
from onedrive.export import export_checkpoint, load_model
from onedrive.model.tied_embeddings import embeddings_tied


@pytest.fixture(scope="module")
def untied_model(tmp_path_factory):
    folder = save_internvl_like_release(tmp_path_factory.mktemp("internvl") / "tiny", tied=False, tie_key=False)
    model = load_onedrive(folder)
    assert not torch.equal(model.lm_head.weight, model.get_input_embeddings().weight)
    return model


@pytest.mark.parametrize("config_key", ["written", "absent"])
def test_export_and_load_keep_the_untied_lm_head(untied_model, tmp_path, helpers, config_key):
    final = tmp_path / "final"
    untied_model.save_pretrained(final)
    if config_key == "absent":  # a folder whose config does not state the tie: the tensors decide
        remove_top_level_key(final / "config.json", "tie_word_embeddings")
    out = export_checkpoint(final, tmp_path / "exported", dtype="fp32")
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    for loaded in (load_model(out), OneDriveForDriving.from_pretrained(out)):
        assert not embeddings_tied(loaded)
        helpers.same_parameters(loaded, untied_model)
