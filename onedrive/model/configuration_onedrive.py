"""OneDrive model configuration: InternVL's vision/text configs plus the driving tasks.

``OneDriveConfig`` is an ``InternVLConfig`` (same ``vision_config``, ``text_config``,
``image_token_id``, ``downsample_ratio``…) with one more sub-config,
``task_config`` (``OneDriveTaskConfig``): query counts, classes, lane points,
trajectory shape, which decoder layers carry task modules, the 3D position range,
camera tiling and loss weights. Defaults follow the official release's nuScenes
settings (docs/design.md §1, docs/reference.md "Settings of the official OneDrive release").
"""

from __future__ import annotations

import numpy as np
from huggingface_hub.dataclasses import strict
from transformers import InternVLConfig
from transformers.configuration_utils import PreTrainedConfig

from onedrive.model.retired_plan_keys import drop_retired_plan_keys
from onedrive.schema import NUSCENES_DETECTION_CLASSES


@strict
class OneDriveTaskConfig(PreTrainedConfig):
    """Driving-task settings.

    Queries: ``num_det_queries`` detection anchors, ``num_lane_queries`` lane anchors of
    ``lane_points`` 3D points each, and ``num_plan_tokens`` planning tokens (one ego token,
    then one token per command, mode and timestep; planning below).
    Cameras: ``num_cameras`` images per sample, each cut into ``camera_tiles``
    (rows, cols) ViT tiles of the vision tower's input size, plus a thumbnail tile when
    ``use_thumbnail``. ``task_layers`` lists the decoder layers that carry the query
    self-attention and the per-type FFNs (``None``: every layer); planning is
    supervised on each of them (deep supervision).
    ``position_range`` is ``[x_min, y_min, z_min, x_max, y_max, z_max]`` in metres (ego
    frame) over which the detection / lane reference points are normalised (the official heads'
    ``pc_range``); ``image_position_range`` is the same for the image tokens' frustum points (the
    official ±61.2 m, z ±10 m, so that the farthest depth bin is inside it); ``depth_range`` /
    ``depth_bins`` sample the camera frustum (PETR's linear-increasing bins, 64 from 1 to 61.2 m).
    ``task_ffn_init``: the query-type FFNs start from N(0, 0.02) (``random``, the official release;
    the paper finds that the pretrained FFN does not transfer) or as copies of their layer's
    pretrained FFN (``pretrained``, when built with ``from_internvl``).

    Four options that the official release does not have. Their defaults reproduce the
    paper's model; the demo configs (``DEMO_TASK`` in
    ``configs/demo/demo_stage1_perception.py``) turn all four on, because a small model
    trained from a random InternVL for a few thousand steps needs them.

    * ``azimuth_prior_logit`` (default 0: off). When > 0, a fixed attention bias makes
      each detection query look first at the image tokens in its own direction around
      the camera rig; the value is the bias's peak, in logits (the demo uses 5). It
      changes the image tokens' keys, so every token reading them sees a different
      model from step 0. Use it when the vision-language model is random or tiny and
      detection does not start (measured in ``docs/demo.md``);
      keep it at 0 when fine-tuning a pretrained InternVL. ``model/azimuth_prior.py``.
    * ``det_reference_init`` (default ``uniform``: random reference points, as PETR).
      ``sunflower`` places the detection reference points evenly on a spiral over the
      scored disc at car height, so no region starts without queries. Use it with few
      detection queries (hundreds rather than the paper's 600) or short training.
      ``model/queries.py``.
    * ``plan_anchor`` (default ``none``: the head predicts the waypoints themselves).
      ``constant_velocity`` makes the waypoint at step ``t`` a correction to holding the
      ego's current velocity ``(vx, vy)`` (from ``ego_status``) for ``t + 1`` steps of
      ``plan_step_seconds``, so an untrained head already plans constant velocity. Use it when planning is
      trained briefly or on little data; it needs ``ego_status_dim`` >= 2.
      ``model/heads/official_planning.py``.

    Planning (the official release's design): one ego token (command, ego status, the two
    previous key frames' ``ego_history``) and one token per command, mode and timestep
    (``1 + C·M·T``), each the embedding of its mode's anchor plus a timestep embedding;
    ``plan_mode_anchors`` (C, M, T, D) metres are the k-means centres of the training split's
    futures (the training build copies them from the info file, so a checkpoint's config
    carries them; the config accepts None, building a model refuses it); losses ``plan_l1``
    (``plan_weight``), focal ``plan_cls`` (``plan_cls_weight``) and ``plan_status``
    (``plan_status_weight``, the ego token's auxiliary L1). ``model/plan_queries.py``,
    ``model/heads/official_planning.py``. The keys of the earlier ``modes`` design
    (``plan_queries``, ``plan_mode_target``, ``plan_mode_temperature``) are accepted with this
    design's values and dropped, refused otherwise (``model/retired_plan_keys.py``).

    ``use_ego_status`` (default True). False plans without the ego status: the ego token's
    encoder and the planning head receive zeros in its place (the input is still given, so
    the batch and the exported graph keep their shape), and the ``constant_velocity``
    anchor, which needs the velocity, is refused. Use it to measure what the planner gets
    from the status (AD-MLP showed that the status alone plans well on nuScenes);
    ``tools/eval.py`` reports the setting as ``model/uses_ego_status``.

    Temporal memory (StreamPETR's propagated queries, ``model/streaming.py``; the official
    release's ``use_stream``): ``memory_size`` entries per perception group (detection and
    lanes; 0: no memory, the model of a single frame), of which each frame stores its
    ``memory_topk`` best-scoring queries and the ``memory_propagated`` newest become extra
    queries of the next frame; the others are keys and values of the query self-attention. A
    batch slot's memory resets at a scene change or when the time since its last frame is not in
    (0, ``memory_max_gap_seconds``]. The paper's configs: 600, 300, 300, 2 s.
    """

    model_type = "onedrive_task"

    det_classes: list[str] | tuple[str, ...] = NUSCENES_DETECTION_CLASSES
    num_det_queries: int = 600
    num_lane_queries: int = 600
    lane_points: int = 11
    max_boxes: int = 300  # decoded per sample (at most num_det_queries x classes)
    max_lanes: int = 100  # decoded per sample (at most num_lane_queries)

    num_cameras: int = 6
    camera_tiles: list[int] | tuple[int, ...] = (1, 2)
    use_thumbnail: bool = True

    plan_steps: int = 6
    plan_dims: int = 2
    num_commands: int = 3
    num_plan_modes: int = 6
    ego_status_dim: int = 6
    use_ego_status: bool = True  # False: the ego token and the planning head see zeros instead of the status
    plan_anchor: str = "none"  # waypoints relative to: "none" (the origin) or "constant_velocity"
    plan_step_seconds: float = 0.5  # time between waypoints (nuScenes and NAVSIM: 2 Hz)
    plan_mode_anchors: list | None = None  # (C, M, T, D) metres: k-means of the training futures (a model needs them)
    plan_status_weight: float = 1.0  # the ego token's auxiliary L1 on its own inputs

    task_layers: list[int] | tuple[int, ...] | None = None
    position_range: list[float] | tuple[float, ...] = (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0)
    image_position_range: list[float] | tuple[float, ...] = (-61.2, -61.2, -10.0, 61.2, 61.2, 10.0)
    depth_range: list[float] | tuple[float, ...] = (1.0, 61.2)
    depth_bins: int = 64
    azimuth_prior_logit: float = 0.0  # peak of the detection queries' azimuth attention prior; 0: none
    det_reference_init: str = "uniform"  # detection reference points at start: "uniform" or "sunflower"
    task_ffn_init: str = "random"  # query FFNs at start: "random" (N(0, 0.02)) or "pretrained" (a copy)

    memory_size: int = 0  # memory entries per perception group; 0: no temporal memory
    memory_topk: int = 0  # queries stored per frame
    memory_propagated: int = 0  # newest entries propagated as extra queries
    memory_max_gap_seconds: float = 2.0  # a longer time step (or a new scene) resets the memory

    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    det_cls_weight: float = 2.0
    det_box_weight: float = 0.25
    box_code_weights: list[float] | tuple[float, ...] = (2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    lane_cls_weight: float = 1.5
    lane_points_weight: float = 0.02
    plan_weight: float = 1.0
    plan_cls_weight: float = 0.5
    text_weight: float = 1.0
    perception_weight: float = 1.0
    planning_weight: float = 1.0

    def __post_init__(self, **kwargs):
        drop_retired_plan_keys(kwargs, "task_config")
        self.det_classes = list(self.det_classes)
        self.camera_tiles = list(self.camera_tiles)
        self.position_range = [float(v) for v in self.position_range]
        self.image_position_range = [float(v) for v in self.image_position_range]
        self.depth_range = [float(v) for v in self.depth_range]
        self.azimuth_prior_logit = float(self.azimuth_prior_logit)
        self.plan_step_seconds = float(self.plan_step_seconds)
        self.memory_max_gap_seconds = float(self.memory_max_gap_seconds)
        self.plan_status_weight = float(self.plan_status_weight)
        self.box_code_weights = [float(v) for v in self.box_code_weights]
        self.task_layers = None if self.task_layers is None else sorted(int(v) for v in self.task_layers)
        self._check()
        super().__post_init__(**kwargs)

    def _check(self) -> None:
        positive = {
            "num_det_queries": self.num_det_queries,
            "num_lane_queries": self.num_lane_queries,
            "lane_points": self.lane_points,
            "max_boxes": self.max_boxes,
            "max_lanes": self.max_lanes,
            "num_cameras": self.num_cameras,
            "plan_steps": self.plan_steps,
            "num_commands": self.num_commands,
            "num_plan_modes": self.num_plan_modes,
            "ego_status_dim": self.ego_status_dim,
            "depth_bins": self.depth_bins,
        }
        bad = {name: value for name, value in positive.items() if value < 1}
        if bad:
            raise ValueError(f"OneDriveTaskConfig: these must be >= 1, got {bad}")
        if not self.det_classes or len(set(self.det_classes)) != len(self.det_classes):
            raise ValueError(f"det_classes must be non-empty and unique, got {self.det_classes}")
        if len(self.camera_tiles) != 2 or min(self.camera_tiles) < 1:
            raise ValueError(f"camera_tiles must be [rows, cols] >= 1, got {self.camera_tiles}")
        if self.plan_dims not in (2, 3):
            raise ValueError(f"plan_dims must be 2 (x, y) or 3 (x, y, heading), got {self.plan_dims}")
        for name in ("position_range", "image_position_range"):
            bounds = getattr(self, name)
            if len(bounds) != 6 or any(lo >= hi for lo, hi in zip(bounds[:3], bounds[3:])):
                raise ValueError(
                    f"{name} must be [x_min, y_min, z_min, x_max, y_max, z_max] with min < max, got {bounds}"
                )
        if len(self.depth_range) != 2 or not 0 < self.depth_range[0] < self.depth_range[1]:
            raise ValueError(f"depth_range must be [near, far] with 0 < near < far, got {self.depth_range}")
        if self.task_ffn_init not in ("random", "pretrained"):
            raise ValueError(f"task_ffn_init must be 'random' or 'pretrained', got {self.task_ffn_init!r}")
        if self.det_reference_init not in ("uniform", "sunflower"):
            raise ValueError(f"det_reference_init must be 'uniform' or 'sunflower', got {self.det_reference_init!r}")
        if self.plan_anchor not in ("none", "constant_velocity"):
            raise ValueError(f"plan_anchor must be 'none' or 'constant_velocity', got {self.plan_anchor!r}")
        if self.plan_anchor == "constant_velocity" and self.ego_status_dim < 2:
            raise ValueError(
                f"plan_anchor 'constant_velocity' reads (vx, vy) from ego_status; ego_status_dim is {self.ego_status_dim}"
            )
        if self.plan_anchor == "constant_velocity" and not self.use_ego_status:
            raise ValueError(
                "plan_anchor 'constant_velocity' reads (vx, vy) from ego_status, which use_ego_status=False hides; "
                "set plan_anchor='none'"
            )
        if not self.plan_step_seconds > 0:
            raise ValueError(f"plan_step_seconds must be > 0, got {self.plan_step_seconds}")
        self._check_plan_mode_anchors()
        if not self.azimuth_prior_logit >= 0:
            raise ValueError(f"azimuth_prior_logit must be >= 0 (0: no prior), got {self.azimuth_prior_logit}")
        self._check_memory()
        if len(self.box_code_weights) != 10:
            raise ValueError(
                f"box_code_weights needs 10 values (x, y, z, l, w, h, sin, cos, vx, vy), "
                f"got {len(self.box_code_weights)}"
            )

    def _check_memory(self) -> None:
        sizes = {"memory_size": self.memory_size, "memory_topk": self.memory_topk}
        sizes["memory_propagated"] = self.memory_propagated
        if self.memory_size == 0:
            if self.memory_topk or self.memory_propagated:
                raise ValueError(f"memory_topk and memory_propagated need memory_size > 0, got {sizes}")
            return
        fewest_queries = min(self.num_det_queries, self.num_lane_queries) + self.memory_propagated
        if not (0 < self.memory_topk <= self.memory_size and 0 <= self.memory_propagated <= self.memory_size):
            raise ValueError(
                f"the memory needs 0 < memory_topk <= memory_size and 0 <= memory_propagated <= memory_size, got {sizes}"
            )
        if self.memory_topk > fewest_queries:
            raise ValueError(
                f"memory_topk ({self.memory_topk}) exceeds the queries of a frame ({fewest_queries}: the fewer of "
                f"num_det_queries / num_lane_queries plus memory_propagated)"
            )
        if not self.memory_max_gap_seconds > 0:
            raise ValueError(f"memory_max_gap_seconds must be > 0, got {self.memory_max_gap_seconds}")

    def _check_plan_mode_anchors(self) -> None:
        """Anchors, when given, must be (C, M, T, D) finite metres; None is checked where a model is built."""
        if self.plan_mode_anchors is None:
            return
        shape = (self.num_commands, self.num_plan_modes, self.plan_steps, self.plan_dims)
        try:
            anchors = np.asarray(self.plan_mode_anchors, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"plan_mode_anchors must be {shape} numbers (metres): {error}") from None
        if anchors.shape != shape or not np.isfinite(anchors).all():
            raise ValueError(f"plan_mode_anchors must be {shape} finite numbers (metres), got shape {anchors.shape}")
        self.plan_mode_anchors = anchors.tolist()

    @property
    def tiles_per_camera(self) -> int:
        return self.camera_tiles[0] * self.camera_tiles[1] + int(self.use_thumbnail)

    @property
    def num_plan_tokens(self) -> int:
        """One ego token plus one token per command, mode and timestep."""
        return 1 + self.num_commands * self.num_plan_modes * self.plan_steps


@strict
class OneDriveConfig(InternVLConfig):
    """InternVL3 configuration plus ``task_config`` (``OneDriveTaskConfig``).

    ``attn_implementation`` is chosen when loading (``sdpa`` by default; ``eager``;
    ``flash_attention_2`` where flash-attn is installed).
    """

    model_type = "onedrive"
    sub_configs_defaults = {**InternVLConfig.sub_configs_defaults, "task_config": OneDriveTaskConfig}

    task_config: dict | PreTrainedConfig | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        num_layers = self.text_config.num_hidden_layers
        layers = self.task_config.task_layers
        if layers is not None and (not layers or layers[0] < 0 or layers[-1] >= num_layers):
            raise ValueError(
                f"task_config.task_layers must be indices in [0, {num_layers - 1}] (the LLM has {num_layers} "
                f"decoder layers), got {layers}"
            )
        vision = self.vision_config
        if vision.image_size[0] != vision.image_size[1]:
            raise ValueError(f"vision_config.image_size must be square tiles, got {vision.image_size}")
        side = vision.image_size[0] // vision.patch_size[0]
        if side * vision.patch_size[0] != vision.image_size[0] or (side * self.downsample_ratio) % 1:
            raise ValueError(
                f"vision tile {vision.image_size} must be a multiple of patch {vision.patch_size} whose patch "
                f"grid divides by 1 / downsample_ratio ({1 / self.downsample_ratio})"
            )

    @property
    def task_layer_indices(self) -> list[int]:
        """Decoder layers carrying task modules (all layers when ``task_layers`` is None)."""
        layers = self.task_config.task_layers
        return list(range(self.text_config.num_hidden_layers)) if layers is None else list(layers)

    @property
    def tokens_per_tile(self) -> int:
        """LLM tokens one ViT tile becomes after pixel shuffle."""
        side = self.vision_config.image_size[0] // self.vision_config.patch_size[0]
        return int(side * self.downsample_ratio) ** 2

    @property
    def image_tokens_per_camera(self) -> int:
        return self.tokens_per_tile * self.task_config.tiles_per_camera


def attention_head_dim(text_config) -> int:
    """The LLM's per-head width: ``head_dim`` where the config sets it, else hidden_size / heads."""
    return getattr(text_config, "head_dim", None) or text_config.hidden_size // text_config.num_attention_heads
