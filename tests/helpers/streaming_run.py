"""Which frames ``OneDriveTrainer`` feeds each micro-step under ``data.streaming``, on real info files.

``record_streaming_run`` trains for ``epochs`` with ``transformers.Trainer``'s own loop (accelerate's
dataloader preparation, ``set_epoch``, gradient accumulation, DDP under torchrun) and writes, per
process, the micro-batches it saw: ``{"rank", "processes", "batches": [[[token, sequence_start], ...], ...]}``
to ``<out>/<rank>.json`` (``<rank>_resumed.json`` when resuming). The model is one linear layer and the loss ignores the batch: what is
recorded is the data path, not the network. Run as a script under torchrun with the same arguments.

    torchrun --nproc_per_node 2 tests/helpers/streaming_run.py INFOS ROOT OUT BATCH ACCUMULATION EPOCHS SAVE_STEPS fresh|CHECKPOINT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from transformers import TrainingArguments

from onedrive import OneDriveConfig
from onedrive.data import DriveDataset, collate_drive_batch
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.tiny import tiny_internvl_config
from onedrive.training.config import DataConfig
from onedrive.training.trainer import OneDriveTrainer


class RecordingTrainer(OneDriveTrainer):
    """Records each micro-batch's tokens and reset flags; the loss is the linear layer's output."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[list[tuple[str, bool]]] = []

    def compute_loss(self, model, inputs, return_outputs: bool = False, num_items_in_batch=None):
        self.seen.append(list(zip(inputs.sample_tokens, inputs.sequence_start.tolist(), strict=True)))
        loss = model(torch.ones(1, 1, device=self.args.device)).square().sum()
        return (loss, None) if return_outputs else loss


def streaming_dataset(infos: str | Path, data_root: str | Path) -> DriveDataset:
    tokenizer = build_tokenizer()
    processor = OneDriveProcessor.from_config(OneDriveConfig(**tiny_internvl_config().to_dict()), tokenizer)
    return DriveDataset(infos, data_root, processor, qa_mode="planning")


def record_streaming_run(
    infos: str | Path,
    data_root: str | Path,
    out: str | Path,
    batch_size: int,
    accumulation: int,
    epochs: int,
    save_steps: int = 0,
    resume: str | None = None,
    workers: int = 0,
) -> None:
    """``save_steps`` > 0: checkpoints every that many steps in ``<out>/run``; ``resume``: a checkpoint to continue;
    ``workers``: dataloader worker processes."""
    dataset = streaming_dataset(infos, data_root)
    args = TrainingArguments(
        output_dir=str(Path(out) / "run"),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=epochs,
        learning_rate=1e-3,
        use_cpu=True,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        report_to=[],
        logging_steps=1000,
        seed=3,
        data_seed=3,
        dataloader_num_workers=workers,
        remove_unused_columns=False,
    )
    trainer = RecordingTrainer(
        model=torch.nn.Linear(1, 1),
        args=args,
        data_collator=lambda samples: collate_drive_batch(samples, pad_token_id=0),
        train_dataset=dataset,
        data_config=DataConfig(streaming=True, seq_split_num=2, warmup_split_num=3, warmup_epochs=1),
    )
    trainer.train(resume_from_checkpoint=resume)
    result = {"rank": args.process_index, "processes": args.world_size, "batches": trainer.seen}
    name = f"{args.process_index}_resumed.json" if resume else f"{args.process_index}.json"
    (Path(out) / name).write_text(json.dumps(result))


if __name__ == "__main__":
    infos_path, root, out_dir, batch, accumulate, num_epochs, save_every, checkpoint = sys.argv[1:]
    record_streaming_run(
        infos_path,
        root,
        out_dir,
        int(batch),
        int(accumulate),
        int(num_epochs),
        int(save_every),
        None if checkpoint == "fresh" else checkpoint,
    )
