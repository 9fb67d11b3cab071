"""An exported folder placed in a Hugging Face cache layout loads by repo id with the network off."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from onedrive.export import export_checkpoint

REPO_ID = "onedrive-test/tiny-drive"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

LOAD_OFFLINE = """
import sys, torch
from safetensors.torch import load_file
import onedrive
from transformers import AutoModel, AutoProcessor
from onedrive import OneDriveForDriving
from onedrive.export import CheckpointError, load_model

repo, exported = sys.argv[1], sys.argv[2]
expected = load_file(exported + "/model.safetensors")
for model in (OneDriveForDriving.from_pretrained(repo), AutoModel.from_pretrained(repo), load_model(repo)):
    assert type(model) is OneDriveForDriving
    state = model.state_dict()
    assert all(torch.equal(state[name], tensor) for name, tensor in expected.items())
assert type(AutoProcessor.from_pretrained(repo)).__name__ == "OneDriveProcessor"
try:
    load_model("onedrive-test/not-in-the-cache")
    raise SystemExit("an uncached repository must fail offline")
except CheckpointError as error:
    assert "onedrive-test/not-in-the-cache" in str(error)
print("loaded offline")
"""


def place_in_cache(folder: Path, cache: Path, repo_id: str, commit: str) -> None:
    """The hub cache layout: blobs named by content hash, snapshot entries linking to them, refs/main → commit."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            blob = repo / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
            blob.write_bytes(path.read_bytes())
            link = snapshot / path.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))


def test_repo_id_loads_from_the_cache_offline(final_run, tmp_path):
    exported = export_checkpoint(final_run[0], tmp_path / "exported", dtype="fp32")
    place_in_cache(exported, tmp_path / "hub", REPO_ID, COMMIT)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HOME": str(tmp_path / "home"),
    }
    result = subprocess.run(
        [sys.executable, "-c", LOAD_OFFLINE, REPO_ID, str(exported)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded offline" in result.stdout
