"""What a Trainer checkpoint must hold to resume a run exactly; checked before anything is built or written.

``transformers.Trainer`` restores what it finds in ``checkpoint-N/`` and skips what is
missing without a word (no ``optimizer.pt``: fresh Adam moments and a learning-rate
schedule that starts over), and a truncated file fails deep inside torch or safetensors
without its name. ``check_resumable`` refuses such a checkpoint with the file's name.

Plain checkpoint (one process or DDP): ``trainer_state.json``, the model weights
(``model.safetensors``, its index and shards, ``pytorch_model.bin`` or a peft adapter),
``optimizer.pt``, ``scheduler.pt``, the RNG state (``rng_state.pth`` for one process,
``rng_state_<rank>.pth`` for each of several) and, for fp16 mixed precision, the loss
scaler's ``scaler.pt``.

DeepSpeed checkpoint: the engine keeps model and optimizer states in ``global_step<N>/``
(``*model_states.pt``, ``*optim_states.pt``), named by the file ``latest``; the Trainer adds
``trainer_state.json``, the RNG states and ``scheduler.pt`` — unless the DeepSpeed config
has a ``scheduler`` section (then the engine keeps the schedule; the configs in
configs/deepspeed/ have none).

Every torch file must be a complete zip archive (``torch.save``'s format: a truncated file
loses the archive's directory at its end) and every safetensors file must open (its
header must cover the whole file).

    python -c "from onedrive.training.resume_check import check_resumable; check_resumable('runs/x/checkpoint-500')"
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from safetensors import SafetensorError, safe_open

from onedrive.errors import InputError
from onedrive.io import read_json

TRAINER_STATE = "trainer_state.json"
OPTIMIZER = "optimizer.pt"
SCHEDULER = "scheduler.pt"
SCALER = "scaler.pt"
DEEPSPEED_LATEST = "latest"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
)


class ResumeError(InputError):
    """A checkpoint that cannot resume a run exactly; the message names the missing or broken file."""


def check_resumable(
    folder: str | Path, deepspeed_config: str | Path | None = None, fp16: bool = False, world_size: int = 1
) -> None:
    """Raise ``ResumeError`` unless ``folder`` holds everything to resume (module docstring) and every file opens.

    ``deepspeed_config``: the run's DeepSpeed config file (None: no DeepSpeed); ``fp16``: fp16 mixed precision.
    """
    folder = Path(folder)
    _read_trainer_state(folder)
    if deepspeed_config is not None:
        files = _deepspeed_files(folder)
        if "scheduler" not in read_json(deepspeed_config):
            files.append(_required(folder, SCHEDULER, "the learning-rate schedule's position"))
    else:
        if any(folder.glob("global_step*")) and not (folder / OPTIMIZER).exists():
            raise ResumeError(
                f"{folder} is a DeepSpeed checkpoint (global_step*/ holds the optimizer): resume it with DeepSpeed "
                f"(--set train.deepspeed=configs/deepspeed/zero2.json or the config the run used)"
            )
        files = [
            *_weight_files(folder),
            _required(folder, OPTIMIZER, "the optimizer state (Adam moments)"),
            _required(folder, SCHEDULER, "the learning-rate schedule's position"),
        ]
        if fp16:
            files.append(_required(folder, SCALER, "the fp16 loss scale"))
    files.extend(_rng_files(folder, world_size))
    for path in files:
        _check_opens(path)


def _required(folder: Path, name: str, what: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ResumeError(
            f"cannot resume from {folder}: {name} ({what}) is missing; resuming without it would silently start "
            f"that part over. Resume from a complete checkpoint, or start a new run (another train.output_dir)"
        )
    return path


def _read_trainer_state(folder: Path) -> None:
    state = read_json(_required(folder, TRAINER_STATE, "the step, epoch and log history"))
    if not isinstance(state, dict) or "global_step" not in state:
        raise ResumeError(
            f"{folder / TRAINER_STATE}: expected the Trainer's state with a 'global_step', got {state!r:.80}"
        )


def _weight_files(folder: Path) -> list[Path]:
    present = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not present:
        raise ResumeError(f"cannot resume from {folder}: no model weights, expected one of {list(WEIGHT_FILES)}")
    index = present[0]
    if not index.name.endswith(".index.json"):
        return [index]
    document = read_json(index)
    weight_map = document.get("weight_map", {}) if isinstance(document, dict) else {}
    shards = sorted({folder / shard for shard in weight_map.values()})
    missing = [shard.name for shard in shards if not shard.is_file()]
    if not shards or missing:
        raise ResumeError(f"{index} maps tensors to shard files that are missing: {missing or 'no weight_map'}")
    return shards


def _deepspeed_files(folder: Path) -> list[Path]:
    latest = folder / DEEPSPEED_LATEST
    if not latest.is_file():
        found = "it holds global_step*/" if any(folder.glob("global_step*")) else "it is not a DeepSpeed checkpoint"
        raise ResumeError(
            f"cannot resume from {folder} with DeepSpeed: {DEEPSPEED_LATEST} (the file naming the global_step*/ "
            f"folder of the engine's states) is missing; {found}"
        )
    tag = latest.read_text().strip()
    states = folder / tag
    if not tag or not states.is_dir():
        raise ResumeError(f"{latest} names the DeepSpeed state folder {tag!r}, which is not in {folder}")
    model = sorted(states.glob("*model_states.pt"))
    optimizer = sorted(states.glob("*optim_states.pt"))
    if not model or not optimizer:
        lacking = [kind for kind, found in (("*model_states.pt", model), ("*optim_states.pt", optimizer)) if not found]
        raise ResumeError(f"cannot resume from {folder} with DeepSpeed: {states} (named by {latest}) lacks {lacking}")
    return model + optimizer


def _rng_files(folder: Path, world_size: int) -> list[Path]:
    if world_size == 1:
        names = ["rng_state.pth"]
    else:
        names = [f"rng_state_{rank}.pth" for rank in range(world_size)]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        saved = sorted(path.name for path in folder.glob("rng_state*.pth"))
        raise ResumeError(
            f"cannot resume from {folder} with {world_size} process(es): {missing} (random-number states) missing, "
            f"the checkpoint holds {saved}; resume with the number of processes that wrote it"
        )
    return [folder / name for name in names]


def _check_opens(path: Path) -> None:
    if path.suffix == ".json":
        read_json(path)
    elif path.suffix == ".safetensors":
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (SafetensorError, OSError) as error:
            raise ResumeError(f"{path} is not a complete safetensors file (truncated or corrupt?): {error}") from error
    else:
        try:
            with zipfile.ZipFile(path):
                pass
        except (zipfile.BadZipFile, OSError) as error:
            raise ResumeError(f"{path} is not a complete torch.save file (truncated or corrupt?): {error}") from error
