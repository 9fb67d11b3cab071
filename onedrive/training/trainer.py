"""``OneDriveTrainer``: ``transformers.Trainer`` for ``DriveBatch`` inputs and multi-task losses.

What it adds to the Trainer (everything else — DDP / DeepSpeed, mixed precision,
gradient accumulation and checkpointing, checkpoints, resume, progress bar,
TensorBoard — is the Trainer's own):

* ``_prepare_inputs``: a ``DriveBatch`` (a Mapping whose values include nested
  dataclasses) is moved with ``batch.to(device)``; the Trainer's generic code would
  rebuild it as ``DriveBatch(dict)``.
* ``compute_loss``: ``model(**batch)`` (``sample_tokens`` is not among the Mapping's
  keys), returning ``output.loss`` and keeping each entry of ``output.losses``.
* ``log``: next to ``loss``, every ``loss_<name>`` averaged over the micro-batches of the
  logging window and over processes — the same averaging the Trainer applies to ``loss``.

    python -c "from onedrive.training.trainer import OneDriveTrainer; help(OneDriveTrainer)"
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import Trainer

from onedrive.schema import DriveBatch


class OneDriveTrainer(Trainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loss_sums: dict[str, torch.Tensor] = {}
        self._loss_micro_batches = 0

    def _prepare_inputs(
        self, inputs: DriveBatch | dict[str, Any]
    ) -> DriveBatch | dict[str, Any]:
        if isinstance(inputs, DriveBatch):
            return inputs.to(self.args.device)
        return super()._prepare_inputs(inputs)

    def compute_loss(
        self, model, inputs, return_outputs: bool = False, num_items_in_batch=None
    ):
        outputs = model(**inputs)
        if outputs.loss is None:
            raise ValueError(
                "the model returned no loss: training batches need labels and/or targets "
                "(build the dataset with generation=False)"
            )
        if model.training:
            for name, value in outputs.losses.items():
                self._loss_sums[name] = (
                    self._loss_sums.get(name, 0.0) + value.detach().float()
                )
            self._loss_micro_batches += 1
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._loss_micro_batches:
            names = sorted(self._loss_sums)
            means = (
                torch.stack([self._loss_sums[name] for name in names])
                / self._loss_micro_batches
            )  # (n_losses,)
            means = self.accelerator.reduce(
                means.to(self.args.device), reduction="mean"
            )
            logs.update(
                {f"loss_{name}": value for name, value in zip(names, means.tolist())}
            )
            self._loss_sums, self._loss_micro_batches = {}, 0
        super().log(logs, start_time)
