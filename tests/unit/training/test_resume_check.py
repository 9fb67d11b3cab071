"""A resume restores everything or refuses, naming the file: plain, several-process and DeepSpeed checkpoints."""

import json
from pathlib import Path

import pytest
from checkpoint_files import PLAIN_FILES, write_checkpoint

from onedrive.training.resume_check import ResumeError, check_resumable

ZERO2 = Path(__file__).resolve().parents[3] / "configs" / "deepspeed" / "zero2.json"

DEEPSPEED_FILES = (
    "trainer_state.json",
    "latest",
    "scheduler.pt",
    "rng_state_0.pth",
    "rng_state_1.pth",
    "global_step2/mp_rank_00_model_states.pt",
    "global_step2/zero_pp_rank_0_mp_rank_00_optim_states.pt",
    "global_step2/zero_pp_rank_1_mp_rank_00_optim_states.pt",
)


def test_complete_plain_checkpoint_resumes(tmp_path):
    check_resumable(write_checkpoint(tmp_path / "checkpoint-2"))


@pytest.mark.parametrize("missing", PLAIN_FILES)
def test_each_missing_file_is_named(tmp_path, missing):
    with pytest.raises(ResumeError, match=missing.replace(".", r"\.")):
        check_resumable(write_checkpoint(tmp_path / "checkpoint-2", omit=(missing,)))


def test_sharded_weights_need_every_shard(tmp_path):
    files = tuple(name for name in PLAIN_FILES if name != "model.safetensors") + ("model-00001-of-00002.safetensors",)
    folder = write_checkpoint(tmp_path / "checkpoint-2", files=files)
    (folder / "model.safetensors.index.json").write_text(
        '{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}'
    )
    with pytest.raises(ResumeError, match="model-00002-of-00002.safetensors"):
        check_resumable(folder)


def test_process_count_must_match_the_rng_states(tmp_path):
    folder = write_checkpoint(tmp_path / "checkpoint-2")  # written by one process: rng_state.pth
    with pytest.raises(ResumeError, match=r"rng_state_0\.pth.*holds \['rng_state\.pth'\]"):
        check_resumable(folder, world_size=2)


def test_deepspeed_checkpoint_resumes_with_deepspeed_only(tmp_path):
    folder = write_checkpoint(tmp_path / "checkpoint-2", files=DEEPSPEED_FILES)
    check_resumable(folder, ZERO2, world_size=2)
    with pytest.raises(ResumeError, match="is a DeepSpeed checkpoint"):
        check_resumable(folder, None, world_size=2)


@pytest.mark.parametrize(
    "omit, message",
    [
        ("latest", "latest .*missing; it holds global_step"),
        ("global_step2/zero_pp_rank_0_mp_rank_00_optim_states.pt", None),
        ("scheduler.pt", r"scheduler\.pt"),
    ],
)
def test_deepspeed_checkpoint_missing_a_part(tmp_path, omit, message):
    files = DEEPSPEED_FILES
    if omit.endswith("optim_states.pt"):  # every optimizer shard gone
        files = tuple(name for name in DEEPSPEED_FILES if not name.endswith("optim_states.pt"))
        message = r"lacks \['\*optim_states\.pt'\]"
    folder = write_checkpoint(tmp_path / "checkpoint-2", files=files, omit=(omit,))
    with pytest.raises(ResumeError, match=message):
        check_resumable(folder, ZERO2, world_size=2)


def test_truncated_deepspeed_state_is_named(tmp_path):
    shard = "global_step2/zero_pp_rank_1_mp_rank_00_optim_states.pt"
    folder = write_checkpoint(tmp_path / "checkpoint-2", files=DEEPSPEED_FILES, truncate=(shard,))
    with pytest.raises(ResumeError, match="zero_pp_rank_1_mp_rank_00_optim_states.pt is not a complete"):
        check_resumable(folder, ZERO2, world_size=2)


def test_truncated_trainer_state_is_named(tmp_path):
    folder = write_checkpoint(tmp_path / "checkpoint-2", truncate=("trainer_state.json",))
    with pytest.raises(ValueError, match=r"trainer_state\.json: not valid JSON"):
        check_resumable(folder)


def test_deepspeed_with_its_own_scheduler_needs_no_scheduler_pt(tmp_path):
    config = tmp_path / "zero2_scheduler.json"
    config.write_text(json.dumps({**json.loads(ZERO2.read_text()), "scheduler": {"type": "WarmupLR"}}))
    folder = write_checkpoint(tmp_path / "checkpoint-2", files=DEEPSPEED_FILES, omit=("scheduler.pt",))
    check_resumable(folder, config, world_size=2)


def test_fp16_needs_the_loss_scaler(tmp_path):
    folder = write_checkpoint(tmp_path / "checkpoint-2")
    with pytest.raises(ResumeError, match=r"scaler\.pt \(the fp16 loss scale\) is missing"):
        check_resumable(folder, fp16=True)
    write_checkpoint(folder, files=("scaler.pt",), truncate=("scaler.pt",))
    with pytest.raises(ResumeError, match=r"scaler\.pt is not a complete"):
        check_resumable(folder, fp16=True)
