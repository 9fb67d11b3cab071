"""Broken folders fail with an error naming the file; pickle weights need an explicit opt-in."""

import fractions
import shutil

import pytest
import torch
from transformers import Qwen2Config

from onedrive.export import CheckpointError, export_checkpoint, load_model


@pytest.fixture
def sharded(final_run, tmp_path):
    folder, _ = final_run
    return export_checkpoint(folder, tmp_path / "sharded", dtype="fp32", max_shard_size="200KB")


def test_missing_shard_is_named(sharded):
    shard = sorted(sharded.glob("model-*.safetensors"))[1]
    shard.unlink()
    with pytest.raises(CheckpointError, match=shard.name):
        load_model(sharded)


def test_truncated_safetensors_is_named(final_run, tmp_path):
    folder = shutil.copytree(final_run[0], tmp_path / "copy")
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size // 2)
    with pytest.raises(CheckpointError, match=f"{weights}.*truncated"):
        load_model(folder)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        export_checkpoint(folder, tmp_path / "out", dtype="fp32")
    assert not (tmp_path / "out").exists()


def test_config_of_another_model_type_is_named(final_run, tmp_path):
    folder = shutil.copytree(final_run[0], tmp_path / "copy")
    Qwen2Config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=512).save_pretrained(folder)
    with pytest.raises(CheckpointError, match=r"config\.json has model_type 'qwen2'"):
        load_model(folder)


def test_corrupt_config_json_is_named(final_run, tmp_path):
    folder = shutil.copytree(final_run[0], tmp_path / "copy")
    (folder / "config.json").write_text('{"model_type": "onedrive",')
    with pytest.raises(CheckpointError, match=r"config\.json is not valid JSON"):
        load_model(folder)


def test_pickle_weights_need_allow_pickle(final_run, tmp_path, helpers):
    source, model = final_run
    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(source / "config.json", folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="pytorch_model.bin.*allow_pickle"):
        load_model(folder)
    with pytest.raises(CheckpointError, match="allow_pickle"):
        export_checkpoint(folder, tmp_path / "out", dtype="fp32")
    helpers.same_parameters(load_model(folder, allow_pickle=True), model)
    out = export_checkpoint(folder, tmp_path / "out", dtype="fp32", allow_pickle=True)
    assert (out / "model.safetensors").is_file() and not (out / "pytorch_model.bin").exists()
    helpers.same_parameters(load_model(out), model)


def test_pickle_with_code_is_refused_even_when_allowed(final_run, tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(final_run[0] / "config.json", folder)
    torch.save({"weights": torch.zeros(1), "hook": fractions.Fraction(1, 3)}, folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="weights_only"):
        export_checkpoint(folder, tmp_path / "out", dtype="fp32", allow_pickle=True)


def test_no_weights_lists_what_is_there(final_run, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    shutil.copy(final_run[0] / "config.json", folder)
    with pytest.raises(CheckpointError, match=r"holds no weights.*config\.json"):
        load_model(folder)
