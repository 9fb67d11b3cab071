"""``DriveDataset``: info records (docs/design.md §4) → processed ``DriveSample``s.

Each item is one key frame. ``qa_mode``:

* ``"conversation"`` (training configs' default, OmniDrive's): one item per record holding all its
  QA turns as one multi-turn conversation, loss on every answer, cut after the last whole turn
  within ``max_text_tokens`` text tokens; dropped turns are counted in ``conversation_stats``
  and logged (``onedrive.data.conversation``).
* ``"sample"``: one item per record; its QA turn is ``qa[crc32(f"{qa_seed}/{token}") % len(qa)]``
  — deterministic, spread over the QA types, the same in every worker and run.
* ``"all"``: one item per (record, QA turn) (evaluation: every question is answered).
* ``"planning"``: every item asks ``PLANNING_QUESTION``.

Every prompt's first question is preceded by the record's context line, "You are driving in
{location}." (``conversation.location_context``), as OmniDrive's training and test prompts;
not on NAVSIM infos, whose agent input (``AgentInput``) does not carry the map location, so
the NAVSIM agent's prompt could not hold it.

A record without QA (or ``"planning"``) asks ``PLANNING_QUESTION`` ("What should the
ego vehicle do next?") and is answered from its driving command: ``COMMAND_ANSWERS``
(0 → "Turn right.", 1 → "Turn left.", 2 → "Go straight.").

Every value read is checked (shape, finiteness, presence); a problem raises a
``ValueError`` naming the sample token, the file or key, what was expected and what
was found. ``augment=True`` adds the processor's random resize-crop, drawn from
torch's RNG, which ``DataLoader`` seeds differently in every worker and epoch.

    python -c "from onedrive.data import DriveDataset; help(DriveDataset)"
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from onedrive.data.conversation import ConversationStats, location_context, turns_that_fit
from onedrive.data.detection_targets import DetectionTargets
from onedrive.errors import InputError
from onedrive.infos import load_infos
from onedrive.numbers import as_numbers
from onedrive.schema import (
    CAMERA_IMAGE_MODE,
    EGO_HISTORY_FIELDS,
    EGO_HISTORY_FRAMES,
    EGO_STATUS_FIELDS,
    DriveSample,
    SampleTargets,
)

if TYPE_CHECKING:  # the processor is passed in; data does not import the model
    from onedrive.model.processing_onedrive import OneDriveProcessor

PLANNING_QUESTION = "What should the ego vehicle do next?"
COMMAND_ANSWERS = {0: "Turn right.", 1: "Turn left.", 2: "Go straight."}
QA_MODES = ("conversation", "sample", "all", "planning")
DEFAULT_MAX_TEXT_TOKENS = 2048  # OmniDrive's max_length
STREAM_KEYS = ("scene_token", "timestamp", "ego2global")  # → DriveSample.scene_token, timestamp (s), ego_to_global
EGO_HISTORY_SHAPE = (EGO_HISTORY_FRAMES, len(EGO_HISTORY_FIELDS))


class DriveDataset(Dataset):
    """Map-style dataset over one info file.

    Args:
        infos_path: ``<name>_infos_<split>.json`` written by ``tools/create_data.py``.
        data_root: folder the records' camera ``path``s are relative to.
        processor: ``OneDriveProcessor`` (its task settings define the checked target shapes).
        split: when given, must equal the file's ``metadata.split``.
        qa_mode / qa_seed: which QA turn(s) an item asks (module docstring).
        max_text_tokens: text-token limit of a ``"conversation"`` item (image-context tokens not counted).
        augment: random resize-crop (training).
        generation: prompts end with the assistant header, no answer, no labels (evaluation).
        cameras: camera names in processor order; default: the ``cams`` keys of the
            first record (the converter writes them in the dataset's camera order).
        detection_targets: which boxes are detection targets (``onedrive.data.detection_targets``).
    """

    def __init__(
        self,
        infos_path: str | Path,
        data_root: str | Path,
        processor: OneDriveProcessor,
        split: str | None = None,
        qa_mode: str = "sample",
        qa_seed: int = 0,
        augment: bool = False,
        generation: bool = False,
        cameras: Sequence[str] | None = None,
        detection_targets: DetectionTargets | None = None,
        max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
    ):
        self.infos_path = Path(infos_path)
        self.data_root = Path(data_root)
        self.processor = processor
        self.augment = augment
        self.generation = generation
        self.detection_targets = detection_targets if detection_targets is not None else DetectionTargets()
        if qa_mode not in QA_MODES:
            raise ValueError(f"qa_mode must be one of {QA_MODES}, got {qa_mode!r}")
        if qa_mode == "conversation" and generation:
            raise ValueError("qa_mode 'conversation' is a training target; generation asks one question per item")
        if max_text_tokens < 1:
            raise InputError(f"max_text_tokens must be >= 1, got {max_text_tokens}")
        self.qa_mode = qa_mode
        self.max_text_tokens = int(max_text_tokens)
        self.metadata, self.infos = _load_infos(self.infos_path)
        if split is not None and self.metadata.get("split") != split:
            raise ValueError(
                f"{self.infos_path}: expected split {split!r}, the file holds {self.metadata.get('split')!r}"
            )
        self.with_context = self.metadata.get("dataset") != "navsim"  # module docstring
        self.cameras = list(cameras) if cameras is not None else list(self.infos[0]["cams"])
        if len(self.cameras) != processor.num_cameras:
            raise ValueError(
                f"{self.infos_path}: the processor expects {processor.num_cameras} cameras, got {len(self.cameras)} "
                f"({self.cameras}); pass `cameras=` to choose them"
            )
        self._items = _items(self.infos, qa_mode, qa_seed)  # (record index, QA index or None)
        # record index -> number of leading QA turns in its conversation ("conversation" mode)
        self._kept_turns: dict[int, int] = {}
        self.conversation_stats = ConversationStats()
        if qa_mode == "conversation":
            self._plan_conversations()

    def _plan_conversations(self) -> None:
        """Which leading turns of each record fit in ``max_text_tokens``; counts the rest.

        A conversation whose token bound (one rendering) is within the limit keeps every turn;
        only the others are tokenised turn by turn to find the cut."""
        for record_index, qa_index in self._items:
            if qa_index is None:
                continue
            record = self.infos[record_index]
            turns = self._turns(record_index)
            first, *more = turns
            context = self._context(record)
            if self.processor.text_token_bound(*first, context, more) <= self.max_text_tokens:
                kept = len(turns)  # fits for sure, without tokenising turn by turn
            else:
                tokens = self.processor.tokenize_text(*first, context, more, image_tokens=False)
                kept = turns_that_fit(tokens.turn_ends, self.max_text_tokens, record["token"])
            self._kept_turns[record_index] = kept
            self.conversation_stats.add(len(turns), kept)
        self.conversation_stats.report(str(self.infos_path), self.max_text_tokens)

    def _context(self, record: dict) -> str:
        return location_context(record) if self.with_context else ""

    def _turns(self, record_index: int) -> list[tuple[str, str]]:
        record = self.infos[record_index]
        return [self._qa_pair(record, qa_index) for qa_index in range(len(record["qa"]))]

    @staticmethod
    def _qa_pair(record: dict, qa_index: int) -> tuple[str, str]:
        turn = record["qa"][qa_index]
        if not isinstance(turn.get("question"), str) or not isinstance(turn.get("answer"), str):
            raise ValueError(
                f"sample {record['token']!r}: qa[{qa_index}] needs string 'question' and 'answer', got {turn}"
            )
        return turn["question"], turn["answer"]

    def __len__(self) -> int:
        return len(self._items)

    def record(self, index: int) -> dict:
        """The info record item ``index`` reads (for reading, e.g. its ``scene_token`` and ``timestamp``)."""
        return self.infos[self._items[index][0]]

    def qa_turn(self, index: int) -> tuple[str, str, str]:
        """(sample token, question, reference answer) of item ``index``."""
        record_index, qa_index = self._items[index]
        record = self.infos[record_index]
        token = record["token"]
        if qa_index is None:
            command = _command(record, token)
            return token, PLANNING_QUESTION, COMMAND_ANSWERS[command]
        return (token, *self._qa_pair(record, qa_index))

    def __getitem__(self, index: int) -> DriveSample:
        record_index = self._items[index][0]
        record = self.infos[record_index]
        token, question, answer = self.qa_turn(index)
        more_turns = (
            self._turns(record_index)[1 : self._kept_turns[record_index]] if record_index in self._kept_turns else []
        )
        images, intrinsics, cam2ego = self._cameras(record, token)
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()))) if self.augment else None
        sample = self.processor(
            images,
            intrinsics,
            cam2ego,
            question,
            None if self.generation else answer,
            augment=self.augment,
            rng=rng,
            sample_token=token,
            camera_names=self.cameras,
            context=self._context(record),
            more_turns=more_turns,
        )
        sample.ego_status = torch.from_numpy(_array(record, "ego_status", (len(EGO_STATUS_FIELDS),), token)).float()
        sample.command = _command(record, token)
        if "ego_history" in record:  # info files written before it lack it (the planning ego token needs it)
            sample.ego_history = torch.from_numpy(_array(record, "ego_history", EGO_HISTORY_SHAPE, token)).float()
        sample.targets = record_targets(record, self.processor, token, self.detection_targets)
        if all(key in record for key in STREAM_KEYS):  # the converters write all three; a temporal memory needs them
            sample.scene_token = _field(record, "scene_token", token)
            if not isinstance(sample.scene_token, str):
                raise ValueError(f"sample {token!r}: scene_token must be a string, got {sample.scene_token!r}")
            sample.timestamp = _array(record, "timestamp", (), token).item() / 1e6  # µs → s
            sample.ego_to_global = torch.from_numpy(_array(record, "ego2global", (4, 4), token)).double()
        return sample

    def _cameras(self, record: dict, token: str) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
        cams = _field(record, "cams", token)
        images, intrinsics, cam2ego = [], [], []
        for name in self.cameras:
            if name not in cams:
                raise ValueError(f"sample {token!r}: camera {name!r} missing, the record has {sorted(cams)}")
            cam = cams[name]
            path = self.data_root / _field(cam, "path", f"{token}/{name}")
            image = _read_image(path, token)
            expected = (int(_field(cam, "width", f"{token}/{name}")), int(_field(cam, "height", f"{token}/{name}")))
            if image.size != expected:
                raise ValueError(f"sample {token!r}: {path} is {image.size} (W, H), the record says {expected}")
            images.append(image)
            intrinsics.append(_array(cam, "intrinsics", (3, 3), f"{token}/{name}"))
            cam2ego.append(_array(cam, "cam2ego", (4, 4), f"{token}/{name}"))
        return images, np.stack(intrinsics), np.stack(cam2ego)  # (N_cam, 3, 3), (N_cam, 4, 4)


def record_targets(
    record: dict, processor: OneDriveProcessor, token: str, detection_targets: DetectionTargets
) -> SampleTargets:
    """Ground truth of one info record, checked against the processor's task settings.

    Detection targets: the boxes whose name is in ``processor.det_classes`` and that pass
    ``detection_targets`` (range, lidar + radar points). Trajectory entries whose mask is 0
    may be NaN; they become 0.
    """
    boxes = _array(record, "gt_boxes", (None, 9), token)  # (N, 9)
    names = _field(record, "gt_names", token)
    lidar = _array(record, "gt_num_lidar_pts", (len(boxes),), token)  # (N,)
    radar = _array(record, "gt_num_radar_pts", (len(boxes),), token)  # (N,)
    if len(names) != len(boxes):
        raise ValueError(f"sample {token!r}: {len(boxes)} gt_boxes but {len(names)} gt_names")
    num_points = np.where((lidar < 0) | (radar < 0), -1, lidar + radar)  # (N,) -1: unknown
    passes = detection_targets.keep(boxes, num_points)  # (N,)
    keep = [index for index, name in enumerate(names) if name in processor.det_classes and passes[index]]
    labels = [processor.det_classes.index(names[index]) for index in keep]
    lanes = _array(record, "lanes", (None, processor.lane_points, 3), token)  # (M, P, 3)
    mask = _array(record, "ego_fut_mask", (processor.plan_steps,), token, finite=False)  # (T,)
    trajectory = _array(record, "ego_fut_traj", (processor.plan_steps, processor.plan_dims), token, finite=False)
    valid = mask > 0
    if not np.isfinite(mask).all() or not np.isfinite(trajectory[valid]).all():
        raise ValueError(f"sample {token!r}: ego_fut_traj / ego_fut_mask hold NaN or inf at valid steps")
    trajectory[~valid] = 0.0
    return SampleTargets(
        boxes=torch.from_numpy(boxes[keep]).float(),  # (N, 9)
        labels=torch.tensor(labels, dtype=torch.long),  # (N,)
        lanes=torch.from_numpy(lanes).float(),  # (M, P, 3)
        trajectory=torch.from_numpy(trajectory).float(),  # (T, D)
        trajectory_mask=torch.from_numpy(valid),  # (T,)
    )


def _load_infos(path: Path) -> tuple[dict, list[dict]]:
    metadata, infos = load_infos(path)
    for index, record in enumerate(infos):
        if "cams" not in record:
            raise InputError(f"info file {path}: record {index} ({record['token']}) has no 'cams'")
    return metadata, infos


def _items(infos: list[dict], qa_mode: str, qa_seed: int) -> list[tuple[int, int | None]]:
    items: list[tuple[int, int | None]] = []
    for record_index, record in enumerate(infos):
        count = len(record.get("qa") or [])
        if qa_mode == "planning" or count == 0:
            items.append((record_index, None))
        elif qa_mode in ("all", "conversation"):  # "conversation": the item of qa_index 0 holds every turn
            items.extend((record_index, qa_index) for qa_index in range(count if qa_mode == "all" else 1))
        else:
            items.append((record_index, zlib.crc32(f"{qa_seed}/{record['token']}".encode()) % count))
    return items


def _read_image(path: Path, token: str) -> Image.Image:
    if not path.is_file():
        raise ValueError(f"sample {token!r}: image file {path} does not exist")
    try:
        with Image.open(path) as image:
            image.load()  # decodes the whole file
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"sample {token!r}: image file {path} cannot be decoded ({error})") from error
    if image.mode != CAMERA_IMAGE_MODE:
        raise InputError(
            f"sample {token!r}: image file {path} has PIL mode {image.mode!r}, camera images must be "
            f"{CAMERA_IMAGE_MODE!r} (3 channels of 8 bits); grayscale, RGBA or palette files are refused, not converted"
        )
    return image


def _field(mapping: dict, key: str, where: str):
    if key not in mapping:
        raise ValueError(f"sample {where!r}: key {key!r} missing (found {sorted(mapping)})")
    return mapping[key]


def _command(record: dict, token: str) -> int:
    command = _field(record, "command", token)
    if isinstance(command, bool) or not isinstance(command, (int, float)) or command not in COMMAND_ANSWERS:
        raise ValueError(f"sample {token!r}: command must be 0 (right), 1 (left) or 2 (straight), got {command!r}")
    return int(command)


def _array(mapping: dict, key: str, shape: tuple[int | None, ...], where: str, finite: bool = True) -> np.ndarray:
    """``mapping[key]`` as float64 array of ``shape`` (None: any length; empty lists allowed there)."""
    try:
        array = as_numbers(_field(mapping, key, where))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"sample {where!r}: {key} is not a numeric array of shape {_shape_text(shape)} ({error})"
        ) from error
    if array.size == 0 and shape[0] is None:
        array = array.reshape((0, *shape[1:]))
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        raise ValueError(f"sample {where!r}: {key} must have shape {_shape_text(shape)}, got {array.shape}")
    if finite and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[:3].tolist()
        raise ValueError(f"sample {where!r}: {key} holds NaN or inf (first at indices {bad})")
    return array


def _shape_text(shape: tuple[int | None, ...]) -> str:
    """(None, 9) → "(N, 9)"; (6,) → "(6,)"."""
    return str(tuple("N" if size is None else size for size in shape)).replace("'N'", "N")
