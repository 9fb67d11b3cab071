"""Data: info records → processed samples (``DriveDataset``, through a processor passed in) and collation.

Readers and converters of the datasets on disk are in ``nuscenes/`` and ``navsim/``. The
processor and the tokenizer belong to the model (``onedrive.model``); nothing here imports it.
"""

from onedrive.data.collate import collate_drive_batch
from onedrive.data.dataset import COMMAND_ANSWERS, PLANNING_QUESTION, DriveDataset

__all__ = ["COMMAND_ANSWERS", "PLANNING_QUESTION", "DriveDataset", "collate_drive_batch"]
