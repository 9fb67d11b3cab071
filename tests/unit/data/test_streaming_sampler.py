"""StreamingBatchSampler: each slot walks whole sub-sequences in time order; every frame once per epoch.

The 2-process test runs the sampler in two real ``torch.distributed`` (gloo) processes, which read
their rank and the world size from the process group.
"""

import json
import os
import socket
from collections import Counter

import numpy as np
import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from onedrive.data.streaming_sampler import StreamIndex, StreamingBatchSampler
from onedrive.errors import InputError

SCENE_LENGTHS = (5, 17, 8, 12, 3, 9, 14)  # 68 frames


def shuffled_scenes(seed: int = 0) -> tuple[list[str], list[int], dict[int, tuple[str, int]]]:
    """Items of ``SCENE_LENGTHS`` scenes in a random dataset order, 0.5 s apart with jitter (µs timestamps)."""
    rng = np.random.default_rng(seed)
    frames = []
    for scene, length in enumerate(SCENE_LENGTHS):
        start = int(rng.integers(0, 10**9))
        times = start + np.cumsum(rng.integers(400_000, 600_000, length))
        frames += [(f"scene{scene}", int(time)) for time in times]
    order = rng.permutation(len(frames))
    items = [frames[i] for i in order]
    return [scene for scene, _ in items], [time for _, time in items], dict(enumerate(items))


def successor_map(items: dict[int, tuple[str, int]]) -> dict[int, int]:
    """item → the item of the same scene that follows it in time."""
    by_scene = {}
    for index, (scene, time) in items.items():
        by_scene.setdefault(scene, []).append((time, index))
    following = {}
    for frames in by_scene.values():
        ordered = [index for _, index in sorted(frames)]
        following.update(zip(ordered, ordered[1:]))
    return following


def runs(slot: list[StreamIndex]) -> list[list[int]]:
    """The slot's frames split at its sequence starts."""
    assert slot[0].sequence_start, "a slot's first frame starts a sequence"
    out = []
    for frame in slot:
        if frame.sequence_start:
            out.append([])
        out[-1].append(frame.index)
    return out


def assert_streams(slots: list[list[StreamIndex]], items: dict[int, tuple[str, int]], padding: int) -> None:
    """Every run is consecutive frames of one scene; every frame appears once, ``padding`` of them twice."""
    following = successor_map(items)
    for slot in slots:
        for run in runs(slot):
            for before, after in zip(run, run[1:]):
                assert following.get(before) == after, f"{after} does not follow {before} in time"
    counts = Counter(frame.index for slot in slots for frame in slot)
    assert set(counts) == set(items), "every frame of the split is used"
    assert sorted(counts.values(), reverse=True)[: padding + 1] == [2] * padding + [1]
    assert sum(counts.values()) == len(items) + padding


@pytest.mark.parametrize("batch_size, processes", [(1, 1), (2, 1), (3, 2), (4, 2)])
def test_each_slot_walks_sub_sequences_in_time_order_and_every_frame_once(batch_size, processes):
    scenes, times, items = shuffled_scenes()
    sampler = StreamingBatchSampler(scenes, times, batch_size, num_processes=processes, process_index=0)
    slots = batch_size * processes
    assert sampler.steps == -(-68 // slots) and sampler.padding == slots * sampler.steps - 68
    for epoch in (0, 1, 2):
        assert_streams(sampler.slot_streams(epoch), items, sampler.padding)


def test_padding_repeats_the_first_frames_and_none_when_slots_divide_the_frames():
    scenes, times, items = shuffled_scenes()
    exact = StreamingBatchSampler(scenes, times, batch_size=2, num_processes=2, process_index=0)  # 68 = 4 x 17
    assert exact.padding == 0
    uneven = StreamingBatchSampler(scenes, times, batch_size=5, num_processes=1)  # 5 x 14 = 70 = 68 + 2
    assert uneven.padding == 2
    slots = uneven.slot_streams(3)
    stream = [frame.index for slot in slots for frame in slot]
    assert stream[-2:] == stream[:2]  # the last slot's tail repeats the epoch's first frames
    assert slots[-1][-2].sequence_start  # and starts a new sequence there


def test_batches_are_the_slots_of_this_process_step_by_step():
    scenes, times, _ = shuffled_scenes()
    plan = StreamingBatchSampler(scenes, times, 3, num_processes=2, process_index=0).slot_streams(5)
    for process in (0, 1):
        sampler = StreamingBatchSampler(scenes, times, 3, num_processes=2, process_index=process)
        sampler.set_epoch(5)
        batches = list(sampler)
        assert len(batches) == len(sampler) == sampler.steps
        assert batches == [[plan[3 * process + row][step] for row in range(3)] for step in range(sampler.steps)]
    interleaved = StreamingBatchSampler(scenes, times, 3, num_processes=2, interleave_processes=True)
    interleaved.set_epoch(5)
    batches = list(interleaved)
    assert len(batches) == len(interleaved) == 2 * interleaved.steps
    assert batches[1::2] == [[plan[3 + row][step] for row in range(3)] for step in range(interleaved.steps)]


def count_sequences(sampler: StreamingBatchSampler, epoch: int) -> int:
    return sum(frame.sequence_start for slot in sampler.slot_streams(epoch) for frame in slot)


def test_scenes_are_cut_into_the_warm_up_split_then_the_split():
    scenes, times, _ = shuffled_scenes()
    # one slot: no chunk boundary and no padding, so the sequences are exactly the sub-sequences
    sampler = StreamingBatchSampler(scenes, times, 1, 1, seq_split_num=2, warmup_split_num=4, warmup_epochs=2)
    warm, after = sum(min(4, n) for n in SCENE_LENGTHS), sum(min(2, n) for n in SCENE_LENGTHS)
    assert [count_sequences(sampler, epoch) for epoch in range(4)] == [warm, warm, after, after]
    whole = StreamingBatchSampler(scenes, times, 1, 1, seq_split_num=1, warmup_epochs=0)
    assert count_sequences(whole, 0) == len(SCENE_LENGTHS)


def test_set_epoch_reorders_sequences_deterministically_for_a_seed():
    scenes, times, items = shuffled_scenes()

    def plan(seed, epoch):
        sampler = StreamingBatchSampler(scenes, times, 2, 1, seed=seed, warmup_epochs=0)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert plan(0, 1) == plan(0, 1)
    assert plan(0, 1) != plan(0, 2) and plan(0, 1) != plan(1, 1)
    for epoch in (1, 2):  # the order inside each sequence stays the time order
        slots = StreamingBatchSampler(scenes, times, 2, 1, warmup_epochs=0).slot_streams(epoch)
        assert_streams(slots, items, padding=0)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="share timestamp 5.*qa_mode"):
        StreamingBatchSampler(["a", "a", "b"], [5, 5, 7], 1, 1)
    with pytest.raises(InputError, match="3 frames cannot fill 4 batch slots"):
        StreamingBatchSampler(["a", "a", "b"], [1, 2, 3], 2, 2, process_index=0)
    with pytest.raises(InputError, match="seq_split_num must be >= 1, got 0"):
        StreamingBatchSampler(["a"], [1], 1, 1, seq_split_num=0)
    with pytest.raises(InputError, match=r"process_index must be in \[0, 2\), got 2"):
        StreamingBatchSampler(["a", "b"], [1, 2], 1, 2, process_index=2)


def _one_rank(rank: int, port: int, out: str) -> None:
    """Join a 2-process gloo group; write this rank's batches of epochs 0 and 1 to ``out/<rank>.json``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        scenes, times, _ = shuffled_scenes()
        sampler = StreamingBatchSampler(scenes, times, batch_size=3)  # rank and world size from the group
        epochs = []
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            epochs.append([[list(frame) for frame in batch] for batch in sampler])
        with open(os.path.join(out, f"{rank}.json"), "w") as file:
            json.dump({"rank": dist.get_rank(), "processes": sampler.num_processes, "epochs": epochs}, file)
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_each_get_their_slots_in_order_and_every_frame_once(tmp_path):
    mp.start_processes(_one_rank, args=(free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    _, _, items = shuffled_scenes()
    results = [json.loads((tmp_path / f"{rank}.json").read_text()) for rank in (0, 1)]
    assert [(r["rank"], r["processes"]) for r in results] == [(0, 2), (1, 2)]
    for epoch in (0, 1):
        slots = []  # global slot order: rank 0's 3 rows, then rank 1's
        for result in results:
            batches = result["epochs"][epoch]
            slots += [[StreamIndex(*batch[row]) for batch in batches] for row in range(3)]
        assert_streams(slots, items, padding=6 * 12 - 68)
    assert results[0]["epochs"][0] != results[0]["epochs"][1]
