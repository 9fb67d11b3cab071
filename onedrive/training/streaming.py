"""Streaming training's dataloader for ``OneDriveTrainer`` (``data.streaming``).

``streaming_dataloader(trainer, data)`` builds the training loader from ``StreamingBatchSampler``
(``onedrive.data.streaming_sampler``): each batch row a time-ordered stream of sub-sequences, each
sample with its ``sequence_start`` flag (``DriveBatch.sequence_start``). The sampler yields every
process's batches in turn; ``accelerator.prepare`` wraps it in accelerate's ``BatchSamplerShard``
(under torchrun and DeepSpeed), which hands process ``p`` the batches ``p, p + W, …`` — its own rows.
Consecutive micro-batches of one gradient-accumulation step continue the same rows' streams.

``StreamingEpoch`` sets the sampler's epoch when each epoch begins: the Trainer's own ``set_epoch``
does not reach a batch sampler behind ``BatchSamplerShard`` and ``SkipBatchSampler``, which is what
the first epoch after a mid-epoch resume under several processes uses.

    python -c "from onedrive.training.streaming import streaming_dataloader; help(streaming_dataloader)"
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING

from torch.utils.data import DataLoader
from transformers import TrainerCallback
from transformers.trainer_utils import seed_worker

from onedrive.data.streaming_dataset import StreamingDataset, stream_keys
from onedrive.data.streaming_sampler import StreamingBatchSampler
from onedrive.training.config import DataConfig

if TYPE_CHECKING:
    from transformers import Trainer


class StreamingEpoch(TrainerCallback):
    """Sets a ``StreamingBatchSampler``'s epoch when an epoch begins (``state.epoch`` is then the epoch, or the
    fraction reached when resuming inside it)."""

    def __init__(self, sampler: StreamingBatchSampler):
        self.sampler = sampler

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.sampler.set_epoch(math.floor(state.epoch or 0))


def streaming_dataloader(trainer: Trainer, data: DataConfig) -> DataLoader:
    """The prepared training loader of ``trainer`` (its ``train_dataset``: a ``DriveDataset``); registers
    the sampler's ``StreamingEpoch`` callback in place of an earlier one."""
    args = trainer.args
    sampler = StreamingBatchSampler(
        *stream_keys(trainer.train_dataset),
        batch_size=trainer._train_batch_size,  # the per-process batch the Trainer's own loader would use
        num_processes=trainer.accelerator.num_processes,
        interleave_processes=True,
        seed=args.data_seed if args.data_seed is not None else args.seed,
        seq_split_num=data.seq_split_num,
        warmup_split_num=data.warmup_split_num,
        warmup_epochs=data.warmup_epochs,
    )
    loader = DataLoader(
        StreamingDataset(trainer.train_dataset),
        batch_sampler=sampler,
        collate_fn=trainer.data_collator,
        num_workers=args.dataloader_num_workers,
        pin_memory=args.dataloader_pin_memory,
        persistent_workers=args.dataloader_persistent_workers,
        prefetch_factor=args.dataloader_prefetch_factor,
        worker_init_fn=partial(seed_worker, num_workers=args.dataloader_num_workers, rank=args.process_index),
    )
    trainer.pop_callback(StreamingEpoch)  # an earlier call's
    trainer.add_callback(StreamingEpoch(sampler))
    return trainer.accelerator.prepare(loader)
