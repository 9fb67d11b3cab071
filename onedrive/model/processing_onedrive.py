"""``OneDriveProcessor``: camera images + question (+ answer) → one ``DriveSample``.

Images: each camera (a PIL image) is resized — or, with ``augment=True``, randomly
cropped then resized — to ``(rows · S, cols · S)`` (``camera_tiles`` of the ViT tile
size S), cut into tiles plus a thumbnail and normalised (``image_transforms``); its
intrinsics are updated by the same crop/resize, so ``CameraGeometry`` always
describes the processed pixels. Camera images must be 8-bit RGB (PIL mode ``RGB``):
a grayscale, RGBA or palette image is refused, not converted, since a silent conversion
would feed the model colours it was not trained on (replicated gray, alpha dropped). Text: the chat prompt with one image block per camera
(``prompts``). Flipping is not offered: mirroring the rig would also have to mirror the
left/right words in the free-form QA text, which cannot be done reliably.

A ``transformers.ProcessorMixin`` subclass (its only sub-processor is the tokenizer; the
image settings are ``__init__`` arguments), so ``save_pretrained`` writes the tokenizer
files plus ``processor_config.json`` and ``from_pretrained`` reads both back.

    python -c "from onedrive.tiny import tiny_internvl_config; from onedrive import OneDriveConfig; \\
from onedrive import OneDriveProcessor; from onedrive.model.tokenization_onedrive import build_tokenizer; \\
c = OneDriveConfig(**tiny_internvl_config().to_dict()); \\
print(OneDriveProcessor.from_config(c, build_tokenizer()).image_hw)"
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from transformers import PreTrainedTokenizerBase, ProcessorMixin

from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.image_processing_onedrive import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CropBox,
    crop_resize_image,
    crop_resize_intrinsics,
    image_to_tiles,
    random_crop_box,
)
from onedrive.model.prompts import (
    ImageTokens,
    TokenizedTurn,
    conversation_token_bound,
    tokenize_conversation,
    tokenize_turn,
    user_content,
)
from onedrive.schema import CAMERA_IMAGE_MODE, NUSCENES_DETECTION_CLASSES, DriveSample


class OneDriveProcessor(ProcessorMixin):
    """Images + text → ``DriveSample`` for OneDrive (InternVL3 tiling and prompt layout).

    Args:
        tokenizer: any tokenizer with a chat template, an eos token and the InternVL image
            markers (``<img>``, ``</img>``, ``<IMG_CONTEXT>``) as single tokens.
        tile_size: ViT tile side S in pixels (``config.vision_config.image_size[0]``).
        camera_tiles: (rows, cols) tiles per camera; processed images are (rows·S, cols·S).
        use_thumbnail: add the whole image resized to S × S as a last tile.
        tokens_per_tile: LLM tokens per tile after pixel shuffle (``config.tokens_per_tile``).
        num_cameras: images per sample.
        det_classes / lane_points / plan_steps / plan_dims: target layout (task config),
            used by datasets to check and convert info records.
        image_mean / image_std: normalisation (ImageNet, InternVL's).
        crop_scale / crop_ratio: training random resize-crop (area fraction, aspect factor).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        tile_size: int = 448,
        camera_tiles: Sequence[int] = (1, 2),
        use_thumbnail: bool = True,
        tokens_per_tile: int = 256,
        num_cameras: int = 6,
        det_classes: Sequence[str] = NUSCENES_DETECTION_CLASSES,
        lane_points: int = 11,
        plan_steps: int = 6,
        plan_dims: int = 2,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
        crop_scale: Sequence[float] = (0.7, 1.0),
        crop_ratio: Sequence[float] = (0.9, 1.1),
        chat_template: str | None = None,
    ):
        self.tile_size = int(tile_size)
        self.camera_tiles = [int(v) for v in camera_tiles]
        self.use_thumbnail = bool(use_thumbnail)
        self.tokens_per_tile = int(tokens_per_tile)
        self.num_cameras = int(num_cameras)
        self.det_classes = [str(name) for name in det_classes]
        self.lane_points = int(lane_points)
        self.plan_steps = int(plan_steps)
        self.plan_dims = int(plan_dims)
        self.image_mean = [float(v) for v in image_mean]
        self.image_std = [float(v) for v in image_std]
        self.crop_scale = [float(v) for v in crop_scale]
        self.crop_ratio = [float(v) for v in crop_ratio]
        self._check_settings()
        super().__init__(tokenizer, chat_template=chat_template)
        self.image_markers = ImageTokens.of(tokenizer)
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_markers.context)

    def _check_settings(self) -> None:
        problems = []
        if self.tile_size < 1 or self.tokens_per_tile < 1 or self.num_cameras < 1:
            problems.append(
                f"tile_size, tokens_per_tile, num_cameras must be >= 1, got "
                f"{self.tile_size}, {self.tokens_per_tile}, {self.num_cameras}"
            )
        if len(self.camera_tiles) != 2 or min(self.camera_tiles) < 1:
            problems.append(f"camera_tiles must be [rows, cols] >= 1, got {self.camera_tiles}")
        if len(self.image_mean) != 3 or len(self.image_std) != 3 or min(self.image_std) <= 0:
            problems.append(f"image_mean / image_std need 3 values (std > 0), got {self.image_mean} / {self.image_std}")
        if len(self.crop_scale) != 2 or not 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1:
            problems.append(f"crop_scale must be [low, high] with 0 < low <= high <= 1, got {self.crop_scale}")
        if len(self.crop_ratio) != 2 or not 0 < self.crop_ratio[0] <= self.crop_ratio[1]:
            problems.append(f"crop_ratio must be [low, high] with 0 < low <= high, got {self.crop_ratio}")
        if self.plan_dims not in (2, 3):
            problems.append(f"plan_dims must be 2 or 3, got {self.plan_dims}")
        if problems:
            raise ValueError("OneDriveProcessor: " + "; ".join(problems))

    @classmethod
    def from_config(cls, config: OneDriveConfig, tokenizer: PreTrainedTokenizerBase, **overrides) -> OneDriveProcessor:
        """Processor matching a model config; ``overrides`` replace any ``__init__`` argument."""
        task = config.task_config
        settings = dict(
            tile_size=config.vision_config.image_size[0],
            camera_tiles=task.camera_tiles,
            use_thumbnail=task.use_thumbnail,
            tokens_per_tile=config.tokens_per_tile,
            num_cameras=task.num_cameras,
            det_classes=task.det_classes,
            lane_points=task.lane_points,
            plan_steps=task.plan_steps,
            plan_dims=task.plan_dims,
        )
        settings.update(overrides)
        processor = cls(tokenizer, **settings)
        if processor.image_token_id != config.image_token_id:
            raise ValueError(
                f"tokenizer maps {processor.image_markers.context!r} to id {processor.image_token_id}, but the model "
                f"config's image_token_id is {config.image_token_id}"
            )
        return processor

    @property
    def image_hw(self) -> tuple[int, int]:
        """(height, width) of every processed camera image."""
        rows, cols = self.camera_tiles
        return rows * self.tile_size, cols * self.tile_size

    @property
    def tiles_per_camera(self) -> int:
        return self.camera_tiles[0] * self.camera_tiles[1] + int(self.use_thumbnail)

    @property
    def image_tokens_per_camera(self) -> int:
        return self.tokens_per_tile * self.tiles_per_camera

    def tokenize_text(
        self,
        question: str,
        answer: str | None,
        context: str = "",
        more_turns: Sequence[tuple[str, str]] = (),
        image_tokens: bool = True,
    ) -> TokenizedTurn:
        """The token ids (and labels) of the prompt of ``__call__``; ``image_tokens=False`` leaves the image
        blocks empty (``<img></img>``), so the length counts the text tokens alone."""
        tokens_per_camera = self.image_tokens_per_camera if image_tokens else 0
        first = user_content(question, self.num_cameras, tokens_per_camera, self.image_markers, context)
        if not more_turns:
            return tokenize_turn(self.tokenizer, first, answer)
        if answer is None:
            raise ValueError("more_turns needs the first turn's answer: a multi-turn conversation is a training target")
        return tokenize_conversation(self.tokenizer, [(first, answer), *more_turns])

    def text_token_bound(
        self, question: str, answer: str, context: str = "", more_turns: Sequence[tuple[str, str]] = ()
    ) -> int:
        """An upper bound on the text tokens (image blocks empty) of ``tokenize_text``'s conversation, from one
        rendering (``prompts.conversation_token_bound``)."""
        first = user_content(question, self.num_cameras, 0, self.image_markers, context)
        return conversation_token_bound(self.tokenizer, [(first, answer), *more_turns])

    def __call__(
        self,
        images: Sequence[Image.Image],
        intrinsics: np.ndarray | torch.Tensor,
        cam2ego: np.ndarray | torch.Tensor,
        question: str,
        answer: str | None = None,
        augment: bool = False,
        rng: np.random.Generator | None = None,
        sample_token: str = "",
        camera_names: Sequence[str] | None = None,
        context: str = "",
        more_turns: Sequence[tuple[str, str]] = (),
    ) -> DriveSample:
        """Process one sample.

        Args:
            images: ``num_cameras`` PIL images in camera order (any size; mode ``RGB``, others refused).
            intrinsics: (N_cam, 3, 3) of the given images (pixel centres at integers).
            cam2ego: (N_cam, 4, 4) camera-to-ego transforms (unchanged by resizing).
            question / answer: one QA turn; ``answer=None`` builds a generation prompt.
            augment: random resize-crop per camera (training); needs ``rng``.
            sample_token / camera_names: only used to name the culprit in errors.
            context: a line before the first question (e.g. "You are driving in boston-seaport.").
            more_turns: further (question, answer) turns of a multi-turn conversation (training;
                needs ``answer``); every answer is labelled.
        """
        where = f"sample {sample_token!r}: " if sample_token else ""
        names = list(camera_names) if camera_names is not None else [f"camera {i}" for i in range(len(images))]
        intrinsics = _matrices(intrinsics, (self.num_cameras, 3, 3), "intrinsics", where)
        cam2ego = _matrices(cam2ego, (self.num_cameras, 4, 4), "cam2ego", where)
        if len(images) != self.num_cameras:
            raise ValueError(f"{where}expected {self.num_cameras} camera images, got {len(images)}")
        if len(names) != len(images):
            raise ValueError(f"{where}got {len(names)} camera names for {len(images)} images")
        if augment and rng is None:
            raise ValueError("augment=True needs an rng (numpy Generator)")

        tiles, new_intrinsics = [], []
        for image, camera_k, name in zip(images, intrinsics, names, strict=True):
            if not isinstance(image, Image.Image):
                raise ValueError(f"{where}{name}: expected a PIL image, got {type(image).__name__}")
            if camera_k[0, 0] <= 0 or camera_k[1, 1] <= 0:
                raise ValueError(f"{where}{name}: intrinsics need fx, fy > 0, got {camera_k.tolist()}")
            if image.mode != CAMERA_IMAGE_MODE:
                raise InputError(
                    f"{where}{name}: camera images must have PIL mode {CAMERA_IMAGE_MODE!r} (3 channels of 8 bits), "
                    f"got {image.mode!r}; grayscale, RGBA or palette images are refused, not converted"
                )
            width, height = image.size
            if augment:
                box = random_crop_box((height, width), tuple(self.crop_scale), tuple(self.crop_ratio), rng)
            else:
                box = CropBox.full(width, height)
            processed = crop_resize_image(image, box, self.image_hw)
            tiles.append(
                image_to_tiles(
                    processed,
                    self.tile_size,
                    tuple(self.camera_tiles),
                    self.use_thumbnail,
                    tuple(self.image_mean),
                    tuple(self.image_std),
                )
            )  # (T, 3, S, S)
            new_intrinsics.append(crop_resize_intrinsics(camera_k, box, self.image_hw))

        turn = self.tokenize_text(question, answer, context, more_turns)
        input_ids = torch.tensor(turn.input_ids, dtype=torch.long)  # (L,)
        found = int((input_ids == self.image_token_id).sum())
        expected = self.num_cameras * self.image_tokens_per_camera
        if found != expected:
            raise ValueError(
                f"{where}prompt holds {found} {self.image_markers.context!r} tokens, expected {expected} "
                f"({self.num_cameras} cameras × {self.image_tokens_per_camera}); does the question or answer "
                f"contain image markers? question={question!r}"
            )
        return DriveSample(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            labels=None if turn.labels is None else torch.tensor(turn.labels, dtype=torch.long),
            pixel_values=torch.from_numpy(np.concatenate(tiles, axis=0)),  # (N_cam * T, 3, S, S)
            intrinsics=torch.from_numpy(np.stack(new_intrinsics)).float(),  # (N_cam, 3, 3)
            cam2ego=torch.from_numpy(cam2ego).float(),  # (N_cam, 4, 4)
            image_hw=self.image_hw,
            sample_token=sample_token,
        )


def _matrices(value: np.ndarray | torch.Tensor, shape: tuple[int, ...], name: str, where: str) -> np.ndarray:
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value, dtype=np.float64)
    array = array.astype(np.float64)
    if array.shape != shape:
        raise ValueError(f"{where}{name} must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{where}{name} contains NaN or inf: {array.tolist()}")
    return array
