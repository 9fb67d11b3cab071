"""Streaming training with a temporal memory, run the way tools/train.py runs it, recording what the trainer carries.

Under a launcher (deepspeed, torchrun) or alone:

    deepspeed --num_gpus 2 tests/helpers/carried_memory_run.py DATA OUT [--set key=value ...] [--resume CHECKPOINT]

trains ``tiny_experiment(DATA, OUT)`` with the overrides through ``onedrive.training.run`` (prepare_experiment,
train, save_state, save_final), from CHECKPOINT when given, and writes, per process, ``OUT/micro_batches_<rank>.json``: for every training
micro-batch its sample tokens, ``sequence_start`` flags and loss, whether a memory state came in, and the state
``OneDriveTrainer`` carries out of it (per query group and batch slot: the distinct timestamps of the valid
entries). The main process also writes the weights the trainer held when it saved each checkpoint
(``OUT/weights_<step>.pt``) and, after the final save, the merged model's (``OUT/weights_final.pt``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from tiny_run import tiny_experiment
from transformers import TrainerCallback

from onedrive.model.memory import QueryMemory
from onedrive.training.config import add_override_argument, apply_overrides
from onedrive.training.run import prepare_experiment, save_final


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


class SaveWeights(TrainerCallback):
    """Writes the main process's weights next to each checkpoint the Trainer saves."""

    def __init__(self, out: Path):
        self.out = out

    def on_save(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero:
            torch.save(weights(model), self.out / f"weights_{state.global_step}.pt")


def entry_times(memory: QueryMemory | None) -> dict[str, list[list[float]]] | None:
    """Per query group and batch slot, the distinct timestamps (s) of the valid entries; None without a state."""
    if memory is None:
        return None
    return {
        name: [sorted(set(times[valid].tolist())) for times, valid in zip(task.timestamp, task.valid)]
        for name, task in memory.tasks.items()
    }


def record_micro_batches(trainer, seen: list[dict]) -> None:
    """Wraps ``trainer.compute_loss`` to append each training micro-batch's record to ``seen``."""
    compute_loss = trainer.compute_loss

    def recording(model, inputs, *args, **kwargs):
        came_in = trainer._memory is not None
        result = compute_loss(model, inputs, *args, **kwargs)
        loss = result[0] if isinstance(result, tuple) else result
        seen.append(
            {
                "tokens": list(inputs.sample_tokens),
                "sequence_start": inputs.sequence_start.tolist(),
                "loss": loss.item(),  # json writes a NaN as NaN
                "memory_in": came_in,
                "memory_out": entry_times(trainer._memory),
            }
        )
        return result

    trainer.compute_loss = recording


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("out")
    add_override_argument(parser, help="override a config value (repeatable)")
    parser.add_argument("--resume", default=None, help="a checkpoint folder to continue from")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=-1)  # the deepspeed launcher's
    args = parser.parse_args()
    out = Path(args.out)
    config = apply_overrides(tiny_experiment(args.data, out), args.overrides)
    run = prepare_experiment(config, resume=args.resume)
    seen: list[dict] = []
    record_micro_batches(run.trainer, seen)
    run.trainer.add_callback(SaveWeights(out))
    run.trainer.train(resume_from_checkpoint=run.checkpoint)
    run.trainer.save_state()
    save_final(run.trainer, run.applied, run.final_dir)
    rank = run.trainer.args.process_index
    (out / f"micro_batches_{rank}.json").write_text(json.dumps(seen))
    if run.trainer.is_world_process_zero():
        torch.save(weights(run.applied.model), out / "weights_final.pt")


if __name__ == "__main__":
    main()
