"""Experiment configuration: typed dataclasses, config files, ``--set`` overrides, checks.

An experiment config is a plain Python file that defines ``build() -> ExperimentConfig``
(no ``_base_`` chains, no registries). A file may load another one and change it:

    from dataclasses import replace
    from pathlib import Path
    from onedrive.training.config import load_config

    def build():
        stage1 = load_config(Path(__file__).with_name("onedrive_1b_stage1_perception.py"))
        return replace(stage1, recipe=replace(stage1.recipe, stage="planning"))

``apply_overrides(config, ["train.learning_rate=2e-4", "data.root=/data/nuscenes"])``
parses each value with the type of its dataclass field (int, float, bool, str, tuples,
lists, Optional); ``model.task.<key>`` sets an ``OneDriveTaskConfig`` field. An unknown
key raises an error naming the closest valid one. ``check_config`` then finds what
would make a run fail (missing data, missing previous stage, impossible batch split)
before anything heavy is built.

    python -c "from onedrive.training.config import load_config; print(load_config('configs/demo/demo_stage1_perception.py'))"
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import importlib.util
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onedrive.data.detection_targets import DetectionTargets
from onedrive.errors import InputError
from onedrive.infos import load_infos
from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.model.retired_plan_keys import RETIRED_PLAN_KEYS, check_retired_plan_keys
from onedrive.schema import NAVSIM_CAMERAS as NAVSIM_CAMERAS  # the configs import both from here
from onedrive.schema import NUSCENES_CAMERAS

PRECISIONS = ("bf16", "fp16", "fp32")
DTYPES = ("float32", "bfloat16", "float16")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ConfigError(InputError):
    """A configuration that cannot run; the message says how to fix it."""


@dataclass
class TinyInternVLConfig:
    """Sizes of a random InternVL3-shaped checkpoint (``onedrive.tiny``) written when ``model.internvl`` is missing."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    vocab_size: int = 512
    vision_tile: int = 56  # ViT input tile in pixels (14-pixel patches; 56 → 4 LLM tokens, 112 → 16)
    vision_hidden_size: int = 32
    seed: int = 0


@dataclass
class ModelConfig:
    """Where the weights come from and how the model is built.

    internvl:  InternVL3 checkpoint for ``from_internvl`` (hub id or folder, transformers' layout, or a
               folder in InternVL's own layout); used when ``init_from`` is None.
    init_from: a previous stage's ``train.output_dir`` (its ``final/`` folder is loaded with
               ``OneDriveForDriving.from_pretrained``), or a model folder itself.
    tokenizer: tokenizer folder / hub id; None: the one saved with ``init_from`` or ``internvl``;
               ``"builtin"``: ``onedrive.data.build_tokenizer`` trained on the training QA (tiny models).
    tiny:      when set and ``internvl`` is not a folder yet, a random InternVL3-shaped checkpoint of
               these sizes is written there first (demo, tests, benchmarks; no hub needed).
    task:      ``OneDriveTaskConfig`` overrides (query counts, loss weights, ...). The stage's loss
               weights (``onedrive.training.recipe.STAGES``) apply first, then these.
    """

    internvl: str | None = "OpenGVLab/InternVL3-1B-hf"
    init_from: str | None = None
    tokenizer: str | None = None
    tiny: TinyInternVLConfig | None = None
    task: dict[str, Any] = field(default_factory=dict)
    attn_implementation: str = "sdpa"
    dtype: str = "float32"


@dataclass
class DataConfig:
    """Info files (``tools/create_data.py``) and image processing.

    Info files are ``<infos_dir>/<dataset>_infos_<split>.json``; ``infos_dir`` None (the
    default) means ``<root>/infos``, so ``--set data.root=PATH`` moves the info files with
    the data. Camera paths in them are relative to ``root``. Each camera image becomes
    ``camera_tiles`` (rows, cols) ViT tiles of the vision tower's size (448 px for
    InternVL3) plus a thumbnail; these settings and the camera count are written into the
    model's task config. ``detection_targets``: which annotated boxes are detection
    training targets (``onedrive.data.detection_targets``: inside ±51.2 m with at least one
    lidar or radar point, as the official configs build them). ``qa_mode``: which QA turns a
    training item holds (``onedrive.data.dataset``; ``"conversation"``: all of a key frame's
    turns, cut after the last whole turn within ``max_text_tokens`` text tokens, as OmniDrive).

    ``streaming``: streaming training (``onedrive.data.streaming_sampler``): every batch row walks
    sub-sequences of the scenes in time order, so a memory can be carried from step to step; each
    scene is cut into ``warmup_split_num`` sub-sequences in the first ``warmup_epochs`` epochs, then
    into ``seq_split_num`` (official: 11 then 2, the warm-up one epoch). False: shuffled frames.
    """

    dataset: str = "nuscenes"
    root: str = "data/nuscenes"
    version: str = "v1.0-trainval"
    train_split: str = "train"
    eval_split: str = "val"
    infos_dir: str | None = None
    cameras: tuple[str, ...] = NUSCENES_CAMERAS
    camera_tiles: tuple[int, int] = (1, 2)
    use_thumbnail: bool = True
    augment: bool = True
    qa_mode: str = "conversation"
    max_text_tokens: int = 2048
    workers: int = 4
    detection_targets: DetectionTargets = field(default_factory=DetectionTargets)
    streaming: bool = False
    seq_split_num: int = 2
    warmup_split_num: int = 11
    warmup_epochs: int = 1

    def infos_folder(self) -> Path:
        """``infos_dir``, or ``<root>/infos`` when it is None."""
        return Path(self.root) / "infos" if self.infos_dir is None else Path(self.infos_dir)

    def infos_path(self, split: str) -> Path:
        return self.infos_folder() / f"{self.dataset}_infos_{split}.json"


@dataclass
class ParamGroupsConfig:
    """Learning-rate multipliers per parameter group (``onedrive.training.optimizer``; official values).

    llm:             the LLM: pretrained weights trained in full, LoRA adapters, embeddings / LM head.
    heads:           queries, ego-status encoder, 3D position encoders, detection / lane / planning heads.
    task_modules:    the query self-attention and the per-type query FFNs inside the LLM layers.
    vit_layer_decay: ViT layer l of L at ``vit_layer_decay ** (L + 1 - l)``; the ViT embeddings
                     and the projector at ``vit_layer_decay ** (L + 1)``.
    """

    llm: float = 4.0
    heads: float = 4.0
    task_modules: float = 2.0
    vit_layer_decay: float = 0.9


WHOLE_RUN_COSINE = "cosine_whole_run"  # train.lr_scheduler handled by OneDriveTrainer, not by transformers


@dataclass
class TrainConfig:
    """Optimisation (transformers ``TrainingArguments`` underneath).

    Batch: ``global_batch_size = per_device_batch_size × world size × gradient_accumulation_steps``;
    leave ``gradient_accumulation_steps`` None to derive it from the other three.
    ``max_steps > 0`` overrides ``epochs``. Schedule: linear warm-up over ``warmup_steps``
    then cosine down to ``min_lr_rate × learning_rate``. ``precision``: mixed precision
    ("bf16", "fp16") or "fp32". ``report_to`` None: TensorBoard when it is installed.
    ``lr_scheduler="cosine_whole_run"``: the official schedule (``onedrive.training.optimizer``),
    cosine over every step with a linear warm-up from ``warmup_start_rate × learning_rate``.
    ``param_groups``: learning-rate multipliers per parameter group (None: one learning rate
    and transformers' weight-decay rule).
    """

    output_dir: str = "runs/experiment"
    epochs: float = 20.0
    max_steps: int = -1
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    optimizer: str = "adamw_torch"
    lr_scheduler: str = "cosine_with_min_lr"
    min_lr_rate: float = 1e-3
    warmup_steps: int = 500
    max_grad_norm: float = 35.0
    per_device_batch_size: int = 1
    gradient_accumulation_steps: int | None = None
    global_batch_size: int | None = 64
    precision: str = "bf16"
    gradient_checkpointing: bool = False
    deepspeed: str | None = None
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: int | None = 3
    seed: int = 0
    report_to: tuple[str, ...] | None = None
    warmup_start_rate: float | None = None
    param_groups: ParamGroupsConfig | None = None


@dataclass
class RecipeConfig:
    """What the stage trains (``onedrive.training.recipe``).

    stage:        "perception" (1), "planning" (2) or "joint" (3).
    trainable:    parameter groups trained in full; None: the stage's default
                  (groups: vit, projector, embeddings, llm, perception, planning).
    lora_rank:    LoRA rank on the LLM's attention and FFN projections (0: no LoRA).
    full_ft_attn: the pretrained self-attention projections of the task layers carry no LoRA and
                  train in full in stages 1 and 3 (frozen in stage 2), as in the official release.
    lora_ffn:     LoRA also on the FFN projections (gate / up / down); the official release
                  puts LoRA on q / k / v / o only (False).
    """

    stage: str = "perception"
    trainable: tuple[str, ...] | None = None
    lora_rank: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    full_ft_attn: bool = True
    lora_ffn: bool = True


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    recipe: RecipeConfig = field(default_factory=RecipeConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# ---------------------------------------------------------------------------------- loading
def load_config(path: str | Path) -> ExperimentConfig:
    """Run the config file ``path`` and return what its ``build()`` returns."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist (configs live in configs/nuscenes, configs/navsim, configs/demo)"
        )
    if path.suffix != ".py":
        record = " (experiment.json is the record a run writes, not a config)" if path.suffix == ".json" else ""
        raise ConfigError(
            f"config file {path}: expected a Python file defining `def build() -> ExperimentConfig`, e.g. "
            f"configs/demo/demo_stage1_perception.py; got a {path.suffix or 'suffix-less'} file{record}"
        )
    spec = importlib.util.spec_from_file_location(f"onedrive_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ConfigError(f"config file {path} is not valid Python: {error.msg} (line {error.lineno})") from error
    build = getattr(module, "build", None)
    if not callable(build):
        raise ConfigError(f"config file {path} must define `def build() -> ExperimentConfig`")
    config = build()
    if not isinstance(config, ExperimentConfig):
        raise ConfigError(f"{path}: build() must return an ExperimentConfig, got {type(config).__name__}")
    return config


# --------------------------------------------------------------------------------- overrides
def add_override_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """The tools' repeatable ``--set KEY=VALUE`` option, collected in ``args.overrides`` for ``apply_overrides``."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def apply_overrides(config: ExperimentConfig, overrides: list[str]) -> ExperimentConfig:
    """Apply ``key=value`` strings in order (the config is changed in place and returned)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value (e.g. train.learning_rate=2e-4), got {item!r}")
        _set_path(config, key.strip().split("."), raw.strip(), key.strip())
    return config


def _set_path(obj: Any, parts: list[str], raw: str, full_key: str) -> None:
    name, rest = parts[0], parts[1:]
    if isinstance(obj, dict):  # model.task.<field>
        _set_task_field(obj, parts, raw, full_key)
        return
    valid = [f.name for f in dataclasses.fields(obj)]
    if name not in valid:
        prefix = full_key[: len(full_key) - len(".".join(parts))]
        raise ConfigError(f"unknown config key {full_key!r}{_suggest(name, valid, prefix)}; valid keys here: {valid}")
    hint = typing.get_type_hints(type(obj))[name]
    if rest:
        child = getattr(obj, name)
        if child is None:
            inner = _dataclass_in(hint)
            if inner is None:
                raise ConfigError(f"{full_key!r}: {'.'.join(parts[:1])} is None and has no sub-keys")
            child = inner()
            setattr(obj, name, child)
        if not (dataclasses.is_dataclass(child) or isinstance(child, dict)):
            raise ConfigError(f"{full_key!r}: {name} is a {type(child).__name__} value, it has no sub-key {rest[0]!r}")
        _set_path(child, rest, raw, full_key)
        return
    setattr(obj, name, parse_value(raw, hint, full_key))


def _set_task_field(task: dict, parts: list[str], raw: str, full_key: str) -> None:
    valid = [f.name for f in dataclasses.fields(OneDriveTaskConfig) if not f.name.startswith("_")]
    name = parts[0]
    if len(parts) == 1 and name in RETIRED_PLAN_KEYS:  # the removed planning design's keys: refused or dropped
        check_retired_plan_keys({name: _literal(raw)}, full_key)
        return
    if len(parts) != 1 or name not in valid:
        raise ConfigError(f"unknown task config key {full_key!r}{_suggest(name, valid, 'model.task.')}")
    default = getattr(OneDriveTaskConfig(), name)
    value = _literal(raw)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if default is not None and value is not None and not isinstance(value, (type(default), list, tuple)):
        raise ConfigError(f"{full_key!r} expects a {type(default).__name__} like {default!r}, got {raw!r}")
    task[name] = list(value) if isinstance(value, tuple) else value


def _literal(raw: str) -> Any:
    """A Python literal (number, string, list, ...), else the text itself."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def _suggest(name: str, valid: list[str], prefix: str) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f" — did you mean '{prefix}{close[0]}'?" if close else ""


def _dataclass_in(hint: Any) -> type | None:
    for arg in typing.get_args(hint) or (hint,):
        if dataclasses.is_dataclass(arg):
            return arg
    return None


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def parse_value(raw: str, hint: Any, key: str = "value") -> Any:
    """Parse the string ``raw`` as type ``hint`` (int, float, bool, str, tuple/list, Optional, dict)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and raw.lower() in ("none", "null"):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return parse_value(raw, arg, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError("; ".join(errors))
    if hint is bool:
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ConfigError(f"{key!r} expects a bool (true/false), got {raw!r}")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key!r} expects an int, got {raw!r}") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key!r} expects a float, got {raw!r}") from None
    if hint is str:
        return raw
    if origin in (tuple, list):
        items = _split_sequence(raw)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise ConfigError(f"{key!r} expects {len(args)} comma-separated values, got {raw!r}")
            return tuple(parse_value(item, arg, key) for item, arg in zip(items, args))
        element = args[0] if args else str
        values = [parse_value(item, element, key) for item in items]
        return tuple(values) if origin is tuple else values
    if origin is dict or hint is dict:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = None
        if not isinstance(value, dict):
            raise ConfigError(f"{key!r} expects a dict literal like {{'a': 1}}, got {raw!r}")
        return value
    raise ConfigError(f"{key!r}: values of type {hint} cannot be set from the command line")


def _split_sequence(raw: str) -> list[str]:
    text = raw.strip()
    if text[:1] in "[(" and text[-1:] in "])":
        text = text[1:-1]
    return [item.strip().strip("'\"") for item in text.split(",") if item.strip()]


# ------------------------------------------------------------------------------------ checks
def model_folder(path: str | Path) -> Path:
    """The loadable model folder of ``model.init_from``: ``<path>/final`` or ``<path>`` itself."""
    path = Path(path)
    return path / "final" if (path / "final" / "config.json").is_file() else path


def resolve_batch(train: TrainConfig, world_size: int) -> int:
    """Gradient accumulation steps for this world size; raises when the global batch cannot be split."""
    per_step = train.per_device_batch_size * world_size
    if train.per_device_batch_size < 1:
        raise ConfigError(f"train.per_device_batch_size must be >= 1, got {train.per_device_batch_size}")
    if train.global_batch_size is None:
        return train.gradient_accumulation_steps or 1
    accumulation = train.gradient_accumulation_steps
    if accumulation is None:
        if train.global_batch_size % per_step:
            raise ConfigError(
                f"train.global_batch_size={train.global_batch_size} is not divisible by per_device_batch_size "
                f"({train.per_device_batch_size}) x world size ({world_size}) = {per_step}; change "
                f"train.per_device_batch_size, the number of processes, or train.global_batch_size"
            )
        return train.global_batch_size // per_step
    if per_step * accumulation != train.global_batch_size:
        raise ConfigError(
            f"train.global_batch_size={train.global_batch_size} != per_device_batch_size "
            f"({train.per_device_batch_size}) x world size ({world_size}) x gradient_accumulation_steps "
            f"({accumulation}) = {per_step * accumulation}; set train.gradient_accumulation_steps=None to derive it, "
            f"or train.global_batch_size=None"
        )
    return accumulation


# train.<key>: (the rule its value must follow, the rule in words). None values are not checked.
TRAIN_RANGES = {
    "learning_rate": (lambda v: v > 0, "> 0"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "adam_beta1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "adam_beta2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "min_lr_rate": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "warmup_steps": (lambda v: v >= 0, ">= 0"),
    "max_grad_norm": (lambda v: v >= 0, ">= 0 (0: no clipping)"),
    "logging_steps": (lambda v: v >= 1, ">= 1"),
    "save_steps": (lambda v: v >= 1, ">= 1"),
    "save_total_limit": (lambda v: v >= 1, ">= 1 (None: keep every checkpoint)"),
}


def check_numbers(config: ExperimentConfig) -> list[str]:
    """Problems of the numeric values: NaN / infinity in any section, and ``TRAIN_RANGES``."""
    problems = []
    for section in ("model", "data", "train", "recipe"):
        for key, value in dataclasses.asdict(getattr(config, section)).items():
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{section}.{key} must be a finite number, got {value}")
    for key, (rule, words) in TRAIN_RANGES.items():
        value = getattr(config.train, key)
        if value is not None and math.isfinite(value) and not rule(value):
            problems.append(f"train.{key} must be {words}, got {value}")
    return problems


def _text_weight(config: ExperimentConfig) -> float:
    """The run's text loss weight: ``model.task.text_weight``, else the stage's."""
    from onedrive.training.recipe import STAGES  # recipe imports this module

    stage = STAGES.get(config.recipe.stage)
    default = stage.loss_weights["text_weight"] if stage is not None else 0.0
    return float(config.model.task.get("text_weight", default))


def _has_qa(infos: Path) -> bool:
    """Whether some record of the info file has QA turns; ``ConfigError`` when it is not a valid info file."""
    try:
        _, records = load_infos(infos)
    except InputError as error:
        raise ConfigError(str(error)) from error
    return any(record.get("qa") for record in records)


def check_config(config: ExperimentConfig, world_size: int = 1) -> None:
    """Raise ``ConfigError`` for anything that would fail later (before any model or data is loaded)."""
    from onedrive.training.recipe import check_recipe  # recipe imports this module

    problems: list[str] = []
    model, data, train = config.model, config.data, config.train

    if model.init_from is not None:
        folder = model_folder(model.init_from)
        if not (folder / "config.json").is_file():
            problems.append(
                f"model.init_from={model.init_from!r} holds no model (expected {Path(model.init_from) / 'final'}/config.json "
                f"written at the end of the previous stage): run that stage first, or point model.init_from at its "
                f"train.output_dir"
            )
    elif model.internvl is None:
        problems.append(
            "set model.internvl (InternVL3 hub id or folder) or model.init_from (a previous stage's output)"
        )
    elif model.tiny is None and not Path(model.internvl).is_dir():
        if not HUB_ID.match(model.internvl):
            problems.append(
                f"model.internvl={model.internvl!r} is neither a folder nor a hub id like 'OpenGVLab/InternVL3-1B-hf'"
            )
        elif Path(model.internvl).parent.is_dir():  # 'checkpoints/X' with checkpoints/ here: a folder not put there yet
            problems.append(
                f"model.internvl={model.internvl!r} is not a folder, though {Path(model.internvl).parent}/ is: put the "
                f"checkpoint there (see checkpoints/README.md), or name a hub id whose owner is not a local folder"
            )
    if model.dtype not in DTYPES:
        problems.append(f"model.dtype must be one of {DTYPES}, got {model.dtype!r}")
    try:
        check_retired_plan_keys(model.task, "model.task")
    except InputError as error:
        problems.append(str(error))
    for key in model.task:
        if key in ("num_cameras", "camera_tiles", "use_thumbnail"):
            problems.append(
                f"model.task.{key} comes from the data section (data.cameras / data.camera_tiles / data.use_thumbnail)"
            )

    if not Path(data.root).is_dir():
        problems.append(f"data.root={data.root!r} is not a folder: point it at the dataset (--set data.root=PATH)")
    infos = data.infos_path(data.train_split)
    if not infos.is_file():
        problems.append(
            f"training info file {infos} does not exist: run `python tools/create_data.py {data.dataset} --data-root "
            f"{data.root} --version {data.version} --out {data.infos_folder()}` or set data.infos_dir / data.train_split"
        )
    elif _text_weight(config) > 0:
        try:
            if not _has_qa(infos):
                problems.append(
                    f"the text loss is on (text_weight {_text_weight(config)}) but no record of {infos} has QA turns, "
                    f"so every text target would be the driving command the planning token already reads: convert "
                    f"with QA (`python tools/create_data.py {data.dataset} ... --qa OMNIDRIVE_QA_DIR`, the "
                    f"OmniDrive-nuScenes keywords/ desc/ vqa/ conv/ folders) or set model.task.text_weight=0"
                )
        except ConfigError as error:
            problems.append(str(error))
    if infos.is_file() and "plan_mode_anchors" not in model.task:
        metadata, _ = load_infos(infos)
        if metadata.get("plan_mode_anchors") is None:
            problems.append(
                f"the planning queries take their mode anchors from the training info file, but {infos} has no "
                f"plan_mode_anchors in its metadata: re-run `python tools/create_data.py {data.dataset} ...` (it "
                f"writes them; a split needs 6 complete futures)"
            )
    if len(data.cameras) < 1 or len(data.camera_tiles) != 2 or min(data.camera_tiles) < 1:
        problems.append(
            f"data.cameras must be non-empty and data.camera_tiles (rows, cols) >= 1, got {data.cameras}, {data.camera_tiles}"
        )
    if data.workers < 0:
        problems.append(f"data.workers must be >= 0, got {data.workers}")
    try:
        DetectionTargets(**dataclasses.asdict(data.detection_targets))
    except ValueError as error:
        problems.append(f"data.{error}")
    problems.extend(check_streaming(data))

    try:
        resolve_batch(train, world_size)
    except ConfigError as error:
        problems.append(str(error))
    if train.precision not in PRECISIONS:
        problems.append(f"train.precision must be one of {PRECISIONS}, got {train.precision!r}")
    if train.max_steps <= 0 and train.epochs <= 0:
        problems.append(f"set train.epochs > 0 or train.max_steps > 0 (got {train.epochs}, {train.max_steps})")
    if train.deepspeed is not None and not Path(train.deepspeed).is_file():
        problems.append(f"train.deepspeed={train.deepspeed!r} does not exist (see configs/deepspeed/zero2.json)")

    problems.extend(check_optimization(train))
    problems.extend(check_numbers(config))
    problems.extend(check_recipe(config.recipe))
    if problems:
        raise ConfigError("invalid experiment config:\n  - " + "\n  - ".join(problems))


def check_streaming(data: DataConfig) -> list[str]:
    """Problems of the streaming settings (checked only when ``data.streaming`` is on)."""
    if not data.streaming:
        return []
    problems = [
        f"data.{name} must be >= {low}, got {getattr(data, name)}"
        for name, low in (("seq_split_num", 1), ("warmup_split_num", 1), ("warmup_epochs", 0))
        if getattr(data, name) < low
    ]
    if data.qa_mode == "all":
        problems.append(
            "data.streaming needs one item per frame, but data.qa_mode='all' makes one per QA turn: "
            "use qa_mode 'conversation', 'sample' or 'planning'"
        )
    infos = data.infos_path(data.train_split)
    if infos.is_file():  # a missing file is reported by check_config
        try:
            _, records = load_infos(infos)
        except InputError as error:
            return problems + [str(error)]
        for record in records:
            missing = [key for key in ("scene_token", "timestamp") if key not in record]
            if missing:
                problems.append(
                    f"data.streaming orders frames by scene_token and timestamp, but record {record.get('token')!r} "
                    f"of {infos} has no {missing}: re-create the info file with tools/create_data.py"
                )
                break
    return problems


def check_optimization(train: TrainConfig) -> list[str]:
    """Problems of the schedule / parameter-group fields, and a DeepSpeed config that would replace them."""
    problems = []
    if train.warmup_start_rate is not None and not 0 <= train.warmup_start_rate <= 1:
        problems.append(f"train.warmup_start_rate must be in [0, 1], got {train.warmup_start_rate}")
    if train.warmup_start_rate is not None and train.lr_scheduler != WHOLE_RUN_COSINE:
        problems.append(
            f"train.warmup_start_rate is used by train.lr_scheduler={WHOLE_RUN_COSINE!r} only, got "
            f"lr_scheduler={train.lr_scheduler!r}: set warmup_start_rate=None or change the scheduler"
        )
    groups = train.param_groups
    if groups is not None and (
        min(groups.llm, groups.heads, groups.task_modules) <= 0 or not 0 < groups.vit_layer_decay <= 1
    ):
        problems.append(f"train.param_groups: multipliers > 0 and 0 < vit_layer_decay <= 1 required, got {groups}")
    if train.deepspeed is not None and Path(train.deepspeed).is_file():
        try:
            sections = json.loads(Path(train.deepspeed).read_text())
        except json.JSONDecodeError as error:
            return problems + [f"train.deepspeed={train.deepspeed!r} is not valid JSON: {error}"]
        if groups is not None and "optimizer" in sections:
            problems.append(
                f"train.deepspeed={train.deepspeed!r} has an 'optimizer' section: DeepSpeed would build its own "
                "optimizer and drop train.param_groups; remove the section (the Trainer builds AdamW from train.*)"
            )
        if train.lr_scheduler == WHOLE_RUN_COSINE and "scheduler" in sections:
            problems.append(
                f"train.deepspeed={train.deepspeed!r} has a 'scheduler' section: DeepSpeed would replace "
                f"train.lr_scheduler={WHOLE_RUN_COSINE!r}; remove the section"
            )
    return problems
