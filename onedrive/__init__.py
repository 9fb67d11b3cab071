"""OneDrive: a unified driving vision-language-action model on InternVL3."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from onedrive.model import OneDriveConfig, OneDriveForDriving, OneDriveProcessor, OneDriveTaskConfig
from onedrive.schema import NUSCENES_DETECTION_CLASSES, CameraGeometry, DriveBatch, DriveTargets

__version__ = "0.1.0"

AutoConfig.register(OneDriveConfig.model_type, OneDriveConfig, exist_ok=True)
AutoModel.register(OneDriveConfig, OneDriveForDriving, exist_ok=True)
AutoProcessor.register(OneDriveConfig, OneDriveProcessor, exist_ok=True)

__all__ = [
    "NUSCENES_DETECTION_CLASSES",
    "CameraGeometry",
    "DriveBatch",
    "DriveTargets",
    "OneDriveConfig",
    "OneDriveForDriving",
    "OneDriveProcessor",
    "OneDriveTaskConfig",
    "__version__",
]
