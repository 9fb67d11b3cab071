"""The synthetic world, independent of any on-disk format.

``generate_world(SyntheticConfig(...))`` builds one ``RoadNetwork`` (the map, shared by
all scenes), the camera rig and ``scenes`` scenes of ``samples_per_scene`` key frames at
2 Hz, each with an ego and its traffic (``traffic.py``). The last ``val_scenes`` scenes
are held out for evaluation (split ``val``), the rest are ``train``. Within each split
the ego's maneuver at the first junction cycles left, right, straight, and the junction
comes 0.5–2.5 s after the first key frame, so both splits hold all three driving
commands (``traffic.py``). ``padding=(before, after)`` adds frames around the
``samples_per_scene`` key frames of interest (a NAVSIM log needs 3 history frames
before its first token and 10 future frames after its last); ``Scene.first_key`` is
the index of the first frame of interest. ``parking_gap`` keeps parked objects that far
from junction squares (``traffic.PARKING_GAP``; worlds written as NAVSIM logs use
``traffic.NAVSIM_PARKING_GAP``); ``turn_delay`` is the range of seconds from the first key frame to the
junction (``traffic.TURN_DELAY``; NAVSIM worlds: ``traffic.navsim_turn_delay``, 0–2 s after the last token). Scene names are taken from nuscenes-devkit's official scene lists
(``nuscenes/utils/splits.py``: train scenes from ``splits.train``, val scenes from
``splits.val``), so a copy written under version ``v1.0-trainval`` also evaluates with
the devkit's predefined ``train`` / ``val`` splits. Everything is drawn from
``numpy.random.default_rng([seed, scene_index])``: the same seed gives the same world.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from onedrive.extras import extra_module
from onedrive.synthetic.cameras import Camera, nuscenes_rig
from onedrive.synthetic.roads import RoadConfig, RoadNetwork, build_road_network
from onedrive.synthetic.traffic import FRAME_DT, MANEUVERS, PARKING_GAP, TURN_DELAY, SceneTraffic, generate_traffic

devkit_splits = extra_module("nuscenes.utils.splits", "nuscenes")

FIRST_TIMESTAMP_US = 1_533_151_600_000_000  # 2018-08-01, like the nuScenes Boston logs
SCENE_GAP_US = 60_000_000


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate. ``val_scenes=None`` holds out a third of the scenes (at least one)."""

    scenes: int = 6
    samples_per_scene: int = 10
    seed: int = 0
    image_size: tuple[int, int] = (224, 112)  # (width, height) of every camera image
    val_scenes: int | None = None
    roads: RoadConfig = field(default_factory=RoadConfig)

    def __post_init__(self) -> None:
        if self.scenes < 2:
            raise ValueError(f"scenes must be >= 2 (train and val need one each), got {self.scenes}")
        if self.samples_per_scene < 2:
            raise ValueError(f"samples_per_scene must be >= 2, got {self.samples_per_scene}")
        if len(self.image_size) != 2 or min(self.image_size) < 8:
            raise ValueError(f"image_size must be (width, height) with both >= 8, got {self.image_size}")
        n_val = self.n_val
        if not 1 <= n_val < self.scenes:
            raise ValueError(f"val_scenes must be in [1, scenes - 1] = [1, {self.scenes - 1}], got {n_val}")
        if n_val > len(devkit_splits.val) or self.scenes - n_val > len(devkit_splits.train):
            raise ValueError(
                f"at most {len(devkit_splits.train)} train and {len(devkit_splits.val)} val scenes can be named, "
                f"got {self.scenes - n_val} train and {n_val} val"
            )

    @property
    def n_val(self) -> int:
        return self.val_scenes if self.val_scenes is not None else max(1, round(self.scenes / 3))


@dataclass
class Scene:
    """One scene: name, split (``train`` / ``val``), key-frame timestamps (T,) in µs, traffic."""

    index: int
    name: str
    split: str
    timestamps: np.ndarray
    traffic: SceneTraffic
    first_key: int = 0

    @property
    def n_frames(self) -> int:
        return len(self.timestamps)


@dataclass
class World:
    config: SyntheticConfig
    network: RoadNetwork
    cameras: list[Camera]
    scenes: list[Scene]
    parking_gap: float = PARKING_GAP
    turn_delay: tuple[float, float] = TURN_DELAY

    def split_scenes(self, split: str) -> list[Scene]:
        return [scene for scene in self.scenes if scene.split == split]


def scene_plan(config: SyntheticConfig) -> list[tuple[str, str, str]]:
    """(split, scene name, first maneuver) of every scene, in generation order."""
    n_train = config.scenes - config.n_val
    plan = []
    for index in range(config.scenes):
        split = "train" if index < n_train else "val"
        position = index if split == "train" else index - n_train
        name = (devkit_splits.train if split == "train" else devkit_splits.val)[position]
        plan.append((split, name, MANEUVERS[position % len(MANEUVERS)]))
    return plan


def generate_scene(
    config: SyntheticConfig,
    network: RoadNetwork,
    index: int,
    padding: tuple[int, int] = (0, 0),
    parking_gap: float = PARKING_GAP,
    turn_delay: tuple[float, float] = TURN_DELAY,
) -> Scene:
    """Scene ``index`` of the world described by ``config`` (``padding``, ``parking_gap``, ``turn_delay``: see
    module docstring)."""
    before, after = padding
    if before < 0 or after < 0:
        raise ValueError(f"padding must be two frame counts >= 0, got {padding}")
    split, name, maneuver = scene_plan(config)[index]
    rng = np.random.default_rng([config.seed, index])
    n_frames = before + config.samples_per_scene + after
    traffic = generate_traffic(
        network, rng, n_frames, maneuver, first_key=before, parking_gap=parking_gap, turn_delay=turn_delay
    )
    start = FIRST_TIMESTAMP_US + index * (int(n_frames * FRAME_DT * 1e6) + SCENE_GAP_US)
    timestamps = start + np.arange(n_frames, dtype=np.int64) * int(FRAME_DT * 1e6)
    return Scene(index, name, split, timestamps, traffic, first_key=before)


def generate_world(
    config: SyntheticConfig,
    progress=None,
    padding: tuple[int, int] = (0, 0),
    parking_gap: float = PARKING_GAP,
    turn_delay: tuple[float, float] = TURN_DELAY,
) -> World:
    """All scenes of ``config``; ``progress`` (e.g. a tqdm bar) is updated once per scene."""
    network = build_road_network(config.roads)
    scenes = []
    for index in range(config.scenes):
        scenes.append(generate_scene(config, network, index, padding, parking_gap, turn_delay))
        if progress is not None:
            progress.update(1)
    return World(config, network, nuscenes_rig(*config.image_size), scenes, parking_gap, turn_delay)
