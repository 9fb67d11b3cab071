"""Multi-process training gives the single-process result: DDP (torchrun, gloo) and DeepSpeed ZeRO-2 / ZeRO-3 on CPU.

Each run is the real CLI (`tools/train.py`) on a tiny model and real files, two SGD steps; the
`final/` folders are compared tensor by tensor. The model's losses are per-sample means averaged
over samples, so 2 processes x 1 sample equal 1 process x 2 samples up to float rounding.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_run import write_random_drive_data

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
CONFIG = """
from tiny_run import tiny_experiment

def build():
    return tiny_experiment({data!r}, "unused")
"""
COMMON = [
    "--set",
    "train.optimizer=sgd",
    "--set",
    "train.learning_rate=0.05",
    "--set",
    "train.max_steps=2",
    "--set",
    "data.augment=false",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("distributed")
    write_random_drive_data(root / "data", num_samples=2)  # every step sees both samples, in any order
    config = root / "tiny_config.py"
    config.write_text(CONFIG.format(data=str(root / "data")))
    return root, config


def train(launcher, config, out, *overrides):
    command = [
        *launcher,
        str(REPO / "tools" / "train.py"),
        str(config),
        *COMMON,
        "--set",
        f"train.output_dir={out}",
        *overrides,
    ]
    helpers = [str(REPO / "tests" / "helpers"), os.environ.get("PYTHONPATH", "")]  # the config imports tiny_run
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, helpers))}
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return load_file(out / "final" / "model.safetensors")


@pytest.fixture(scope="module")
def single_process(setup):
    root, config = setup
    return train(
        [sys.executable],
        config,
        root / "single",
        "--set",
        "train.per_device_batch_size=2",
    )


def assert_same_weights(got, expected, atol):
    assert got.keys() == expected.keys()
    worst = max((got[key] - expected[key]).abs().max().item() for key in expected)
    assert worst <= atol, f"largest difference {worst}"


def assert_trained(weights, data_root):
    """The run changed the weights it trains (compared with the tiny InternVL it started from)."""
    start = load_file(data_root / "tiny_internvl" / "model.safetensors")  # InternVL's on-disk key layout
    key = "layers.0.self_attn.q_proj.weight"
    assert not torch.equal(weights[f"model.language_model.{key}"], start[f"language_model.model.{key}"])


@pytest.mark.slow
def test_torchrun_two_processes_match_one(setup, single_process):
    root, config = setup
    if shutil.which("torchrun", path=str(BIN)) is None:
        pytest.fail("torchrun is not installed next to the Python interpreter")
    got = train(
        [str(BIN / "torchrun"), "--nproc_per_node", "2", "--master_port", "29511"],
        config,
        root / "ddp",
        "--set",
        "train.per_device_batch_size=1",
    )
    assert_trained(got, root / "data")
    assert_same_weights(got, single_process, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_matches_plain_run(setup, single_process, stage):
    """ZeRO-3 also checks the final save: LoRA is merged under gathered (un-partitioned) parameters."""
    pytest.importorskip("deepspeed")
    root, config = setup
    got = train(
        [str(BIN / "deepspeed"), "--num_gpus", "2", "--master_port", str(29510 + stage)],
        config,
        root / f"zero{stage}",
        "--set",
        "train.per_device_batch_size=1",
        "--set",
        f"train.deepspeed={REPO / f'configs/deepspeed/zero{stage}.json'}",
    )
    assert_trained(got, root / "data")
    assert_same_weights(got, single_process, atol=1e-5)


MEMORY = ["--set", "model.task.memory_size=6", "--set", "model.task.memory_topk=4", "--set"]
MEMORY += ["model.task.memory_propagated=3"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["torchrun", "deepspeed"])
def test_temporal_memory_trains_under_torchrun_and_deepspeed(setup, launcher):
    """With a temporal memory each rank carries its own state (docs/design.md, temporal memory): two-process runs
    train, and the saved model holds the memory's motion-aware layer norm."""
    root, config = setup
    if launcher == "deepspeed":
        pytest.importorskip("deepspeed")
        command = [str(BIN / "deepspeed"), "--num_gpus", "2", "--master_port", "29521"]
        extra = ["--set", f"train.deepspeed={REPO / 'configs/deepspeed/zero2.json'}"]
    else:
        command, extra = [str(BIN / "torchrun"), "--nproc_per_node", "2", "--master_port", "29522"], []
    got = train(command, config, root / f"memory_{launcher}", "--set", "train.per_device_batch_size=1", *MEMORY, *extra)
    assert_trained(got, root / "data")
    assert "stream_memory.motion_norms.det.reduce.0.weight" in got
