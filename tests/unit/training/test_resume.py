"""A run stopped after step 2 and resumed from its checkpoint ends with the weights of an uninterrupted run."""

import torch
from tiny_run import tiny_experiment
from transformers import TrainerCallback

from onedrive.training.run import prepare_experiment


class StopAt(TrainerCallback):
    """Simulates an interruption right after the checkpoint of ``step``."""

    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def config(drive_data, out):
    config = tiny_experiment(drive_data, out, stage="perception")
    config.train.max_steps = 4  # 8 samples, batch 2: the checkpoint at step 2 is in the middle of the epoch
    config.train.save_steps = 2
    config.recipe.lora_dropout = 0.1  # the restored RNG state matters
    # DriveDataset draws its random crops from torch's global RNG, which the Trainer restores only after
    # fetching the first resumed batch; crops would differ from the uninterrupted run, so none here.
    config.data.augment = False
    return config


def final_state(run):
    return {name: p.detach().clone() for name, p in run.applied.model.named_parameters()}


def test_resume_matches_uninterrupted_run(drive_data, tmp_path):
    straight = prepare_experiment(config(drive_data, tmp_path / "straight"))
    straight.trainer.train()
    expected = final_state(straight)

    interrupted = prepare_experiment(config(drive_data, tmp_path / "resumed"))
    interrupted.trainer.add_callback(StopAt(2))
    interrupted.trainer.train()
    assert interrupted.trainer.state.global_step == 2
    assert (tmp_path / "resumed" / "checkpoint-2").is_dir()

    resumed = prepare_experiment(config(drive_data, tmp_path / "resumed"), resume=True)
    assert resumed.checkpoint.endswith("checkpoint-2")
    resumed.trainer.train(resume_from_checkpoint=resumed.checkpoint)
    assert resumed.trainer.state.global_step == 4
    got = final_state(resumed)
    assert got.keys() == expected.keys()
    mismatched = [name for name in expected if not torch.allclose(got[name], expected[name], rtol=0, atol=1e-6)]
    assert mismatched == []
    # The resumed run really moved on from the checkpoint (not a fresh start, not a no-op).
    assert any(not torch.equal(got[name], final_state(interrupted)[name]) for name in got)
