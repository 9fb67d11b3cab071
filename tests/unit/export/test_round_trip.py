"""Export → load gives the in-memory model back; the folder has what a hub repository needs."""

import copy
import json

import torch
from huggingface_hub import ModelCard
from model_helpers import make_batch
from transformers import AutoConfig, AutoModel, AutoProcessor

from onedrive import OneDriveConfig, OneDriveForDriving
from onedrive.export import export_checkpoint, load_model
from onedrive.model import OneDriveProcessor


def test_fp32_export_loads_back_identical(final_run, tmp_path, helpers):
    folder, model = final_run
    out = export_checkpoint(folder, tmp_path / "exported", dtype="fp32")
    loaded = OneDriveForDriving.from_pretrained(out).eval()
    helpers.same_parameters(loaded, model)
    batch = make_batch()
    helpers.same_predictions(loaded.predict(batch), model.predict(batch))
    helpers.same_parameters(load_model(out), model)


def test_auto_classes_resolve_without_remote_code(final_run, tmp_path, helpers):
    folder, model = final_run
    out = export_checkpoint(folder, tmp_path / "exported", dtype="fp32")
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["OneDriveForDriving"] and "auto_map" not in config
    assert isinstance(AutoConfig.from_pretrained(out), OneDriveConfig)
    auto = AutoModel.from_pretrained(out)
    assert type(auto) is OneDriveForDriving
    helpers.same_parameters(auto, model)
    processor = AutoProcessor.from_pretrained(out)
    assert type(processor) is OneDriveProcessor
    assert processor.image_token_id == model.config.image_token_id and processor.num_cameras == 2


def test_folder_files_and_model_card(final_run, tmp_path):
    folder, _ = final_run
    (folder.parent / "metrics.json").write_text(
        json.dumps({"planning": {"l2_avg_stp3": 0.5}, "detection": {"nds": 0.25}})
    )
    try:
        out = export_checkpoint(folder, tmp_path / "exported", dtype="fp32", repo_id="org/onedrive-tiny")
    finally:
        (folder.parent / "metrics.json").unlink()
    names = {path.name for path in out.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "README.md",
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= names
    assert json.loads((out / "generation_config.json").read_text())["do_sample"] is False
    card = ModelCard.load(out / "README.md")
    assert card.data.library_name == "transformers" and card.data.license == "apache-2.0"
    assert "onedrive" in card.data.tags
    assert "| planning.l2_avg_stp3 | 0.5000 |" in card.text and "| detection.nds | 0.2500 |" in card.text
    assert 'AutoModel.from_pretrained("org/onedrive-tiny")' in card.text
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging folder left


def test_sharded_export_has_an_index_and_loads(final_run, tmp_path, helpers):
    folder, model = final_run
    out = export_checkpoint(folder, tmp_path / "exported", dtype="fp32", max_shard_size="200KB")
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and all((out / shard).is_file() for shard in shards)
    assert not (out / "model.safetensors").exists()
    helpers.same_parameters(OneDriveForDriving.from_pretrained(out), model)


def test_bf16_export_holds_bf16_weights(final_run, tmp_path, helpers):
    folder, model = final_run
    out = export_checkpoint(folder, tmp_path / "exported", dtype="bf16")
    loaded = OneDriveForDriving.from_pretrained(out)
    assert loaded.dtype == torch.bfloat16
    helpers.same_parameters(loaded, copy.deepcopy(model).to(torch.bfloat16))
    prediction = loaded.predict(make_batch())
    assert torch.isfinite(prediction.trajectory).all()


def test_existing_output_is_kept_unless_overwrite(final_run, tmp_path):
    folder, _ = final_run
    out = tmp_path / "exported"
    out.mkdir()
    (out / "keep.txt").write_text("previous export")
    try:
        export_checkpoint(folder, out, dtype="fp32")
        raise AssertionError("an existing folder must not be replaced without overwrite")
    except FileExistsError as error:
        assert str(out) in str(error)
    assert (out / "keep.txt").read_text() == "previous export"
    export_checkpoint(folder, out, dtype="fp32", overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exported"]
