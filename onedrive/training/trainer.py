"""``OneDriveTrainer``: ``transformers.Trainer`` for ``DriveBatch`` inputs and multi-task losses.

What it adds to the Trainer (everything else — DDP / DeepSpeed, mixed precision,
gradient accumulation and checkpointing, checkpoints, resume, progress bar,
TensorBoard — is the Trainer's own):

* ``_prepare_inputs``: a ``DriveBatch`` (a Mapping whose values include nested
  dataclasses) is moved with ``batch.to(device)``; the Trainer's generic code would
  rebuild it as ``DriveBatch(dict)``.
* ``compute_loss``: ``model(**batch)`` (``sample_tokens`` is not among the Mapping's
  keys), returning ``output.loss`` and keeping each entry of ``output.losses``. With a temporal
  memory (``task_config.memory_size > 0``) each training micro-batch also gets the memory state
  the previous one returned, detached (``output.memory.detach()``): the streaming sampler gives
  every batch slot its scenes' frames in order, and the model resets a slot at a scene change or
  time gap, and the trainer at the start of each of the sampler's sub-sequences (``sequence_start``). Micro-batches of a gradient-accumulation window are consecutive frames of the stream
  (the state passes between them as between optimiser steps); each process (DDP / DeepSpeed rank)
  carries its own state. A batch of another size (an epoch's last) starts afresh; evaluation
  batches run without a memory.
* ``log``: next to ``loss``, every ``loss_<name>`` averaged over the micro-batches of the
  logging window and over processes — the same averaging the Trainer applies to ``loss``.
* ``create_optimizer`` / ``create_scheduler`` (when ``train_config`` asks for them): the
  official parameter groups (``train.param_groups``) and the whole-run cosine
  (``train.lr_scheduler="cosine_whole_run"``) of ``onedrive.training.optimizer``. The optimizer
  class and its other settings (AdamW, betas, eps) stay the Trainer's (``args.optim``). Under
  DeepSpeed the Trainer calls these same methods, provided the DeepSpeed config has no
  ``optimizer`` / ``scheduler`` section (``check_config`` refuses one that would replace them).
  The logged ``learning_rate`` is the first parameter group's.
* ``get_train_dataloader`` (when ``data_config.streaming``): the streaming loader of
  ``onedrive.training.streaming`` (each batch row a time-ordered stream of sub-sequences); without
  streaming, the Trainer's own shuffled loader.

    python -c "from onedrive.training.trainer import OneDriveTrainer; help(OneDriveTrainer)"
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader
from transformers import Trainer
from transformers.trainer_optimizer import is_optimizer_factory

from onedrive.schema import DriveBatch
from onedrive.training.config import WHOLE_RUN_COSINE, DataConfig, TrainConfig
from onedrive.training.optimizer import lr_groups, whole_run_cosine_schedule
from onedrive.training.streaming import streaming_dataloader


class OneDriveTrainer(Trainer):
    def __init__(self, *args, train_config: TrainConfig | None = None, data_config: DataConfig | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.train_config = train_config
        self.data_config = data_config
        self._loss_sums: dict[str, torch.Tensor] = {}
        self._loss_micro_batches = 0
        self._memory = None  # the temporal-memory state carried between training micro-batches

    def get_train_dataloader(self) -> DataLoader:
        data = self.data_config
        if data is None or not data.streaming:
            return super().get_train_dataloader()
        return streaming_dataloader(self, data)

    def _prepare_inputs(self, inputs: DriveBatch | dict[str, Any]) -> DriveBatch | dict[str, Any]:
        if isinstance(inputs, DriveBatch):
            return inputs.to(self.args.device)
        return super()._prepare_inputs(inputs)

    def compute_loss(self, model, inputs, return_outputs: bool = False, num_items_in_batch=None):
        carries = model.training and self.model.config.task_config.memory_size > 0
        if carries:
            memory = self._memory
            if memory is not None and memory.batch_size != len(inputs["input_ids"]):
                memory = None
            starts = getattr(inputs, "sequence_start", None)  # (B,) bool, from the streaming sampler
            if memory is not None and starts is not None:
                memory = memory.forget(starts)
            outputs = model(**inputs, memory=memory)
            self._memory = None if outputs.memory is None else outputs.memory.detach()
        else:
            outputs = model(**inputs)
        if outputs.loss is None:
            raise ValueError(
                "the model returned no loss: training batches need labels and/or targets "
                "(build the dataset with generation=False)"
            )
        if model.training:
            for name, value in outputs.losses.items():
                self._loss_sums[name] = self._loss_sums.get(name, 0.0) + value.detach().float()
            self._loss_micro_batches += 1
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._loss_micro_batches:
            names = sorted(self._loss_sums)
            means = torch.stack([self._loss_sums[name] for name in names]) / self._loss_micro_batches  # (n_losses,)
            means = self.accelerator.reduce(means.to(self.args.device), reduction="mean")
            logs.update({f"loss_{name}": value for name, value in zip(names, means.tolist())})
            self._loss_sums, self._loss_micro_batches = {}, 0
        super().log(logs, start_time)

    def create_optimizer(self, model=None) -> torch.optim.Optimizer:
        groups = self.train_config.param_groups if self.train_config is not None else None
        if groups is None or self.optimizer is not None:
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        if is_optimizer_factory(optimizer_cls) or {"params", "model", "optimizer_dict"} & optimizer_kwargs.keys():
            raise ValueError(
                f"train.param_groups needs an optimizer built from parameter groups (e.g. adamw_torch); "
                f"train.optimizer={self.args.optim!r} builds its own"
            )
        param_groups = lr_groups(opt_model, groups, self.args.learning_rate, self.args.weight_decay)
        self.optimizer = optimizer_cls(param_groups, **optimizer_kwargs)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        train = self.train_config
        if train is None or train.lr_scheduler != WHOLE_RUN_COSINE or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        self.lr_scheduler = whole_run_cosine_schedule(
            self.optimizer if optimizer is None else optimizer,
            warmup_steps=self.args.get_warmup_steps(num_training_steps),
            total_steps=num_training_steps,
            min_lr_rate=train.min_lr_rate,
            warmup_start_rate=train.warmup_start_rate if train.warmup_start_rate is not None else 0.0,
        )
        self._created_lr_scheduler = True
        return self.lr_scheduler
