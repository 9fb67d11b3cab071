"""Training with a temporal memory: the trainer passes each micro-batch the state the previous one returned."""

import torch
from tiny_run import tiny_experiment

from onedrive.data import collate_drive_batch
from onedrive.training.run import prepare_experiment

MEMORY = dict(memory_size=6, memory_topk=4, memory_propagated=3)


def test_trainer_carries_the_detached_memory_between_steps(drive_data, tmp_path):
    config = tiny_experiment(drive_data, tmp_path / "run")
    config.model.task.update(MEMORY)
    config.train.max_steps = 2
    run = prepare_experiment(config)
    trainer, dataset = run.trainer, run.trainer.train_dataset
    trainer.train()
    assert trainer._memory is not None and trainer._memory.batch_size == 2
    assert not any(task.embedding.requires_grad for task in trainer._memory.tasks.values())

    # Two consecutive frames of scenes 0 and 1 (records 0, 2 then 1, 3: 0.5 s apart): the second step reads the
    # first step's memory, a fresh state gives another loss.
    pad = run.applied.model.config.text_config.pad_token_id or 0
    first, second = (collate_drive_batch([dataset[i] for i in pair], pad) for pair in ((0, 2), (1, 3)))
    model = trainer.model.train()
    torch.manual_seed(0)
    trainer._memory = None
    trainer.compute_loss(model, first)
    carried = trainer.compute_loss(model, second).detach()
    assert all(task.valid.any() for task in trainer._memory.tasks.values())
    trainer._memory = None
    fresh = trainer.compute_loss(model, second).detach()
    assert not torch.allclose(carried, fresh)
    trainer._memory = trainer._memory.select([0])  # a batch of another size starts afresh
    assert torch.allclose(trainer.compute_loss(model, second).detach(), fresh)


def test_a_sub_sequence_start_resets_the_carried_memory(drive_data, tmp_path):
    """The streaming sampler's ``sequence_start`` cuts a slot's stream even within one scene and time gap."""
    config = tiny_experiment(drive_data, tmp_path / "run")
    config.model.task.update(MEMORY)
    run = prepare_experiment(config)
    trainer, dataset = run.trainer, run.trainer.train_dataset
    pad = run.applied.model.config.text_config.pad_token_id or 0
    first, second = (collate_drive_batch([dataset[i] for i in pair], pad) for pair in ((0, 2), (1, 3)))
    model = trainer.model.train()
    losses = {}
    for name, starts in (("fresh", None), ("carried", [False, False]), ("cut", [True, True])):
        trainer._memory = None
        if name != "fresh":
            trainer.compute_loss(model, first)
        second.sequence_start = None if starts is None else torch.tensor(starts)
        torch.manual_seed(0)
        losses[name] = trainer.compute_loss(model, second).detach()
    assert not torch.allclose(losses["carried"], losses["fresh"])
    assert torch.equal(losses["cut"], losses["fresh"])
