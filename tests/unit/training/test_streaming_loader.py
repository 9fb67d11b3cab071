"""``OneDriveTrainer`` under ``data.streaming``: the Trainer's own loop feeds each row its stream in order.

One process here (the 2-process run is tests/integration/training/test_streaming_distributed.py):
the micro-batches the Trainer's loop hands to ``compute_loss`` over 2 epochs with gradient
accumulation are exactly the sampler's batches of epoch 0 then epoch 1, with their reset flags.
"""

import json
from dataclasses import replace

import pytest
import torch
from plan_query_helpers import anchors
from streaming_run import record_streaming_run, streaming_dataset
from streaming_world import write_streaming_world
from tiny_run import tiny_experiment

from onedrive.data.streaming_dataset import stream_keys
from onedrive.data.streaming_sampler import StreamingBatchSampler
from onedrive.errors import InputError
from onedrive.training.config import ConfigError, check_config
from onedrive.training.run import prepare_experiment
from onedrive.training.streaming import StreamingEpoch


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_streaming_world(tmp_path_factory.mktemp("streaming"))  # 2 training scenes x 5 frames


def expected_batches(dataset, batch_size, processes, process, epochs):
    sampler = StreamingBatchSampler(
        *stream_keys(dataset), batch_size, processes, process, seed=3, seq_split_num=2, warmup_split_num=3
    )
    tokens = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        tokens += [[[dataset.record(i)["token"], start] for i, start in batch] for batch in sampler]
    return tokens


@pytest.mark.parametrize("workers", [0, 2])
def test_trainer_feeds_the_streaming_batches_in_order_across_epochs_and_accumulation(world, tmp_path, workers):
    root, infos = world
    record_streaming_run(infos, root, tmp_path, batch_size=2, accumulation=2, epochs=2, workers=workers)
    seen = json.loads((tmp_path / "0.json").read_text())
    dataset = streaming_dataset(infos, root)
    assert seen["processes"] == 1
    assert seen["batches"] == expected_batches(dataset, 2, 1, 0, epochs=2)  # 5 steps per epoch
    assert len(seen["batches"]) == 10 and seen["batches"][0] != seen["batches"][5]


def test_streaming_needs_timestamps(world, tmp_path):
    root, infos = world
    document = json.loads(infos.read_text())
    del document["infos"][3]["timestamp"]
    broken = tmp_path / "nuscenes_infos_synthetic_train.json"
    broken.write_text(json.dumps(document))
    token = document["infos"][3]["token"]
    with pytest.raises(InputError, match=f"record '{token}' has no 'timestamp'"):
        stream_keys(streaming_dataset(broken, root))


def test_streaming_config_reaches_the_trainer_and_is_checked(world, tmp_path):
    root, infos = world
    config = tiny_experiment(tmp_path, tmp_path / "out")
    config.model.task["lane_points"] = 11  # the synthetic world's lanes
    config.model.task["plan_mode_anchors"] = anchors(3, 2)  # the world's split is too short for k-means anchors
    config.data = replace(
        config.data,
        dataset="nuscenes",
        root=str(root),
        infos_dir=str(infos.parent),
        train_split="synthetic_train",
        qa_mode="planning",
        streaming=True,
    )
    trainer = prepare_experiment(config).trainer
    trainer.get_train_dataloader()
    loader = trainer.get_train_dataloader()  # a second loader replaces the first one's epoch callback
    assert len(loader) == 5  # 10 frames over 2 rows
    (epoch_setter,) = [
        callback for callback in trainer.callback_handler.callbacks if isinstance(callback, StreamingEpoch)
    ]
    assert epoch_setter.sampler is loader.batch_sampler
    first, second = list(loader)[:2]
    assert first.sequence_start.tolist() == [True, True] and second.sequence_start.dtype == torch.bool
    assert "sequence_start" not in first and "input_ids" in first  # the flag is not a model keyword argument
    with pytest.raises(ConfigError, match="(?s)data.seq_split_num must be >= 1, got 0.*qa_mode=.all."):
        check_config(replace(config, data=replace(config.data, seq_split_num=0, qa_mode="all")))
