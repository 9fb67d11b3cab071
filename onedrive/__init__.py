"""OneDrive: a unified driving vision-language-action model on InternVL3."""

from onedrive.configuration_onedrive import OneDriveConfig, OneDriveTaskConfig
from onedrive.schema import NUSCENES_DETECTION_CLASSES

__version__ = "0.1.0"

__all__ = ["NUSCENES_DETECTION_CLASSES", "OneDriveConfig", "OneDriveTaskConfig", "__version__"]

from transformers import AutoConfig, AutoModel, AutoProcessor  # noqa: E402

from onedrive.data.processor import OneDriveProcessor  # noqa: E402

from onedrive.modeling.modeling_onedrive import OneDriveForDriving  # noqa: E402
from onedrive.schema import CameraGeometry, DriveBatch, DriveTargets  # noqa: E402

AutoConfig.register(OneDriveConfig.model_type, OneDriveConfig, exist_ok=True)
AutoModel.register(OneDriveConfig, OneDriveForDriving, exist_ok=True)
AutoProcessor.register(OneDriveConfig, OneDriveProcessor, exist_ok=True)

__all__ += ["CameraGeometry", "DriveBatch", "DriveTargets", "OneDriveForDriving", "OneDriveProcessor"]
