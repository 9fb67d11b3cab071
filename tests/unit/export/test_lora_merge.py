"""LoRA checkpoints (peft-injected Trainer checkpoints and peft adapter folders) export to the merged model."""

import json

import pytest
import torch
from model_helpers import make_batch
from safetensors import safe_open

from onedrive import OneDriveForDriving
from onedrive.export import CheckpointError, export_checkpoint


def write_trainer_checkpoint(helpers, inner, run_dir, with_experiment=True):
    """What Trainer writes for OneDrive's LoRA stages: the inner model's full state (LoRA included) + training state."""
    checkpoint = run_dir / "checkpoint-3"
    inner.save_pretrained(checkpoint)
    helpers.save_processor(inner, checkpoint)
    torch.save({"state": {}, "param_groups": []}, checkpoint / "optimizer.pt")
    (checkpoint / "trainer_state.json").write_text(
        json.dumps(
            {
                "global_step": 3,
                "max_steps": 3,
                "epoch": 1.0,
                "log_history": [{"loss": 1.25, "learning_rate": 1e-4, "step": 3}],
            }
        )
    )
    if with_experiment:
        (run_dir / "experiment.json").write_text(
            json.dumps({"name": "tiny-stage1", "recipe": {"lora_rank": 4, "lora_alpha": 8}})
        )
    return checkpoint


def test_trainer_checkpoint_with_injected_lora_merges(trained_model, tmp_path, helpers):
    peft_model, inner = helpers.add_lora(trained_model)
    assert peft_model.base_model.model is inner  # the Trainer trains (and saves) the inner model
    batch = make_batch()
    with torch.no_grad():
        expected = inner.predict(batch)  # LoRA active, unmerged
    checkpoint = write_trainer_checkpoint(helpers, inner, tmp_path / "run")
    with safe_open(str(checkpoint / "model.safetensors"), "pt") as handle:
        names = handle.keys()
    assert any(".lora_A.default." in key for key in names)

    out = export_checkpoint(checkpoint, tmp_path / "exported", dtype="fp32")
    with safe_open(str(out / "model.safetensors"), "pt") as handle:
        names = handle.keys()
    assert not any(".lora_" in key or ".base_layer." in key for key in names)
    assert not (out / "optimizer.pt").exists() and not (out / "trainer_state.json").exists()
    loaded = OneDriveForDriving.from_pretrained(out).eval()
    helpers.same_predictions(loaded.predict(batch), expected, tolerance=1e-4)
    card = (out / "README.md").read_text()
    assert "LoRA (rank 4, alpha 8" in card and "step 3 of 3" in card and "tiny-stage1" in card


def test_merge_changes_the_outputs(trained_model, tmp_path, helpers):
    """Guard against a vacuous test: the LoRA weights used above do move the predictions."""
    batch = make_batch()
    before = trained_model.predict(batch).trajectory
    _, inner = helpers.add_lora(trained_model)
    assert (inner.predict(batch).trajectory - before).abs().max() > 1e-3


def test_adapter_on_top_of_its_base_folder(trained_model, tmp_path, helpers):
    folder = tmp_path / "stage"
    trained_model.save_pretrained(folder)
    helpers.save_processor(trained_model, folder)
    peft_model, inner = helpers.add_lora(trained_model)
    peft_model.save_pretrained(folder)  # adapter_config.json + adapter_model.safetensors next to the base
    batch = make_batch()
    expected = inner.predict(batch)
    out = export_checkpoint(folder, tmp_path / "exported", dtype="fp32")
    got = OneDriveForDriving.from_pretrained(out).eval().predict(batch)
    helpers.same_predictions(got, expected, tolerance=1e-4)


def test_adapter_folder_with_base_argument(trained_model, tmp_path, helpers):
    base = tmp_path / "base"
    trained_model.save_pretrained(base)
    peft_model, inner = helpers.add_lora(trained_model)
    peft_model.save_pretrained(tmp_path / "adapter")
    expected = inner.predict(make_batch()).trajectory
    with pytest.raises(CheckpointError, match="--base"):  # the adapter names the InternVL folder as its base
        export_checkpoint(tmp_path / "adapter", tmp_path / "bad", dtype="fp32")
    out = export_checkpoint(tmp_path / "adapter", tmp_path / "exported", dtype="fp32", base=base)
    got = OneDriveForDriving.from_pretrained(out).eval().predict(make_batch()).trajectory
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_injected_lora_without_alpha_is_refused(trained_model, tmp_path, helpers):
    _, inner = helpers.add_lora(trained_model)
    checkpoint = write_trainer_checkpoint(helpers, inner, tmp_path / "run", with_experiment=False)
    with pytest.raises(CheckpointError, match="--lora-alpha"):
        export_checkpoint(checkpoint, tmp_path / "exported", dtype="fp32")
    assert not (tmp_path / "exported").exists()
    export_checkpoint(checkpoint, tmp_path / "exported", dtype="fp32", lora_alpha=8)
