"""The OneDrive model, laid out as a transformers model: configuration, modeling, processing.

``configuration_onedrive`` (config), ``modeling_onedrive`` (the model) with its parts
(``decoder``, ``tokens``, ``queries``, ``position_3d``, ``azimuth_prior``, ``heads/``,
``matching``, ``inputs``, ``outputs``, ``initial_values``, ``internvl_weights``), and the
processing: ``processing_onedrive`` (cameras + prompt → model inputs),
``image_processing_onedrive`` (tiling with consistent intrinsics), ``prompts`` and
``tokenization_onedrive`` (the small built-in tokenizer of the tests and the demo).
"""

from onedrive.model.configuration_onedrive import NUSCENES_DETECTION_CLASSES, OneDriveConfig, OneDriveTaskConfig
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.processing_onedrive import OneDriveProcessor
from onedrive.model.tokenization_onedrive import build_tokenizer

__all__ = [
    "NUSCENES_DETECTION_CLASSES",
    "OneDriveConfig",
    "OneDriveForDriving",
    "OneDriveProcessor",
    "OneDriveTaskConfig",
    "build_tokenizer",
]
