"""Small real Trainer checkpoint folders (the files ``tools/train.py --resume`` checks), whole or damaged."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

DEEPSPEED_TAG = "global_step2"  # what DeepSpeed's `latest` names
PLAIN_FILES = ("trainer_state.json", "model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth")


def write_checkpoint(
    folder: str | Path, files: tuple[str, ...] = PLAIN_FILES, omit: tuple[str, ...] = (), truncate: tuple[str, ...] = ()
) -> Path:
    """``files`` (paths inside ``folder``) but ``omit``, each a real small file of its kind; ``truncate`` cut in half."""
    folder = Path(folder)
    for name in files:
        if name in omit:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("trainer_state.json"):
            path.write_text(json.dumps({"global_step": 2, "log_history": []}))
        elif name.endswith(".safetensors"):
            save_file({"weight": torch.zeros(64, 64)}, str(path))
        elif name.endswith((".pt", ".pth", ".bin")):
            torch.save({"state": {0: torch.zeros(64, 64)}}, path)
        elif name == "latest":
            path.write_text(DEEPSPEED_TAG)
        else:
            raise ValueError(f"write_checkpoint: no builder for {name}")
        if name in truncate:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return folder
