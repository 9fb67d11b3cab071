"""Data: tokenizer, processor (images → tiles, prompts → ids, geometry), dataset, collation."""

from onedrive.data.collate import collate_drive_batch
from onedrive.data.dataset import COMMAND_ANSWERS, PLANNING_QUESTION, DriveDataset
from onedrive.data.processor import DriveSample, OneDriveProcessor, SampleTargets
from onedrive.data.tokenizer import build_tokenizer

__all__ = [
    "COMMAND_ANSWERS",
    "PLANNING_QUESTION",
    "DriveDataset",
    "DriveSample",
    "OneDriveProcessor",
    "SampleTargets",
    "build_tokenizer",
    "collate_drive_batch",
]
