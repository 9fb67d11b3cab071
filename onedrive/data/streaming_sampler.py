"""``StreamingBatchSampler``: every batch slot walks whole scenes' sub-sequences in time order (streaming training).

Streaming training (StreamPETR, and the official OneDrive configs) carries a query memory from one
step to the next in each row of the batch. The data must then arrive as video: row ``b`` of process
``p`` at step ``t + 1`` holds the frame that follows, in time, its frame at step ``t``. This sampler
builds such an epoch:

1. Items are grouped by scene token and sorted by timestamp (two items of one scene at the same
   timestamp are refused: ``qa_mode="all"`` makes them; streaming needs one item per frame).
2. Each scene is cut into ``split_num`` sub-sequences at ``split_num - 1`` cut points drawn at random
   (distinct, so no sub-sequence is empty; a scene of ``n < split_num`` frames gives ``n`` one-frame
   sub-sequences). ``split_num`` is ``warmup_split_num`` in the first ``warmup_epochs`` epochs, then
   ``seq_split_num``: short sequences first, as the official warm-up (its config's
   ``warmup_split_num=10`` draws 10 cut points, 11 sub-sequences, during the first epoch's
   iterations; ``seq_split_num=2`` 2 sub-sequences afterwards).
3. The sub-sequences are put in a random order and laid end to end into one stream of the epoch's
   ``N`` frames.
4. The stream is cut into ``S = batch_size × num_processes`` consecutive chunks of
   ``L = ceil(N / S)`` frames, one per batch slot; global slot ``s`` is row ``s % batch_size`` of process
   ``s // batch_size``. A chunk boundary inside a sub-sequence cuts it in two: at most ``S - 1`` extra
   cuts per epoch.
5. Every frame of the split is used exactly once per epoch, plus ``P = S × L - N`` padding frames
   (``P < S``; 0 when ``S`` divides ``N``): the slots left short at the end of the stream are filled
   with the stream's first ``P`` frames again, in order, so every batch is full and every row stays
   a time-ordered stream. ``padding`` says how many frames were repeated; none is dropped.

Each yielded index is a ``StreamIndex(index, sequence_start)``; ``sequence_start`` is True at the first
frame of every sub-sequence in its slot (a scene's start, a cut, a chunk's first frame, a padding
run's first frame): the memory of that row must be reset before the frame. ``StreamingDataset``
(``onedrive.data.streaming_dataset``) reads such indices and puts the flag into the sample.

The plan of an epoch depends only on ``seed`` and the epoch (``set_epoch``), identical in every
process: the epoch changes which sub-sequences exist (warm-up or not, where the cuts fall) and their
order, never the order of frames inside one. ``len(sampler)`` is the batches per epoch, the same in
every epoch.

Processes: ``interleave_processes=False`` (default) yields only this process's ``L`` batches (a plain
``DataLoader`` per process under DDP); ``interleave_processes=True`` yields every process's batch of
step 0, then of step 1, …: batch ``k`` belongs to process ``k % num_processes``, the layout that
accelerate's ``BatchSamplerShard`` (what ``transformers.Trainer`` wraps a batch sampler in under
torchrun and DeepSpeed) splits back into each process's own batches.

    python -c "from onedrive.data.streaming_sampler import StreamingBatchSampler; help(StreamingBatchSampler)"
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler

from onedrive.errors import InputError


class StreamIndex(NamedTuple):
    """One dataset item in a streaming batch, and whether it begins a (sub-)sequence in its slot."""

    index: int
    sequence_start: bool


class StreamingBatchSampler(Sampler[list[StreamIndex]]):
    """Batches whose rows are time-ordered streams of sub-sequences (module docstring).

    Args:
        scene_tokens / timestamps: per dataset item (``onedrive.data.streaming_dataset.stream_keys``).
        batch_size: rows per batch of one process.
        num_processes / process_index: None: from ``torch.distributed`` when it is initialised, else 1 / 0.
        interleave_processes: yield every process's batches in turn (for accelerate's ``BatchSamplerShard``).
        seed: with the epoch, the only source of randomness.
        seq_split_num: sub-sequences per scene after the warm-up.
        warmup_split_num / warmup_epochs: sub-sequences per scene in the first ``warmup_epochs`` epochs.
    """

    def __init__(
        self,
        scene_tokens: Sequence[str],
        timestamps: Sequence[int | float],
        batch_size: int,
        num_processes: int | None = None,
        process_index: int | None = None,
        interleave_processes: bool = False,
        seed: int = 0,
        seq_split_num: int = 2,
        warmup_split_num: int = 11,
        warmup_epochs: int = 1,
    ):
        distributed = dist.is_available() and dist.is_initialized()
        self.num_processes = (
            num_processes if num_processes is not None else (dist.get_world_size() if distributed else 1)
        )
        self.process_index = process_index if process_index is not None else (dist.get_rank() if distributed else 0)
        self.batch_size = batch_size
        self.interleave_processes = interleave_processes
        self.seed = seed
        self.seq_split_num = seq_split_num
        self.warmup_split_num = warmup_split_num
        self.warmup_epochs = warmup_epochs
        self.epoch = 0
        _check_settings(self)
        self.scenes = _scenes_in_time_order(scene_tokens, timestamps)  # per scene: item indices in time order
        self.num_frames = len(scene_tokens)
        self.num_slots = batch_size * self.num_processes
        if self.num_frames < self.num_slots:
            raise InputError(
                f"streaming sampler: {self.num_frames} frames cannot fill {self.num_slots} batch slots "
                f"(batch size {batch_size} x {self.num_processes} processes); use fewer slots or more data"
            )
        self.steps = math.ceil(self.num_frames / self.num_slots)  # L: batches per process and epoch
        self.padding = self.num_slots * self.steps - self.num_frames  # P: repeated frames per epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def split_num(self, epoch: int) -> int:
        """Sub-sequences per scene in ``epoch``."""
        return self.warmup_split_num if epoch < self.warmup_epochs else self.seq_split_num

    def slot_streams(self, epoch: int) -> list[list[StreamIndex]]:
        """The plan of ``epoch``: per global slot, its ``L`` frames in the order it sees them."""
        rng = np.random.default_rng([self.seed, epoch])
        pieces = [piece for scene in self.scenes for piece in _split(scene, self.split_num(epoch), rng)]
        stream = [
            StreamIndex(index, position == 0)
            for order in rng.permutation(len(pieces))
            for position, index in enumerate(pieces[order])
        ]  # N frames
        padding = iter(stream[: self.padding])
        slots = []
        for slot in range(self.num_slots):
            chunk = stream[slot * self.steps : (slot + 1) * self.steps]
            fill = [next(padding) for _ in range(self.steps - len(chunk))]
            frames = chunk + fill
            starts = {0} | ({len(chunk)} if fill else set())  # a chunk and a padding run start new sequences
            slots.append([StreamIndex(f.index, f.sequence_start or i in starts) for i, f in enumerate(frames)])
        return slots

    def __iter__(self) -> Iterator[list[StreamIndex]]:
        slots = self.slot_streams(self.epoch)
        processes = range(self.num_processes) if self.interleave_processes else [self.process_index]
        for step in range(self.steps):
            for process in processes:
                rows = slots[process * self.batch_size : (process + 1) * self.batch_size]
                yield [row[step] for row in rows]

    def __len__(self) -> int:
        return self.steps * (self.num_processes if self.interleave_processes else 1)


def _check_settings(sampler: StreamingBatchSampler) -> None:
    problems = [
        f"{name} must be >= {low}, got {value}"
        for name, value, low in (
            ("batch_size", sampler.batch_size, 1),
            ("num_processes", sampler.num_processes, 1),
            ("seq_split_num", sampler.seq_split_num, 1),
            ("warmup_split_num", sampler.warmup_split_num, 1),
            ("warmup_epochs", sampler.warmup_epochs, 0),
        )
        if value < low
    ]
    if not 0 <= sampler.process_index < sampler.num_processes:
        problems.append(f"process_index must be in [0, {sampler.num_processes}), got {sampler.process_index}")
    if problems:
        raise InputError("streaming sampler: " + "; ".join(problems))


def _scenes_in_time_order(scene_tokens: Sequence[str], timestamps: Sequence[int | float]) -> list[list[int]]:
    """Item indices grouped by scene (first-appearance order), each scene sorted by timestamp."""
    if len(scene_tokens) != len(timestamps):
        raise InputError(f"streaming sampler: {len(scene_tokens)} scene tokens but {len(timestamps)} timestamps")
    scenes: dict[str, list[int]] = {}
    for index, scene in enumerate(scene_tokens):
        scenes.setdefault(scene, []).append(index)
    ordered = []
    for scene, items in scenes.items():
        items = sorted(items, key=lambda index: timestamps[index])
        for before, after in zip(items, items[1:]):
            if timestamps[before] == timestamps[after]:
                raise InputError(
                    f"streaming sampler: items {before} and {after} of scene {scene!r} share timestamp "
                    f"{timestamps[before]}; a stream needs one item per frame (qa_mode 'all' gives a frame one "
                    f"item per QA turn: use qa_mode 'sample' or 'planning')"
                )
        ordered.append(items)
    return ordered


def _split(scene: list[int], split_num: int, rng: np.random.Generator) -> list[list[int]]:
    """``scene`` cut at ``min(split_num, len(scene)) - 1`` distinct random positions."""
    cuts = np.sort(rng.choice(np.arange(1, len(scene)), size=min(split_num, len(scene)) - 1, replace=False))
    bounds = [0, *cuts.tolist(), len(scene)]
    return [scene[start:end] for start, end in zip(bounds, bounds[1:])]
