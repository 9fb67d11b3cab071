"""Write a synthetic ``World`` in the nuScenes on-disk format (read by nuscenes-devkit 1.2.0).

Layout under ``root`` (schema: nuScenes ``docs/schema_nuscenes.md``, loader
``nuscenes/nuscenes.py``):

    <version>/{attribute,calibrated_sensor,category,ego_pose,instance,log,map,sample,
               sample_annotation,sample_data,scene,sensor,visibility}.json
    <version>/splits.json            custom splits {split name: [scene names]}
    samples/CAM_*/<log>__CAM_*__<timestamp>.jpg     rendered camera images
    samples/LIDAR_TOP/<log>__LIDAR_TOP__<timestamp>.pcd.bin   (N, 5) float32 points
    maps/<map token>.png             drivable-area mask, 0.1 m / pixel, north up
    maps/expansion/boston-seaport.json   map expansion (``map_expansion.py``)
    qa/<split name>.json             QA per sample (``qa.py``)
    can_bus/<scene name>_pose.json   the ego's CAN bus pose messages (``can_bus.py``)
    synthetic.json                   what was generated (config, version, split names)

One log and one set of calibrated sensors per scene, one ``ego_pose`` per
``sample_data``; every sample has the six cameras and LIDAR_TOP as key frames.
Objects within ``ANNOTATION_RANGE`` of the ego are annotated (nuScenes also annotates
boxes the lidar misses: those carry 0 lidar/radar points and the devkit's evaluation
drops them). Tokens are md5 hashes of (seed, names), so the same world gives
byte-identical tables.

Split names: with a version ending in ``trainval`` the devkit's predefined ``train`` /
``val`` splits apply (scene names come from its lists); for any other version (default
``v1.0-synthetic``) the custom splits ``synthetic_train`` / ``synthetic_val`` are read
from ``splits.json`` (devkit >= 1.2, ``nuscenes/utils/splits.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image
from pyquaternion import Quaternion

from onedrive.synthetic.cameras import lidar2ego
from onedrive.synthetic.can_bus import pose_messages
from onedrive.synthetic.classes import OBJECT_CLASSES
from onedrive.synthetic.lidar import observe
from onedrive.synthetic.map_expansion import MAP_LOCATION, build_map_expansion
from onedrive.synthetic.qa import frame_qa
from onedrive.synthetic.render import GroundTexture, Renderer, box_faces
from onedrive.synthetic.world import Scene, World

DEFAULT_VERSION = "v1.0-synthetic"
ANNOTATION_RANGE = 60.0
JPEG_QUALITY = 92
LIDAR_CHANNEL = "LIDAR_TOP"
TABLES = (
    "attribute",
    "calibrated_sensor",
    "category",
    "ego_pose",
    "instance",
    "log",
    "map",
    "sample",
    "sample_annotation",
    "sample_data",
    "scene",
    "sensor",
    "visibility",
)
ATTRIBUTES = {
    "vehicle.moving": "Vehicle is moving.",
    "vehicle.stopped": "Vehicle, with a driver, is not moving.",
    "vehicle.parked": "Vehicle is stationary and has no driver.",
    "cycle.with_rider": "There is someone on the bicycle or motorcycle.",
    "cycle.without_rider": "There is nobody on the bicycle or motorcycle.",
    "pedestrian.moving": "The human is moving.",
    "pedestrian.standing": "The human is standing.",
    "pedestrian.sitting_lying_down": "The human is sitting or lying down.",
}
VISIBILITY = (("1", "v0-40", 0.4), ("2", "v40-60", 0.6), ("3", "v60-80", 0.8), ("4", "v80-100", 1.0))


def split_names(version: str) -> dict[str, str]:
    """The devkit split names of the world's ``train`` / ``val`` scenes under ``version``."""
    if version.endswith("mini") or version.endswith("test"):
        raise ValueError(
            f"version {version!r}: the devkit ties '*-mini' and '*-test' versions to fixed scene lists; "
            "use 'v1.0-synthetic' (custom splits) or 'v1.0-trainval' (predefined train/val)"
        )
    if version.endswith("trainval"):
        return {"train": "train", "val": "val"}
    return {"train": "synthetic_train", "val": "synthetic_val"}


def visibility_token(fraction: float) -> str:
    for token, _, upper in VISIBILITY:
        if fraction <= upper + 1e-9:
            return token
    raise ValueError(f"visibility fraction must be in [0, 1], got {fraction}")


def _quaternion_yaw(yaw: float) -> list[float]:
    return [float(v) for v in Quaternion(axis=[0.0, 0.0, 1.0], angle=float(yaw)).elements]


def _quaternion_matrix(rotation: np.ndarray) -> list[float]:
    return [float(v) for v in Quaternion(matrix=rotation).elements]


class _Tables:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rows: dict[str, list[dict]] = {name: [] for name in TABLES}

    def token(self, *parts) -> str:
        return hashlib.md5("/".join(str(p) for p in (self.seed, *parts)).encode()).hexdigest()

    def add(self, table: str, record: dict) -> dict:
        self.rows[table].append(record)
        return record


def _link(records: list[dict]) -> None:
    for prev, nxt in zip(records[:-1], records[1:]):
        prev["next"], nxt["prev"] = nxt["token"], prev["token"]


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")))


def _static_tables(tables: _Tables, channels: list[str]) -> None:
    for channel in channels:
        modality = "lidar" if channel == LIDAR_CHANNEL else "camera"
        tables.add("sensor", {"token": tables.token("sensor", channel), "channel": channel, "modality": modality})
    for spec in OBJECT_CLASSES.values():
        tables.add(
            "category",
            {
                "token": tables.token("category", spec.category),
                "name": spec.category,
                "description": f"Synthetic {spec.name.replace('_', ' ')}.",
            },
        )
    for name, description in ATTRIBUTES.items():
        tables.add("attribute", {"token": tables.token("attribute", name), "name": name, "description": description})
    for token, level, upper in VISIBILITY:
        tables.add(
            "visibility",
            {"token": token, "level": level, "description": f"visibility of the box is at most {int(upper * 100)} %"},
        )


def _frame_boxes(scene: Scene, t: int) -> np.ndarray:
    """Boxes (N, 7) = x, y, z, l, w, h, yaw (map frame, z = centre) of all tracks at frame t."""
    tracks = scene.traffic.tracks
    if not tracks:
        return np.zeros((0, 7))
    return np.array([[*tr.states[t, :2], tr.size_lwh[2] / 2, *tr.size_lwh, tr.states[t, 2]] for tr in tracks])


class NuScenesWriter:
    """Writes one world; ``write()`` fills ``root`` (an empty directory)."""

    def __init__(self, world: World, root: Path, version: str = DEFAULT_VERSION) -> None:
        self.world, self.root, self.version = world, Path(root), version
        self.splits = split_names(version)
        self.tables = _Tables(world.config.seed)
        self.texture = GroundTexture(world.network)
        self.renderer = Renderer(world.network, world.cameras, self.texture)
        self.channels = [camera.name for camera in world.cameras] + [LIDAR_CHANNEL]
        self.qa: dict[str, dict[str, list]] = {name: {} for name in self.splits.values()}

    def write(self, progress=None) -> None:
        tables = self.tables
        _static_tables(tables, self.channels)
        map_token = tables.token("map", MAP_LOCATION)
        map_record = tables.add(
            "map",
            {"token": map_token, "log_tokens": [], "category": "semantic_prior", "filename": f"maps/{map_token}.png"},
        )
        self._write_maps(map_record["filename"])
        for scene in self.world.scenes:
            log_token = self._scene(scene, progress)
            map_record["log_tokens"].append(log_token)
        for name in TABLES:
            _write_json(self.root / self.version / f"{name}.json", tables.rows[name])
        scenes_by_split = {
            devkit_name: [s.name for s in self.world.split_scenes(split)] for split, devkit_name in self.splits.items()
        }
        _write_json(self.root / self.version / "splits.json", scenes_by_split)
        for name, qa in self.qa.items():
            _write_json(self.root / "qa" / f"{name}.json", qa)
        cfg = self.world.config
        _write_json(
            self.root / "synthetic.json",
            {
                "generator": "onedrive.synthetic",
                "format": "nuscenes",
                "version": self.version,
                "location": MAP_LOCATION,
                "splits": self.splits,
                "scenes": scenes_by_split,
                "seed": cfg.seed,
                "samples_per_scene": cfg.samples_per_scene,
                "image_size": list(cfg.image_size),
            },
        )

    def _write_maps(self, mask_filename: str) -> None:
        mask = np.flipud(self.texture.labels >= 2).astype(np.uint8) * 255  # row 0 = north edge
        path = self.root / mask_filename
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(path)
        _write_json(self.root / "maps" / "expansion" / f"{MAP_LOCATION}.json", build_map_expansion(self.world.network))

    def _calibrated_sensors(self, scene: Scene) -> dict[str, str]:
        tokens = {}
        for camera in self.world.cameras:
            tokens[camera.name] = self.tables.token("calibrated_sensor", scene.name, camera.name)
            self.tables.add(
                "calibrated_sensor",
                {
                    "token": tokens[camera.name],
                    "sensor_token": self.tables.token("sensor", camera.name),
                    "translation": [float(v) for v in camera.translation],
                    "rotation": _quaternion_matrix(camera.rotation),
                    "camera_intrinsic": camera.intrinsics.tolist(),
                },
            )
        tokens[LIDAR_CHANNEL] = self.tables.token("calibrated_sensor", scene.name, LIDAR_CHANNEL)
        lidar = lidar2ego()
        self.tables.add(
            "calibrated_sensor",
            {
                "token": tokens[LIDAR_CHANNEL],
                "sensor_token": self.tables.token("sensor", LIDAR_CHANNEL),
                "translation": [float(v) for v in lidar[:3, 3]],
                "rotation": _quaternion_matrix(lidar[:3, :3]),
                "camera_intrinsic": [],
            },
        )
        return tokens

    def _scene(self, scene: Scene, progress) -> str:
        tables = self.tables
        log_name = f"synthetic-{self.world.config.seed}-{scene.name}"
        log_token = tables.token("log", scene.name)
        tables.add(
            "log",
            {
                "token": log_token,
                "logfile": log_name,
                "vehicle": "synthetic-ego",
                "date_captured": "2018-08-01",
                "location": MAP_LOCATION,
            },
        )
        calibrated = self._calibrated_sensors(scene)
        _write_json(
            self.root / "can_bus" / f"{scene.name}_pose.json",
            pose_messages(scene.traffic.ego, int(scene.timestamps[0])),
        )
        samples = [
            tables.add(
                "sample",
                {
                    "token": tables.token("sample", scene.name, t),
                    "timestamp": int(ts),
                    "prev": "",
                    "next": "",
                    "scene_token": tables.token("scene", scene.name),
                },
            )
            for t, ts in enumerate(scene.timestamps)
        ]
        _link(samples)
        tables.add(
            "scene",
            {
                "token": tables.token("scene", scene.name),
                "log_token": log_token,
                "nbr_samples": len(samples),
                "first_sample_token": samples[0]["token"],
                "last_sample_token": samples[-1]["token"],
                "name": scene.name,
                "description": f"Synthetic grid town, {scene.traffic.maneuver} at the first junction",
            },
        )
        sample_data: dict[str, list[dict]] = {channel: [] for channel in self.channels}
        annotations: dict[int, list[dict]] = {i: [] for i in range(len(scene.traffic.tracks))}
        for t, sample in enumerate(samples):
            self._frame(scene, t, sample, log_name, calibrated, sample_data, annotations)
            if progress is not None:
                progress.update(1)
        for records in sample_data.values():
            _link(records)
        for i, records in annotations.items():
            if not records:
                continue
            _link(records)
            track = scene.traffic.tracks[i]
            category = OBJECT_CLASSES[track.category].category
            tables.add(
                "instance",
                {
                    "token": records[0]["instance_token"],
                    "category_token": tables.token("category", category),
                    "nbr_annotations": len(records),
                    "first_annotation_token": records[0]["token"],
                    "last_annotation_token": records[-1]["token"],
                },
            )
        return log_token

    def _frame(self, scene, t, sample, log_name, calibrated, sample_data, annotations) -> None:
        tables, traffic = self.tables, scene.traffic
        ego = traffic.ego.states[t]
        timestamp = sample["timestamp"]
        boxes = _frame_boxes(scene, t)  # (N, 7)
        categories = [track.category for track in traffic.tracks]
        observation = observe(
            boxes, categories, ego[:3], np.random.default_rng([self.world.config.seed, scene.index, t])
        )
        faces = box_faces(boxes)
        for camera in self.world.cameras:
            image = self.renderer.render(camera, ego[:3], boxes, categories, faces)
            filename = f"samples/{camera.name}/{log_name}__{camera.name}__{timestamp}.jpg"
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
            self._sample_data(
                sample,
                camera.name,
                filename,
                "jpg",
                camera.width,
                camera.height,
                ego,
                calibrated,
                sample_data,
                buffer.getvalue(),
            )
        filename = f"samples/{LIDAR_CHANNEL}/{log_name}__{LIDAR_CHANNEL}__{timestamp}.pcd.bin"
        self._sample_data(
            sample, LIDAR_CHANNEL, filename, "pcd", 0, 0, ego, calibrated, sample_data, observation.points.tobytes()
        )

        distance = np.linalg.norm(boxes[:, :2] - ego[:2], axis=1) if len(boxes) else np.zeros(0)
        annotated = distance <= ANNOTATION_RANGE
        for i in np.flatnonzero(annotated):
            track = traffic.tracks[i]
            attribute = track.attributes[t]
            x, y, z, length, width, height, yaw = boxes[i]
            annotations[i].append(
                tables.add(
                    "sample_annotation",
                    {
                        "token": tables.token("sample_annotation", scene.name, track.name, t),
                        "sample_token": sample["token"],
                        "instance_token": tables.token("instance", scene.name, track.name),
                        "visibility_token": visibility_token(float(observation.visibility[i])),
                        "attribute_tokens": [tables.token("attribute", attribute)] if attribute else [],
                        "translation": [float(x), float(y), float(z)],
                        "size": [float(width), float(length), float(height)],
                        "rotation": _quaternion_yaw(yaw),
                        "prev": "",
                        "next": "",
                        "num_lidar_pts": int(observation.num_lidar_pts[i]),
                        "num_radar_pts": int(observation.num_radar_pts[i]),
                    },
                )
            )
        split = self.splits[scene.split]
        self.qa[split][sample["token"]] = frame_qa(traffic, t, annotated & (observation.num_lidar_pts > 0))

    def _sample_data(
        self, sample, channel, filename, fileformat, width, height, ego, calibrated, sample_data, payload: bytes
    ) -> None:
        tables = self.tables
        path = self.root / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        token = tables.token("sample_data", sample["token"], channel)
        ego_token = tables.token("ego_pose", sample["token"], channel)
        tables.add(
            "ego_pose",
            {
                "token": ego_token,
                "timestamp": sample["timestamp"],
                "rotation": _quaternion_yaw(ego[2]),
                "translation": [float(ego[0]), float(ego[1]), 0.0],
            },
        )
        sample_data[channel].append(
            tables.add(
                "sample_data",
                {
                    "token": token,
                    "sample_token": sample["token"],
                    "ego_pose_token": ego_token,
                    "calibrated_sensor_token": calibrated[channel],
                    "timestamp": sample["timestamp"],
                    "fileformat": fileformat,
                    "is_key_frame": True,
                    "height": height,
                    "width": width,
                    "filename": filename,
                    "prev": "",
                    "next": "",
                },
            )
        )


def write_nuscenes(world: World, root: Path, version: str = DEFAULT_VERSION, progress=None) -> None:
    """Write ``world`` under ``root`` in the nuScenes format; ``progress`` ticks once per sample."""
    NuScenesWriter(world, root, version).write(progress)
