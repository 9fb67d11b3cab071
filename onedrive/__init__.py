"""OneDrive: a unified driving vision-language-action model on InternVL3."""

from onedrive.configuration_onedrive import NUSCENES_DETECTION_CLASSES, OneDriveConfig, OneDriveTaskConfig

__version__ = "0.1.0"

__all__ = ["NUSCENES_DETECTION_CLASSES", "OneDriveConfig", "OneDriveTaskConfig", "__version__"]
