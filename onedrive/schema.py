"""Typed containers that travel from the data pipeline into the model, and the datasets' constants.

Shared by `onedrive.data` (which builds them) and `onedrive.model` (which reads
them); neither of those packages imports the other. The dataset constants (detection
classes, camera names and order) are defined here once, for the converters, the
processor, the evaluation, the model's configuration and the experiment configs.

Frames and units (docs/design.md §4): the ego frame of the key frame, x forward,
y left, z up, metres, radians, yaw counter-clockwise from x.

* ``DriveSample``: one key frame after processing (tensors without a batch axis).
* ``DriveBatch``: a collated batch; a ``Mapping`` so ``model(**batch)`` works, and
  what ``model.predict(batch)`` / ``model.generate(batch)`` take.

Ego status vector (``EGO_STATUS_FIELDS``): ``[vx, vy, ax, ay, yaw_rate, speed]`` in
m/s, m/s², rad/s, m/s, in the ego frame of the key frame.
Driving command: 0 right, 1 left, 2 straight (VAD/UniAD convention).

Ego history (``EGO_HISTORY_FIELDS``): per previous key frame (the previous one first, two of
them) its ego status, its pose ``x, y, yaw`` in the current ego frame and ``valid`` (0 with
zeros when the scene has no such frame).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace

import torch

EGO_STATUS_FIELDS = ("vx", "vy", "ax", "ay", "yaw_rate", "speed")
EGO_HISTORY_FIELDS = (*EGO_STATUS_FIELDS, "x", "y", "yaw", "valid")
EGO_HISTORY_FRAMES = 2
CAMERA_IMAGE_MODE = "RGB"  # the only PIL mode accepted for camera images (8-bit RGB, as the datasets' JPEGs)
IGNORE_INDEX = -100  # label of every token that is not part of an answer
COMMANDS = ("right", "left", "straight")

# The devkit's ten detection classes (docs/reference.md), in the order of the class index.
NUSCENES_DETECTION_CLASSES = (
    "car",
    "truck",
    "bus",
    "trailer",
    "construction_vehicle",
    "pedestrian",
    "motorcycle",
    "bicycle",
    "traffic_cone",
    "barrier",
)
# Camera order of an info record's ``cams`` and of the model's image input.
NUSCENES_CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")
NAVSIM_CAMERAS = ("CAM_F0", "CAM_L0", "CAM_L1", "CAM_L2", "CAM_R0", "CAM_R1", "CAM_R2", "CAM_B0")


@dataclass
class CameraGeometry:
    """Camera geometry of the processed images (after resize / crop / augmentation).

    intrinsics: (B, N_cam, 3, 3) pinhole matrix in pixels of the processed image.
    cam2ego:    (B, N_cam, 4, 4) camera-to-ego transform (OpenCV camera axes:
                x right, y down, z forward).
    image_hw:   (height, width) of every processed camera image, in pixels.
    """

    intrinsics: torch.Tensor
    cam2ego: torch.Tensor
    image_hw: tuple[int, int]

    def to(self, device: torch.device | str) -> CameraGeometry:
        return replace(self, intrinsics=self.intrinsics.to(device), cam2ego=self.cam2ego.to(device))


@dataclass
class DriveTargets:
    """Ground truth of a batch, ego frame of each key frame.

    boxes:           B × (N_i, 9) ``[x, y, z, l, w, h, yaw, vx, vy]``.
    labels:          B × (N_i,) class index into ``config.task_config.det_classes``.
    lanes:           B × (M_i, P, 3) centerline points ordered along travel.
    trajectory:      (B, T, D) future ego waypoints (D = 2 nuScenes ``x, y``;
                     D = 3 NAVSIM ``x, y, heading``).
    trajectory_mask: (B, T) bool, True where the waypoint is valid.
    """

    boxes: list[torch.Tensor] = field(default_factory=list)
    labels: list[torch.Tensor] = field(default_factory=list)
    lanes: list[torch.Tensor] = field(default_factory=list)
    trajectory: torch.Tensor | None = None
    trajectory_mask: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> DriveTargets:
        def move(value):
            if value is None:
                return None
            if isinstance(value, list):
                return [item.to(device) for item in value]
            return value.to(device)

        return DriveTargets(**{f.name: move(getattr(self, f.name)) for f in fields(self)})


@dataclass
class DriveBatch(Mapping):
    """A collated batch.

    input_ids:      (B, L) token ids; image placeholders are ``config.image_token_id``.
    attention_mask: (B, L) 1 for real tokens, 0 for padding.
    pixel_values:   (B * N_cam * T, 3, S, S) ViT tiles, sample-major, then camera,
                    then tile (T = grid tiles + thumbnail; InternVL's flat layout).
    labels:         (B, L) next-token targets, -100 except answer tokens.
    camera:         camera geometry of the processed images.
    ego_status:     (B, 6) see ``EGO_STATUS_FIELDS``.
    command:        (B,) long, 0 right / 1 left / 2 straight.
    targets:        ground truth for the perception and planning losses.
    scene_tokens:   B scene tokens of the key frames (stream fields: what a temporal memory needs to
                    tell a continuing scene from a new one, ``model/streaming.py``).
    timestamps:     (B,) float64 key-frame time in seconds.
    ego_to_global:  (B, 4, 4) float64 ego→global pose of the key frame.
    ego_history:    (B, 2, 10) the two previous key frames' ego status, pose (x, y, yaw in the current ego
                    frame) and validity, the previous one first (``EGO_HISTORY_FIELDS``); the planning
                    queries' ego token reads it (required with the driving inputs).
    sample_tokens:  B sample tokens (not passed to the model).
    sequence_start: (B,) bool, streaming training only: True where the row's frame begins a
                    (sub-)sequence, so its carried memory must be reset first
                    (``onedrive.data.streaming_sampler``; not passed to the model).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    pixel_values: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    camera: CameraGeometry | None = None
    ego_status: torch.Tensor | None = None
    command: torch.Tensor | None = None
    targets: DriveTargets | None = None
    scene_tokens: list[str] | None = None
    timestamps: torch.Tensor | None = None
    ego_to_global: torch.Tensor | None = None
    ego_history: torch.Tensor | None = None
    sample_tokens: list[str] = field(default_factory=list)
    sequence_start: torch.Tensor | None = None

    # Mapping protocol: the model's keyword arguments (everything but sample_tokens and sequence_start).
    def _model_keys(self) -> list[str]:
        return [
            f.name
            for f in fields(self)
            if f.name not in ("sample_tokens", "sequence_start") and getattr(self, f.name) is not None
        ]

    def __getitem__(self, key: str):
        if key not in self._model_keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._model_keys())

    def __len__(self) -> int:
        return len(self._model_keys())

    def to(self, device: torch.device | str) -> DriveBatch:
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            moved[f.name] = value.to(device) if hasattr(value, "to") else value
        return DriveBatch(**moved)


@dataclass
class SampleTargets:
    """Ground truth of one sample (ego frame). Shapes as in ``onedrive.schema.DriveTargets``."""

    boxes: torch.Tensor  # (N, 9) [x, y, z, l, w, h, yaw, vx, vy]
    labels: torch.Tensor  # (N,) long, index into det_classes
    lanes: torch.Tensor  # (M, P, 3)
    trajectory: torch.Tensor  # (T, D)
    trajectory_mask: torch.Tensor  # (T,) bool


@dataclass
class DriveSample:
    """One processed sample, what ``collate_drive_batch`` stacks into a ``DriveBatch``.

    The processor fills the text, pixel and geometry fields; a dataset adds the driving
    state (``ego_status``, ``command``), ``targets`` and the stream fields (``scene_token``,
    ``timestamp``, ``ego_to_global``: present and past facts of the key frame).
    """

    input_ids: torch.Tensor  # (L,) long
    attention_mask: torch.Tensor  # (L,) long, all ones
    labels: torch.Tensor | None  # (L,) long, -100 except the answer; None for a generation prompt
    pixel_values: torch.Tensor  # (N_cam * T, 3, S, S) float32
    intrinsics: torch.Tensor  # (N_cam, 3, 3) float32, pixels of the processed image
    cam2ego: torch.Tensor  # (N_cam, 4, 4) float32
    image_hw: tuple[int, int]
    sample_token: str = ""
    ego_status: torch.Tensor | None = None  # (6,) float32, see EGO_STATUS_FIELDS
    command: int | None = None  # 0 right / 1 left / 2 straight
    targets: SampleTargets | None = None
    sequence_start: bool | None = None  # streaming training: first frame of a (sub-)sequence in its batch row
    scene_token: str | None = None
    timestamp: float | None = None  # seconds
    ego_to_global: torch.Tensor | None = None  # (4, 4) float64 ego→global pose
    ego_history: torch.Tensor | None = None  # (2, 10) float32, see EGO_HISTORY_FIELDS
