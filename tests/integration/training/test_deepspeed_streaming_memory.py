"""Streaming training with a temporal memory under DeepSpeed ZeRO-2 (CPU, gloo, 2 processes).

``tests/helpers/carried_memory_run.py`` trains the tiny model as tools/train.py does, with
``data.streaming`` and ``model.task.memory_size > 0``, and records every micro-batch of each process:
its frame, ``sequence_start``, loss and the memory state ``OneDriveTrainer`` carries out of it. The
data: 4 scenes of 2 frames, one sub-sequence per scene, one frame per process and step, so each
process's row is scene start, continuation, scene start, continuation.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_run import write_random_drive_data

from onedrive import OneDriveForDriving

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PROCESSES, STEPS = 2, 4
OVERRIDES = [
    "train.per_device_batch_size=1",
    f"train.max_steps={STEPS}",
    "train.save_steps=2",
    "data.augment=false",
    "data.streaming=true",
    "data.seq_split_num=1",
    "data.warmup_epochs=0",
    "model.task.memory_size=6",
    "model.task.memory_topk=4",
    "model.task.memory_propagated=3",
    f"train.deepspeed={REPO / 'configs' / 'deepspeed' / 'zero2.json'}",
]


def train(data: Path, out: Path, port: int, *options: str) -> list[list[dict]]:
    """Runs the helper under the deepspeed launcher; returns each process's micro-batch records."""
    command = [str(BIN / "deepspeed"), "--num_gpus", str(PROCESSES), "--master_port", str(port)]
    command += [str(REPO / "tests" / "helpers" / "carried_memory_run.py"), str(data), str(out)]
    command += [word for override in OVERRIDES for word in ("--set", override)] + list(options)
    helpers = [str(REPO / "tests" / "helpers"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, helpers))}
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return [json.loads((out / f"micro_batches_{rank}.json").read_text()) for rank in range(PROCESSES)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("deepspeed")
    root = tmp_path_factory.mktemp("deepspeed_memory")
    infos = write_random_drive_data(root / "data", num_samples=8)  # scene k: frames 2k, 2k + 1, 0.5 s apart
    seen = train(root / "data", root / "out", 29531)
    return root, json.loads(infos.read_text())["infos"], seen


@pytest.mark.slow
def test_each_process_carries_its_memory_from_frame_to_frame_and_losses_are_finite(run):
    root, records, seen = run
    seconds = {record["token"]: record["timestamp"] / 1e6 for record in records}
    assert sorted(token for batches in seen for batch in batches for token in batch["tokens"]) == sorted(seconds)
    for batches in seen:
        assert len(batches) == STEPS
        assert [batch["sequence_start"] for batch in batches] == [[True], [False], [True], [False]]
        assert [batch["memory_in"] for batch in batches] == [False, True, True, True]
        for previous, batch in zip([None, *batches], batches):
            assert math.isfinite(batch["loss"]), batch
            now = seconds[batch["tokens"][0]]
            # a continuation keeps the previous frame's entries; a sequence start forgets them
            expected = [now] if batch["sequence_start"][0] else [seconds[previous["tokens"][0]], now]
            assert batch["memory_out"] == {"det": [expected], "lane": [expected]}, batch
    logged = json.loads((root / "out" / "trainer_state.json").read_text())["log_history"]
    losses = [value for entry in logged for key, value in entry.items() if key.startswith("loss")]
    assert len([entry for entry in logged if "loss" in entry]) == STEPS
    assert losses and all(math.isfinite(value) for value in losses)


@pytest.mark.slow
def test_checkpoints_and_the_final_folder_hold_the_trained_weights_tensor_for_tensor(run):
    root, _, _ = run
    out = root / "out"
    saved = {step: load_file(out / f"checkpoint-{step}" / "model.safetensors") for step in (2, 4)}
    for step in (2, 4):
        held = torch.load(out / f"weights_{step}.pt")  # the main process's weights when the checkpoint was saved
        assert saved[step].keys() == held.keys()
        assert [key for key in held if not torch.equal(saved[step][key], held[key])] == []
    memory_keys = [key for key in saved[2] if key.startswith("stream_memory.")]
    assert memory_keys and all(not torch.equal(saved[2][key], saved[4][key]) for key in memory_keys)  # trained
    reloaded = OneDriveForDriving.from_pretrained(out / "final").state_dict()
    merged = torch.load(out / "weights_final.pt")
    assert reloaded.keys() == merged.keys()
    assert [key for key in merged if not torch.equal(reloaded[key], merged[key])] == []


@pytest.mark.slow
def test_resuming_from_the_zero2_checkpoint_at_a_sequence_start_continues_the_run_exactly(run):
    """The carried memory is not part of a checkpoint: resumed at a sequence start (step 3 starts every row),
    nothing is lost, and the resumed run's micro-batches and weights are the uninterrupted run's."""
    root, _, seen = run
    resumed = train(root / "data", root / "resumed", 29532, "--resume", str(root / "out" / "checkpoint-2"))
    for before, after in zip(seen, resumed):
        expected = [dict(batch) for batch in before[2:]]
        expected[0]["memory_in"] = False  # the uninterrupted run carried a state in, and forgot it there
        assert after == expected
    uninterrupted = torch.load(root / "out" / "weights_4.pt")
    continued = torch.load(root / "resumed" / "weights_4.pt")
    assert [key for key in uninterrupted if not torch.equal(uninterrupted[key], continued[key])] == []
