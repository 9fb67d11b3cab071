"""One nuScenes scene → its info records (``docs/design.md`` §4, "Info files").

``SceneConverter(settings).convert_scene(scene_token, split)`` returns one record per
key frame, in time order. Conventions:

* The key frame's ego pose is the ``LIDAR_TOP`` sample_data's ``ego_pose`` (the pose
  the devkit's detection evaluation uses); ``ego2global`` is that pose.
* ``cams[*].cam2ego`` maps camera coordinates (OpenCV axes) into *this* ego frame:
  ``inverse(ego2global) · ego2global_at_camera_time · cam2ego_calibrated``, so the
  ego motion between the lidar and the camera timestamp (up to ~50 ms) is included
  (mmdet3d's ``obtain_sensor2top`` does the same).
* GT boxes: annotations of the 10 detection classes
  (``nuscenes.eval.detection.utils.category_to_detection_name``), from the devkit's
  ``get_box`` moved into the ego frame; ``[x, y, z, l, w, h, yaw, vx, vy]`` with
  ``l, w, h`` from the annotation's ``w, l, h`` and yaw the heading of the box's length
  axis (the devkit evaluation's ``quaternion_yaw``). Velocity is ``nusc.box_velocity`` rotated into the ego frame; the devkit
  returns NaN when an instance has a single annotation (or its neighbours are more
  than 1.5 s away): such velocities are written as 0. Attribute: the first of the
  annotation's attributes, "" when it has none. Visibility: the integer level token
  (1 = 0-40 % … 4 = 80-100 %).
* Collision obstacles: every annotation of an ``obstacles.OBSTACLE_CATEGORIES``
  category (all ``vehicle.*``, emergency vehicles included), as the reference planning
  metric draws them: ``obstacle_boxes`` ``[x, y, z, l, w, h, yaw]`` in the ego frame,
  ``obstacle_categories`` and their futures ``obstacle_fut_*`` (same rule as ``gt_fut_*``).
* Agent futures, ego future, ``fut_valid`` and the command:
  ``onedrive.data.nuscenes.planning_targets``. Ego status (present and past only):
  ``onedrive.data.nuscenes.ego_status``; ``ego_status_source`` says where it came from
  and ``can_bus_fallback`` why the CAN bus was not used ("" when it was); ``ego_history`` the two
  previous key frames' statuses and poses (``onedrive.data.ego_history``). Lanes: ``lanes``, with
  ``lane_source``: ``"openlane_v2"`` when ``settings.openlane`` names OpenLane-V2 subset_B pickles holding
  the key frame (joined by its ``CAM_FRONT`` timestamp; ``openlane_v2_frame`` is the pickle key;
  ``onedrive.data.nuscenes.openlane``), else ``"nuscenes_map_expansion"`` (``onedrive.data.nuscenes.lanes``).
  Drivable area: ``drivable``. QA: ``qa`` — the planning-trajectory turn first when the 6-step future exists
  (``onedrive.data.planning_text``, OmniDrive's), then the QA source's turns.

Bad data raises an error naming the file or token: a token that points at no record of
its table (a scene's ``first_sample_token`` or ``log_token``, a sample's ``next``, …:
``ValueError`` naming the referring record, the token and the table file), a missing
camera channel, a missing / corrupt image (``check_images``), a missing map expansion
file or a map layer missing from it, a QA folder that does not exist or holds no QA file
(a sample without QA files has no source turns; ``pipeline.convert_splits`` counts them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from pyquaternion import Quaternion

from onedrive.data.ego_history import key_frame_history
from onedrive.data.nuscenes.bev import check_bev_range
from onedrive.data.nuscenes.devkit import load_map, load_nuscenes
from onedrive.data.nuscenes.drivable import drivable_in_bev, drivable_union
from onedrive.data.nuscenes.ego_status import CanBusEgoStatus, ego_status_from_poses
from onedrive.data.nuscenes.geometry import box_in_frame, invert_pose, pose_matrix
from onedrive.data.nuscenes.images import check_image
from onedrive.data.nuscenes.lanes import LaneIndex, lanes_in_bev
from onedrive.data.nuscenes.obstacles import is_obstacle
from onedrive.data.nuscenes.openlane import JOIN_CHANNEL, LANE_SOURCE, MAP_EXPANSION_SOURCE, OpenLaneV2Lanes
from onedrive.data.nuscenes.planning_targets import FUTURE_STEPS, agent_futures, driving_command, ego_future
from onedrive.data.nuscenes.qa import OmniDriveQA, SplitFileQA, split_qa_file
from onedrive.data.planning_text import planning_turn
from onedrive.extras import extra_module
from onedrive.schema import NUSCENES_CAMERAS, NUSCENES_DETECTION_CLASSES

NuScenes = extra_module("nuscenes", "nuscenes").NuScenes
category_to_detection_name = extra_module("nuscenes.eval.detection.utils", "nuscenes").category_to_detection_name

CAMERA_ORDER = NUSCENES_CAMERAS
REFERENCE_CHANNEL = "LIDAR_TOP"
DEFAULT_BEV_RANGE = (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0)


@dataclass(frozen=True)
class ConverterSettings:
    """What a conversion reads and how (picklable: sent to every worker).

    ``can_bus_root``: folder holding ``can_bus/`` (``None``: ego status from past poses).
    ``qa_root``: OmniDrive-nuScenes QA folder (``None``: ``<data_root>/qa/<split>.json``
    when it exists, otherwise no QA).
    ``openlane``: OpenLane-V2 subset_B ``data_dict`` pickles; key frames they hold take their lanes
    from them, the others from the map expansion (empty: every key frame from the map expansion).
    """

    data_root: str
    version: str
    bev_range: tuple[float, ...] = DEFAULT_BEV_RANGE
    lane_points: int = 11
    lane_resolution: float = 0.5
    check_images: bool = True
    can_bus_root: str | None = None
    qa_root: str | None = None
    openlane: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "bev_range", check_bev_range(self.bev_range))
        object.__setattr__(self, "openlane", tuple(os.fspath(path) for path in self.openlane))
        if self.lane_points < 2:
            raise ValueError(f"lane_points must be >= 2, got {self.lane_points}")
        if self.lane_resolution <= 0:
            raise ValueError(f"lane_resolution must be > 0, got {self.lane_resolution}")


class SceneConverter:
    """Holds one ``NuScenes``, the maps it needs (loaded on first use) and the QA / CAN
    readers; converts scenes one at a time."""

    def __init__(self, settings: ConverterSettings, nusc: NuScenes | None = None):
        self.settings = settings
        # OpenLane-V2 pickles first: a bad one stops the run before the tables load (minutes on v1.0-trainval).
        self.openlane_lanes = OpenLaneV2Lanes.load(settings.openlane) if settings.openlane else None
        self.nusc = nusc if nusc is not None else load_nuscenes(settings.data_root, settings.version)
        self.data_root = Path(settings.data_root)
        self.can_bus = CanBusEgoStatus(settings.can_bus_root) if settings.can_bus_root else None
        self._maps: dict = {}
        self._drivable: dict = {}
        self._split_qa: dict[str, SplitFileQA | None] = {}

    @cached_property
    def omnidrive_qa(self) -> OmniDriveQA | None:
        return OmniDriveQA(self.settings.qa_root) if self.settings.qa_root else None

    # ----------------------------------------------------------------- helpers
    def _map(self, location: str, context: str):
        if location not in self._maps:
            nusc_map = load_map(self.data_root, location, context)
            self._maps[location] = LaneIndex(nusc_map, self.settings.lane_resolution)
            self._drivable[location] = drivable_union(nusc_map)
        return self._maps[location], self._drivable[location]

    def _qa_turns(self, sample_token: str, split: str) -> list[dict]:
        if self.omnidrive_qa is not None:
            return self.omnidrive_qa.turns(sample_token)
        if split not in self._split_qa:
            path = split_qa_file(self.data_root, split)
            self._split_qa[split] = SplitFileQA(path) if path.is_file() else None
        source = self._split_qa[split]
        return [] if source is None else source.turns(sample_token)

    def _record(self, table: str, token: str, referrer: str) -> dict:
        """``nusc.get(table, token)``; a token the table does not hold raises ``ValueError`` naming ``referrer``."""
        try:
            return self.nusc.get(table, token)
        except KeyError:
            path = Path(self.settings.data_root) / self.settings.version / f"{table}.json"
            raise ValueError(f"{referrer} points at {table} {token!r}, which {path} does not hold") from None

    def _ego2global(self, sample_data_token: str, referrer: str) -> np.ndarray:
        sample_data = self._record("sample_data", sample_data_token, referrer)
        pose = self._record("ego_pose", sample_data["ego_pose_token"], f"sample_data {sample_data_token}")
        return pose_matrix(pose["translation"], pose["rotation"])

    def _scene_samples(self, scene: dict) -> list[dict]:
        samples, token = [], scene["first_sample_token"]
        referrer = f"scene {scene['name']} ({scene['token']}) first_sample_token"
        while token:
            sample = self._record("sample", token, referrer)
            samples.append(sample)
            token, referrer = sample["next"], f"sample {token} next"
        return samples

    def _reference_pose(self, sample: dict) -> np.ndarray:
        if REFERENCE_CHANNEL not in sample["data"]:
            raise ValueError(
                f"sample {sample['token']} has no {REFERENCE_CHANNEL} sample_data; its ego pose defines the key frame"
            )
        return self._ego2global(sample["data"][REFERENCE_CHANNEL], f"sample {sample['token']} {REFERENCE_CHANNEL}")

    def _cameras(self, sample: dict, global2ego: np.ndarray) -> dict:
        cams = {}
        for channel in CAMERA_ORDER:
            if channel not in sample["data"]:
                raise ValueError(
                    f"sample {sample['token']} has no {channel} camera (it has {sorted(sample['data'])}); "
                    f"every key frame needs {list(CAMERA_ORDER)}"
                )
            sample_data = self._record("sample_data", sample["data"][channel], f"sample {sample['token']} {channel}")
            calibration = self._record(
                "calibrated_sensor", sample_data["calibrated_sensor_token"], f"sample_data {sample_data['token']}"
            )
            check_image(
                self.data_root / sample_data["filename"],
                sample_data["width"],
                sample_data["height"],
                self.settings.check_images,
                sample["token"],
            )
            cam2ego_at_capture = pose_matrix(calibration["translation"], calibration["rotation"])
            cam2ego = (
                global2ego @ self._ego2global(sample_data["token"], f"sample {sample['token']}") @ cam2ego_at_capture
            )
            cams[channel] = {
                "path": sample_data["filename"],
                "intrinsics": np.asarray(calibration["camera_intrinsic"], dtype=np.float64).tolist(),
                "cam2ego": cam2ego.tolist(),
                "width": int(sample_data["width"]),
                "height": int(sample_data["height"]),
            }
        return cams

    def _annotations(self, sample: dict, name_of=category_to_detection_name) -> dict[str, dict]:
        """Annotations of a sample whose category ``name_of`` names (not None), by instance token, in
        ``sample['anns']`` order; the name is kept as ``detection_name`` (default: the detection classes)."""
        result = {}
        for token in sample["anns"]:
            annotation = self._record("sample_annotation", token, f"sample {sample['token']} anns")
            name = name_of(annotation["category_name"])
            if name is None:
                continue
            instance = annotation["instance_token"]
            if instance in result:
                raise ValueError(
                    f"sample {sample['token']}: annotations {result[instance]['token']} and {token} both belong to "
                    f"instance {instance}"
                )
            result[instance] = {**annotation, "detection_name": name}
        return result

    # ------------------------------------------------------------------ scene
    def convert_scene(self, scene_token: str, split: str) -> list[dict]:
        """Info records of every key frame of the scene, in time order."""
        scene = self._record("scene", scene_token, f"the {split} split")
        log = self._record("log", scene["log_token"], f"scene {scene['name']} ({scene_token}) log_token")
        samples = self._scene_samples(scene)  # dangling tokens show before the map is read
        context = f"log {log['token']} ({log.get('logfile', '')}) of scene {scene['name']}"
        lane_index, drivable = self._map(log["location"], context)
        ego2globals = [self._reference_pose(sample) for sample in samples]
        timestamps = [int(sample["timestamp"]) for sample in samples]
        pose_status, pose_sources = ego_status_from_poses(timestamps, ego2globals)  # (S, 6), S
        can_status = (
            self.can_bus.scene_status(scene["name"], timestamps)
            if self.can_bus
            else [(None, "not_requested")] * len(samples)
        )
        annotations = [self._annotations(sample) for sample in samples]
        obstacles = [self._annotations(sample, _obstacle_name) for sample in samples]
        boxes, obstacle_boxes = _global_boxes(annotations), _global_boxes(obstacles)
        records = []
        statuses = []  # (6,) per key frame so far, as its record holds it
        for index, sample in enumerate(samples):
            ego2global = ego2globals[index]
            global2ego = invert_pose(ego2global)
            record = {
                "token": sample["token"],
                "scene_token": scene["token"],
                "scene_name": scene["name"],
                "timestamp": timestamps[index],
                "location": log["location"],
                "ego2global": ego2global.tolist(),
                "cams": self._cameras(sample, global2ego),
            }
            status, fallback = can_status[index]
            record["ego_status"] = (pose_status[index] if status is None else status).tolist()
            record["ego_status_source"] = pose_sources[index] if status is None else "can_bus"
            record["can_bus_fallback"] = fallback
            statuses.append(record["ego_status"])
            record["ego_history"] = key_frame_history(statuses, ego2globals, index).tolist()
            record.update(
                self._ground_truth(annotations[index], boxes[index + 1 : index + 1 + FUTURE_STEPS], global2ego)
            )
            record.update(
                self._obstacles(obstacles[index], obstacle_boxes[index + 1 : index + 1 + FUTURE_STEPS], global2ego)
            )
            trajectory, mask = ego_future(ego2globals, index)
            record["ego_fut_traj"] = trajectory.tolist()
            record["ego_fut_mask"] = mask.astype(int).tolist()
            record["fut_valid"] = bool(mask.all())
            record["command"] = driving_command(trajectory, mask)
            record.update(self._lanes(sample, lane_index, ego2global))
            record["drivable_area"] = drivable_in_bev(drivable, ego2global, self.settings.bev_range)
            planning = planning_turn(record)  # first, as OmniDrive's conversations
            record["qa"] = ([planning] if planning else []) + self._qa_turns(sample["token"], split)
            records.append(record)
        return records

    def _lanes(self, sample: dict, lane_index: LaneIndex, ego2global: np.ndarray) -> dict:
        """``lanes`` (M, P, 3) and ``lane_source`` of a key frame (and ``openlane_v2_frame`` for OpenLane-V2)."""
        points = self.settings.lane_points
        if self.openlane_lanes is not None:
            referrer = f"sample {sample['token']} {JOIN_CHANNEL}"
            if JOIN_CHANNEL not in sample["data"]:
                raise ValueError(f"sample {sample['token']} has no {JOIN_CHANNEL}; OpenLane-V2 frames join by it")
            timestamp = int(self._record("sample_data", sample["data"][JOIN_CHANNEL], referrer)["timestamp"])
            if timestamp in self.openlane_lanes:
                return {
                    "lanes": self.openlane_lanes.lanes(timestamp, points).tolist(),
                    "lane_source": LANE_SOURCE,
                    "openlane_v2_frame": list(self.openlane_lanes.key(timestamp)),
                }
        lanes = lanes_in_bev(lane_index, ego2global, self.settings.bev_range, points)
        return {"lanes": lanes.tolist(), "lane_source": MAP_EXPANSION_SOURCE}

    def _ground_truth(self, annotations: dict[str, dict], future_boxes: list[dict], global2ego: np.ndarray) -> dict:
        nusc = self.nusc
        rows, names, attributes, instances, tokens, visibility, lidar, radar = [], [], [], [], [], [], [], []
        for instance, ann in annotations.items():
            box = nusc.get_box(ann["token"])
            velocity = nusc.box_velocity(ann["token"])
            velocity = np.where(np.isnan(velocity), 0.0, velocity)
            center, yaw, velocity_ego = box_in_frame(box.center, box.orientation, velocity, global2ego)
            width, length, height = box.wlh
            rows.append([*center, length, width, height, yaw, velocity_ego[0], velocity_ego[1]])
            names.append(ann["detection_name"])
            attributes.append(
                self._record("attribute", ann["attribute_tokens"][0], f"sample_annotation {ann['token']}")["name"]
                if ann["attribute_tokens"]
                else ""
            )
            instances.append(instance)
            tokens.append(ann["token"])
            visibility.append(_visibility_level(ann))
            lidar.append(int(ann["num_lidar_pts"]))
            radar.append(int(ann["num_radar_pts"]))
        fut_traj, fut_yaw, fut_mask = agent_futures(instances, future_boxes, global2ego)
        return {
            "gt_boxes": [[float(v) for v in row] for row in rows],
            "gt_names": names,
            "gt_attributes": attributes,
            "gt_instance_tokens": instances,
            "gt_annotation_tokens": tokens,
            "gt_visibility": visibility,
            "gt_num_lidar_pts": lidar,
            "gt_num_radar_pts": radar,
            "gt_fut_traj": fut_traj.tolist(),
            "gt_fut_yaw": fut_yaw.tolist(),
            "gt_fut_mask": fut_mask.astype(int).tolist(),
        }

    def _obstacles(self, annotations: dict[str, dict], future_boxes: list[dict], global2ego: np.ndarray) -> dict:
        rows, categories = [], []
        for ann in annotations.values():
            box = self.nusc.get_box(ann["token"])
            center, yaw, _ = box_in_frame(box.center, box.orientation, np.zeros(3), global2ego)
            width, length, height = box.wlh
            rows.append([float(v) for v in (*center, length, width, height, yaw)])
            categories.append(ann["category_name"])
        fut_traj, fut_yaw, fut_mask = agent_futures(list(annotations), future_boxes, global2ego)
        return {
            "obstacle_boxes": rows,
            "obstacle_categories": categories,
            "obstacle_fut_traj": fut_traj.tolist(),
            "obstacle_fut_yaw": fut_yaw.tolist(),
            "obstacle_fut_mask": fut_mask.astype(int).tolist(),
        }


def _obstacle_name(category: str) -> str | None:
    return category if is_obstacle(category) else None


def _global_boxes(annotations: list[dict[str, dict]]) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per sample, ``{instance: (global centre (3,), rotation (3, 3))}`` of its annotations."""
    return [
        {
            instance: (np.asarray(ann["translation"], dtype=np.float64), Quaternion(ann["rotation"]).rotation_matrix)
            for instance, ann in per_sample.items()
        }
        for per_sample in annotations
    ]


def _visibility_level(annotation: dict) -> int:
    token = annotation["visibility_token"]
    try:
        return int(token)
    except (TypeError, ValueError):
        raise ValueError(
            f"annotation {annotation['token']}: visibility_token {token!r} is not a nuScenes level '1'..'4'"
        ) from None


def info_metadata(settings: ConverterSettings, split: str) -> dict:
    """The info file's ``metadata`` block."""
    from onedrive import __version__

    return {
        "dataset": "nuscenes",
        "version": settings.version,
        "data_root": os.fspath(settings.data_root),
        "split": split,
        "bev_range": list(settings.bev_range),
        "lane_points": settings.lane_points,
        "openlane_v2": list(settings.openlane),
        "classes": list(NUSCENES_DETECTION_CLASSES),
        "created_by": f"onedrive {__version__}",
    }
