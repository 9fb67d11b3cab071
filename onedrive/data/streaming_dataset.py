"""Streaming training's side of the dataset: the items' scenes and times, and the per-sample reset flag.

``stream_keys(dataset)`` reads each item's ``scene_token`` and ``timestamp`` from its info record
(``DriveDataset.record``), what ``StreamingBatchSampler`` orders frames by.
``StreamingDataset(dataset)[StreamIndex(i, start)]`` is ``dataset[i]`` with
``sample.sequence_start = start``; ``collate_drive_batch`` stacks the flags into
``DriveBatch.sequence_start`` (B,) bool: True where a row's memory must be reset before its frame.

    python -c "from onedrive.data.streaming_dataset import StreamingDataset; help(StreamingDataset)"
"""

from __future__ import annotations

import math

from torch.utils.data import Dataset

from onedrive.data.dataset import DriveDataset
from onedrive.data.streaming_sampler import StreamIndex
from onedrive.errors import InputError
from onedrive.schema import DriveSample


def stream_keys(dataset: DriveDataset) -> tuple[list[str], list[int | float]]:
    """(scene token, timestamp) of every item of ``dataset``; InputError naming the record when one is missing."""
    scenes, times = [], []
    for index in range(len(dataset)):
        record = dataset.record(index)
        for key in ("scene_token", "timestamp"):
            if key not in record:
                raise InputError(
                    f"{dataset.infos_path}: record {record.get('token')!r} has no {key!r}, which streaming training "
                    f"orders frames by (data.streaming=True); re-create the info file with tools/create_data.py"
                )
        timestamp = record["timestamp"]
        if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)) or not math.isfinite(timestamp):
            raise InputError(
                f"{dataset.infos_path}: record {record.get('token')!r} has timestamp {timestamp!r}, "
                f"expected a finite number (µs)"
            )
        scenes.append(str(record["scene_token"]))
        times.append(timestamp)
    return scenes, times


class StreamingDataset(Dataset):
    """``DriveDataset`` read with ``StreamIndex``es: each sample carries its ``sequence_start`` flag."""

    def __init__(self, dataset: DriveDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: StreamIndex) -> DriveSample:
        index, start = key
        sample = self.dataset[index]
        sample.sequence_start = bool(start)
        return sample
