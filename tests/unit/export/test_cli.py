"""tools/export.py end to end on a Trainer checkpoint folder, in a fresh process."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from onedrive import OneDriveForDriving
from onedrive.export import CheckpointError

TOOL = Path(__file__).resolve().parents[3] / "tools" / "export.py"


def test_cli_exports_a_trainer_checkpoint(trained_model, tmp_path, helpers):
    _, inner = helpers.add_lora(trained_model)
    checkpoint = tmp_path / "run" / "checkpoint-2"
    inner.save_pretrained(checkpoint)
    helpers.save_processor(inner, checkpoint)
    torch.save({"state": {}}, checkpoint / "optimizer.pt")
    (tmp_path / "run" / "experiment.json").write_text(
        json.dumps({"name": "cli", "recipe": {"lora_rank": 4, "lora_alpha": 8}})
    )
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"planning": {"l2_avg_stp3": 0.75}}))
    out = tmp_path / "exported"
    result = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            str(checkpoint),
            "--out",
            str(out),
            "--dtype",
            "fp16",
            "--metrics",
            str(metrics),
            "--max-shard-size",
            "200KB",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"exported {out}" in result.stdout
    assert (out / "model.safetensors.index.json").is_file() and not (out / "optimizer.pt").exists()
    assert "| planning.l2_avg_stp3 | 0.7500 |" in (out / "README.md").read_text()
    loaded = OneDriveForDriving.from_pretrained(out)
    assert loaded.dtype == torch.float16


def test_cli_error_names_the_file(tmp_path):
    spec = importlib.util.spec_from_file_location("export_tool", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(CheckpointError, match=r"ckpt/config\.json has model_type 'llama'"):
        tool.main([str(tmp_path / "ckpt"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
