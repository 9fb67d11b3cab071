"""Run one stage of the recipe: check → build → train (``OneDriveTrainer``) → save ``OUT/final``.

``train_experiment(config, resume)`` is what ``tools/train.py`` calls. Order matters for
failing fast: the config (data files, previous stage, batch split, recipe) is checked
before any model or data is loaded. At the end, LoRA is merged and a loadable model
folder ``<train.output_dir>/final`` (``save_pretrained`` + the processor / tokenizer)
is written atomically (``onedrive.staging``); the next stage's ``model.init_from`` reads it.

    python -c "from onedrive.training.run import training_arguments; help(training_arguments)"
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from transformers import TrainingArguments, set_seed
from transformers.integrations import is_tensorboard_available
from transformers.trainer_utils import get_last_checkpoint

from onedrive.data import collate_drive_batch
from onedrive.extras import extra_module
from onedrive.staging import StagingFolder
from onedrive.training.build import (
    build_model,
    build_processor,
    build_tokenizer_for,
    build_train_dataset,
    ensure_tiny_internvl,
)
from onedrive.training.config import (
    WHOLE_RUN_COSINE,
    ConfigError,
    ExperimentConfig,
    check_config,
    resolve_batch,
)
from onedrive.training.recipe import (
    STAGES,
    AppliedRecipe,
    apply_recipe,
    merge_lora,
    parameter_table,
)
from onedrive.training.resume_check import check_resumable
from onedrive.training.trainer import OneDriveTrainer


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def training_arguments(config: ExperimentConfig, accumulation: int) -> TrainingArguments:
    """``TrainingArguments`` of the ``train`` / ``data`` sections."""
    train = config.train
    report_to = (
        list(train.report_to)
        if train.report_to is not None
        else (["tensorboard"] if is_tensorboard_available() else [])
    )
    # cosine_whole_run is OneDriveTrainer.create_scheduler's; TrainingArguments holds a valid name it never uses
    scheduler = "cosine_with_min_lr" if train.lr_scheduler == WHOLE_RUN_COSINE else train.lr_scheduler
    scheduler_kwargs = {"min_lr_rate": train.min_lr_rate} if scheduler == "cosine_with_min_lr" else {}
    return TrainingArguments(
        output_dir=train.output_dir,
        num_train_epochs=train.epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.per_device_batch_size,
        gradient_accumulation_steps=accumulation,
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        adam_beta1=train.adam_beta1,
        adam_beta2=train.adam_beta2,
        optim=train.optimizer,
        lr_scheduler_type=scheduler,
        lr_scheduler_kwargs=scheduler_kwargs,
        warmup_steps=train.warmup_steps,
        max_grad_norm=train.max_grad_norm,
        bf16=train.precision == "bf16",
        fp16=train.precision == "fp16",
        activation_checkpointing=train.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if train.gradient_checkpointing else None,
        deepspeed=train.deepspeed,
        logging_steps=train.logging_steps,
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=train.save_total_limit,
        seed=train.seed,
        data_seed=train.seed,
        dataloader_num_workers=config.data.workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),
        remove_unused_columns=False,
        eval_strategy="no",
        report_to=report_to,
    )


def resolve_resume(config: ExperimentConfig, resume: bool | str | None) -> str | None:
    """Checkpoint to resume from; refuses to start over a run that already has checkpoints, and to resume from a
    checkpoint that lacks a file (``resume_check.check_resumable``)."""
    output_dir = Path(config.train.output_dir)
    last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if resume is None or resume is False:
        if last is not None:
            raise ConfigError(
                f"train.output_dir={str(output_dir)!r} already holds checkpoints (latest {last}): pass --resume to "
                f"continue that run, or choose another --set train.output_dir=..."
            )
        return None
    if resume is True:
        if last is None:
            raise ConfigError(f"--resume: no checkpoint-* folder in train.output_dir={str(output_dir)!r}")
        checkpoint = last
    elif not Path(resume).is_dir():
        raise ConfigError(f"--resume {resume}: no such checkpoint folder")
    else:
        checkpoint = str(resume)
    check_resumable(checkpoint, config.train.deepspeed, fp16=config.train.precision == "fp16", world_size=world_size())
    return checkpoint


@dataclass
class PreparedRun:
    """Everything built for one stage, before ``trainer.train``."""

    config: ExperimentConfig
    trainer: OneDriveTrainer
    applied: AppliedRecipe
    checkpoint: str | None

    @property
    def final_dir(self) -> Path:
        return Path(self.config.train.output_dir) / "final"


def prepare_experiment(
    config: ExperimentConfig,
    resume: bool | str | None = None,
    model_factory: Callable | None = None,
) -> PreparedRun:
    """Check the config (fails before anything heavy), then build model, recipe, data and trainer.

    ``model_factory(config) -> (model, notes)`` replaces ``build_model`` (benchmarks on random weights).
    """
    check_config(config, world_size())
    accumulation = resolve_batch(config.train, world_size())
    checkpoint = resolve_resume(config, resume)
    ensure_tiny_internvl(config)  # before seeding: writing it draws random numbers
    set_seed(config.train.seed)

    model, notes = (model_factory or build_model)(config)
    applied = apply_recipe(model, config.recipe)
    tokenizer = build_tokenizer_for(config)
    processor = build_processor(model, tokenizer)
    dataset = build_train_dataset(config, processor)
    args = training_arguments(config, accumulation)
    if is_main_process():
        print(f"{config.name}: {STAGES[config.recipe.stage].description}")
        for note in notes:
            print(note)
        print(parameter_table(applied.model))
        print(
            f"{len(dataset)} training samples; global batch {config.train.per_device_batch_size} x {world_size()} "
            f"process(es) x {accumulation} accumulation step(s)"
        )
        if dataset.conversation_stats.samples:
            print(
                f"QA conversations (data.max_text_tokens={dataset.max_text_tokens}): {dataset.conversation_stats.as_dict()}"
            )
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(args.output_dir) / "experiment.json").write_text(config.to_json())

    trainer = OneDriveTrainer(
        model=applied.model,
        args=args,
        data_collator=partial(collate_drive_batch, pad_token_id=tokenizer.pad_token_id),
        train_dataset=dataset,
        processing_class=processor,
        train_config=config.train,
        data_config=config.data,
    )
    return PreparedRun(config, trainer, applied, checkpoint)


def train_experiment(config: ExperimentConfig, resume: bool | str | None = None) -> Path:
    """Train one stage; returns ``<train.output_dir>/final``."""
    run = prepare_experiment(config, resume)
    run.trainer.train(resume_from_checkpoint=run.checkpoint)
    run.trainer.save_state()  # <output_dir>/trainer_state.json: the whole log history (main process)
    return save_final(run.trainer, run.applied, run.final_dir)


def save_final(trainer: OneDriveTrainer, applied: AppliedRecipe, final: Path) -> Path:
    """Merge LoRA and write a ``from_pretrained`` folder (model + processor) atomically, on the main process."""
    gather = contextlib.nullcontext()
    if trainer.is_deepspeed_enabled and trainer.accelerator.deepspeed_config["zero_optimization"]["stage"] == 3:
        deepspeed = extra_module("deepspeed", "deepspeed")

        gather = deepspeed.zero.GatheredParameters(list(applied.model.parameters()), modifier_rank=0)
    with gather:
        merged = merge_lora(applied)
        if trainer.is_world_process_zero():
            staging = StagingFolder(final)
            try:
                merged.save_pretrained(staging.path)
                trainer.processing_class.save_pretrained(staging.path)
                staging.publish(overwrite=True)
            except BaseException:
                staging.discard()
                raise
            print(f"saved {final}")
    trainer.accelerator.wait_for_everyone()
    return final
