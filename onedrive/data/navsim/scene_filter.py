"""NAVSIM scene filters: which windows of which logs are the scenes of a split.

NAVSIM's splits are not folders. ``navtrain`` and ``navtest`` are scene filters
(``navsim/planning/script/config/common/train_test_split/scene_filter/<name>.yaml``) over
the ``trainval`` and ``test`` log folders; ``all_scenes.yaml`` (the devkit's ``trainval`` /
``test`` splits) keeps every non-overlapping window. A filter has NAVSIM's
``SceneFilter`` keys (``navsim/common/dataclasses.py``): ``num_history_frames``,
``num_future_frames``, ``frame_interval`` (null: the window length, i.e. non-overlapping),
``has_route``, ``max_scenes``, ``log_names``, ``tokens``.

``filter_scenes`` selects as NAVSIM's ``filter_scenes`` (``navsim/common/dataloader.py``):
for each log (restricted to ``log_names``), the windows ``frames[i : i + num_frames]`` for
``i = 0, frame_interval, 2·frame_interval, …``; a window shorter than ``num_frames`` is
dropped, so is one whose current frame (index ``num_history_frames - 1``) has no route when
``has_route``, or whose current token is not in ``tokens``; loading stops at
``max_scenes``. Differences, so that no split is silently smaller than its filter:

* logs are read in sorted name order (NAVSIM: directory order), so ``max_scenes`` keeps the
  same scenes on every machine;
* a ``log_names`` entry without a log file, and a ``tokens`` entry that is not a scene of
  the selected logs, raise ``InputError`` naming them (NAVSIM skips them);
* the repository's records need NAVSIM v1's 4 history + 10 future frames: other counts are
  refused.

``load_scene_filter(path)`` reads the devkit's YAML (its Hydra keys ``_target_`` /
``_convert_`` are ignored) or a token list (any other file: one token a line, ``#``
comments); a token list means navtest / navtrain's settings (4 + 10 frames, stride 1,
route required) restricted to those tokens.

    python tools/create_data.py navsim --data-root data/navsim --logs test \\
        --scene-filter navsim/planning/script/config/common/train_test_split/scene_filter/navtest.yaml --out data/infos
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from onedrive.data.navsim.logs import load_log, log_paths
from onedrive.data.navsim.scenes import NUM_FUTURE, NUM_HISTORY, NavsimScene
from onedrive.errors import InputError
from onedrive.io import write_text_atomic

HYDRA_KEYS = ("_target_", "_convert_")
DEVKIT_TARGET = "navsim.common.dataclasses.SceneFilter"


@dataclass(frozen=True)
class SceneFilter:
    """NAVSIM's ``SceneFilter`` (defaults as the devkit's); ``source`` names where it was read from."""

    num_history_frames: int = NUM_HISTORY
    num_future_frames: int = NUM_FUTURE
    frame_interval: int | None = None
    has_route: bool = True
    max_scenes: int | None = None
    log_names: tuple[str, ...] | None = None
    tokens: tuple[str, ...] | None = None
    source: str = "<in code>"

    def __post_init__(self) -> None:
        if (self.num_history_frames, self.num_future_frames) != (NUM_HISTORY, NUM_FUTURE):
            raise InputError(
                f"scene filter {self.source}: this repository converts NAVSIM v1 scenes of num_history_frames="
                f"{NUM_HISTORY} and num_future_frames={NUM_FUTURE}, got {self.num_history_frames} and "
                f"{self.num_future_frames}"
            )
        if self.frame_interval is not None and (not isinstance(self.frame_interval, int) or self.frame_interval < 1):
            raise InputError(
                f"scene filter {self.source}: frame_interval must be an integer ≥ 1 or null, "
                f"got {self.frame_interval!r}"
            )
        if self.max_scenes is not None and (not isinstance(self.max_scenes, int) or self.max_scenes < 1):
            raise InputError(
                f"scene filter {self.source}: max_scenes must be an integer ≥ 1 or null, got {self.max_scenes!r}"
            )

    @property
    def num_frames(self) -> int:
        return self.num_history_frames + self.num_future_frames

    @property
    def stride(self) -> int:
        """Frames between window starts (``frame_interval``, or the window length when null)."""
        return self.frame_interval if self.frame_interval is not None else self.num_frames

    @property
    def name(self) -> str:
        """The split name this filter gives: its file name without the extension."""
        return Path(self.source).stem


def _names(value, key: str, source: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"scene filter {source}: {key} must be a list of strings or null, got {type(value).__name__}")
    return tuple(value)


def load_scene_filter(path: str | Path) -> SceneFilter:
    """The filter in ``path``: the devkit's YAML (``.yaml`` / ``.yml``) or a token list (one a line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"scene filter {path} does not exist (expected the devkit's <name>.yaml or a token list)")
    text = path.read_text(encoding="utf-8")
    if path.suffix not in (".yaml", ".yml"):
        tokens = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        tokens = [token for token in tokens if token]
        if not tokens:
            raise InputError(f"token list {path} holds no token (expected one token a line)")
        return SceneFilter(frame_interval=1, tokens=tuple(tokens), source=str(path))
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(f"scene filter {path} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"scene filter {path}: expected a mapping of SceneFilter keys, got {type(document).__name__}")
    known = {field.name for field in fields(SceneFilter)} - {"source"}
    unknown = sorted(set(document) - known - set(HYDRA_KEYS))
    if unknown:
        raise InputError(f"scene filter {path}: unknown keys {unknown}; NAVSIM's SceneFilter has {sorted(known)}")
    values = {key: document[key] for key in known if key in document}
    for key in ("log_names", "tokens"):
        if key in values:
            values[key] = _names(values[key], key, str(path))
    return SceneFilter(**values, source=str(path))


def write_scene_filter(path: str | Path, log_names: list[str], tokens: list[str]) -> Path:
    """Write a navtest / navtrain-style filter (4 + 10 frames, stride 1, route) in the devkit's YAML, atomically."""
    document = {
        "_target_": DEVKIT_TARGET,
        "_convert_": "all",
        "num_history_frames": NUM_HISTORY,
        "num_future_frames": NUM_FUTURE,
        "frame_interval": 1,
        "has_route": True,
        "max_scenes": None,
        "log_names": list(log_names),
        "tokens": list(tokens),
    }
    return write_text_atomic(Path(path), yaml.safe_dump(document, sort_keys=False))


def filter_scenes(data_root: str | Path, log_folder: str, scene_filter: SceneFilter) -> list[NavsimScene]:
    """The scenes ``scene_filter`` selects from ``<data_root>/navsim_logs/<log_folder>`` (module docstring)."""
    paths = log_paths(data_root, log_folder)
    folder = Path(data_root) / "navsim_logs" / log_folder
    if scene_filter.log_names is not None:
        wanted = set(scene_filter.log_names)
        missing = sorted(wanted - {path.stem for path in paths})
        if missing:
            raise InputError(
                f"scene filter {scene_filter.source}: {len(missing)} of its log_names have no log in "
                f"{folder}, e.g. {missing[:3]}"
            )
        paths = [path for path in paths if path.stem in wanted]
    wanted_tokens = set(scene_filter.tokens) if scene_filter.tokens is not None else None
    current = scene_filter.num_history_frames - 1
    scenes: list[NavsimScene] = []
    rejected: dict[str, str] = {}  # filter token → why its window is no scene
    for path in paths:
        frames = load_log(path)
        for start in range(0, len(frames), scene_filter.stride):
            window = frames[start : start + scene_filter.num_frames]
            if len(window) <= current:
                continue
            token = window[current]["token"]
            if wanted_tokens is not None and token not in wanted_tokens:
                continue
            if len(window) < scene_filter.num_frames:
                rejected[token] = f"only {len(window) - current - 1} future frames in {path.name}"
                continue
            if scene_filter.has_route and len(window[current]["roadblock_ids"]) == 0:
                rejected[token] = f"no route (empty roadblock_ids) in {path.name}"
                continue
            scenes.append(NavsimScene(token, path, tuple(window)))
            if scene_filter.max_scenes is not None and len(scenes) >= scene_filter.max_scenes:
                return scenes
    if wanted_tokens is not None:
        found = {scene.token for scene in scenes}
        absent = [token for token in scene_filter.tokens if token not in found]
        if absent:
            reasons = [
                f"{token!r}: {rejected.get(token, 'not a window current frame of any selected log')}"
                for token in absent[:3]
            ]
            raise InputError(
                f"scene filter {scene_filter.source}: {len(absent)} of its {len(wanted_tokens)} tokens "
                f"are no scene of {folder} (stride {scene_filter.stride}): " + "; ".join(reasons)
            )
    return scenes
