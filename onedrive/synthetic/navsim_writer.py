"""Write a synthetic ``World`` in the NAVSIM v1 / OpenScene on-disk format.

Layout under ``root`` (field names from OpenScene ``DriveEngine/process_data/
create_openscene_metadata.py`` and ``helpers/nuplan_cameras_utils.py``, read by NAVSIM
``navsim/common/dataclasses.py`` / ``dataloader.py``):

    navsim_logs/<logs>/<log_name>.pkl      list of frame dicts at 2 Hz (one log per scene)
    sensor_blobs/<logs>/<log_name>/CAM_*/<token>.jpg       8 rendered cameras per frame
    sensor_blobs/<logs>/<log_name>/MergedPointCloud/<token>.pcd    lidar (binary PCD)
    scene_filters/navtrain.yaml, navtest.yaml   the splits, in the devkit's SceneFilter YAML
    maps/<map_location>.json               the town in the PDM scorer's map format
    synthetic.json                         what was generated, tokens per split

As in NAVSIM, splits are scene filters over log folders (``NAVSIM_SPLITS``): ``navtrain``
(the world's train scenes) over the ``trainval`` logs and ``navtest`` (its val scenes) over
the ``test`` logs; each filter lists its logs and tokens (4 + 10 frames, stride 1, route
required, as the devkit's navtrain / navtest). A
scene of ``samples_per_scene`` tokens is generated with 3 history frames before its
first token and 10 future frames after its last (``NAVSIM_PADDING``), so that every
token has the 4 history (incl. current) + 10 future frames of a NAVSIM v1 scene
(``SceneFilter(num_history_frames=4, num_future_frames=10, frame_interval=1)``).

Each frame dict holds ``token, frame_idx, timestamp (µs), log_name, log_token,
scene_name, scene_token, map_location, roadblock_ids, vehicle_name, lidar_path,
lidar2ego_translation, lidar2ego_rotation (w, x, y, z), ego2global_translation,
ego2global_rotation (w, x, y, z), ego_dynamic_state [vx, vy, ax, ay] (ego frame),
traffic_lights ([]), driving_command, cams, sample_prev, sample_next, ego2global,
lidar2ego, lidar2global (4 × 4), anns``. Conventions of the synthetic logs:

* ``cams[CAM_*]``: ``data_path`` (relative to ``sensor_blobs/<logs>``),
  ``sensor2lidar_rotation`` (3 × 3), ``sensor2lidar_translation`` (3,),
  ``cam_intrinsic`` (3 × 3), ``distortion`` (5,) zeros; OpenCV camera axes.
* ``anns``: ``gt_boxes`` (N, 7) ``x, y, z, l, w, h, heading`` in the ego frame,
  ``gt_names`` in nuPlan's classes (``NAVSIM_NAMES``: every vehicle class → vehicle,
  motorcycle / bicycle → bicycle, pedestrian, traffic_cone, barrier),
  ``gt_velocity_3d`` (N, 3) in the lidar frame (= ego axes here), ``instance_tokens``
  (per box and frame), ``track_tokens`` (per object, stable over the log). Objects
  within ``ANNOTATION_RANGE`` of the ego are annotated.
* ``roadblock_ids``: the ego's route as a lane chain (each lane / junction connector
  of the synthetic town is its own roadblock); it is also the PDM route of the token.
* ``driving_command``: one-hot ``(left, straight, right, unknown)``, OpenScene's rule
  (``helpers/driving_command.py``): the route centerline point 20 m ahead of the ego's
  projection, in the frame of the projected centerline pose; lateral offset ≥ 2 m →
  left, ≤ −2 m → right, else straight.
* ``ego_dynamic_state``: rear-axle speed along the heading (``vy = 0``), longitudinal
  acceleration and lateral acceleration ``v · yaw rate`` over the ego's integration step
  that ends at the frame (``can_bus.ego_dynamics``: the present and the past only, like a
  vehicle's sensors; the future poses are the planning target).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image
from pyquaternion import Quaternion
from shapely.geometry import LineString, Point

from onedrive.data.navsim.scene_filter import write_scene_filter
from onedrive.evaluation.pdms.map import map_from_dict
from onedrive.synthetic.cameras import lidar2ego, navsim_lidar2ego, navsim_rig, rotation_z
from onedrive.synthetic.can_bus import ego_dynamics
from onedrive.synthetic.lidar import observe
from onedrive.synthetic.nuscenes_writer import ANNOTATION_RANGE, JPEG_QUALITY
from onedrive.synthetic.pdms_map import build_pdms_map
from onedrive.synthetic.render import GroundTexture, Renderer, box_faces
from onedrive.synthetic.traffic import NAVSIM_PARKING_GAP, SUBSTEPS, EgoTrack, navsim_turn_delay
from onedrive.synthetic.world import Scene, World

NAVSIM_SPLITS = {"train": "navtrain", "val": "navtest"}  # world split → scene filter name
NAVSIM_LOG_FOLDERS = {"navtrain": "trainval", "navtest": "test"}  # scene filter → the log folder it selects from
NAVSIM_PADDING = (3, 10)  # frames before the first token / after the last
MAP_LOCATION = "synthetic-town"
VEHICLE_NAME = "synthetic-ego"
COMMAND_DISTANCE, COMMAND_LATERAL = 20.0, 2.0  # metres, OpenScene get_driving_command
NAVSIM_NAMES = {
    "car": "vehicle",
    "truck": "vehicle",
    "bus": "vehicle",
    "trailer": "vehicle",
    "construction_vehicle": "vehicle",
    "pedestrian": "pedestrian",
    "motorcycle": "bicycle",
    "bicycle": "bicycle",
    "traffic_cone": "traffic_cone",
    "barrier": "barrier",
}


def _token(*parts) -> str:
    return hashlib.md5("/".join(str(p) for p in parts).encode()).hexdigest()


def _wxyz(rotation: np.ndarray) -> list[float]:
    return [float(v) for v in Quaternion(matrix=rotation).elements]


def route_command(centerline: LineString, ego_pose: np.ndarray) -> np.ndarray:
    """One-hot (4,) int ``(left, straight, right, unknown)`` of the ego at ``ego_pose`` (x, y, yaw) on a route."""
    progress = centerline.project(Point(ego_pose[0], ego_pose[1]))
    here = np.asarray(centerline.interpolate(progress).coords[0])
    ahead = np.asarray(centerline.interpolate(min(progress + 0.5, centerline.length)).coords[0])
    if np.allclose(ahead, here):  # at the very end: the heading of the last segment
        ahead = here + (here - np.asarray(centerline.interpolate(progress - 0.5).coords[0]))
    heading = np.arctan2(*(ahead - here)[::-1])
    target = np.asarray(centerline.interpolate(progress + COMMAND_DISTANCE).coords[0]) - here
    lateral = -np.sin(heading) * target[0] + np.cos(heading) * target[1]
    command = np.zeros(4, dtype=np.int64)
    command[0 if lateral >= COMMAND_LATERAL else 2 if lateral <= -COMMAND_LATERAL else 1] = 1
    return command


def dynamic_state(ego: EgoTrack) -> np.ndarray:
    """(T, 4) ``[vx, vy, ax, ay]`` at each frame, in its ego frame (``can_bus.ego_dynamics``)."""
    speed, longitudinal, lateral, _ = ego_dynamics(ego)[::SUBSTEPS].T  # (T,) each
    return np.stack([speed, np.zeros_like(speed), longitudinal, lateral], axis=1)


def write_pcd(points: np.ndarray) -> bytes:
    """Binary PCD (v0.7) of points (P, 6) float32 ``x, y, z, intensity, ring, lidar_id``."""
    points = np.ascontiguousarray(points, dtype=np.float32)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        "FIELDS x y z intensity ring lidar_info\nSIZE 4 4 4 4 4 4\nTYPE F F F F F F\nCOUNT 1 1 1 1 1 1\n"
        f"WIDTH {len(points)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(points)}\nDATA binary\n"
    )
    return header.encode("ascii") + points.tobytes()


class NavsimWriter:
    """Writes one world (generated with ``padding=NAVSIM_PADDING, parking_gap=NAVSIM_PARKING_GAP, turn_delay=navsim_turn_delay(samples_per_scene)``) under ``root``."""

    def __init__(self, world: World, root: Path) -> None:
        if (
            any(scene.first_key != NAVSIM_PADDING[0] for scene in world.scenes)
            or world.parking_gap != NAVSIM_PARKING_GAP
            or tuple(world.turn_delay) != navsim_turn_delay(world.config.samples_per_scene)
        ):
            raise ValueError(
                f"NAVSIM logs need worlds generated with padding={NAVSIM_PADDING}, "
                f"parking_gap={NAVSIM_PARKING_GAP} and turn_delay=navsim_turn_delay(samples_per_scene) (traffic.py)"
            )
        self.world, self.root = world, Path(root)
        self.cameras = navsim_rig(*world.config.image_size)
        self.renderer = Renderer(world.network, self.cameras, GroundTexture(world.network))
        self.lidar2ego = navsim_lidar2ego()
        self.tokens: dict[str, list[str]] = {split: [] for split in NAVSIM_SPLITS.values()}
        self.logs: dict[str, list[str]] = {split: [] for split in NAVSIM_SPLITS.values()}

    def write(self, progress=None) -> None:
        pdms_map = build_pdms_map(self.world.network)
        map_from_dict(pdms_map, f"synthetic map {MAP_LOCATION}")  # the scorer's own validation
        _write_json(self.root / "maps" / f"{MAP_LOCATION}.json", pdms_map)
        for scene in self.world.scenes:
            self._log(scene, progress)
        filters = {}
        for split, tokens in self.tokens.items():
            filters[split] = f"scene_filters/{split}.yaml"
            write_scene_filter(self.root / filters[split], self.logs[split], tokens)
        cfg = self.world.config
        _write_json(
            self.root / "synthetic.json",
            {
                "generator": "onedrive.synthetic",
                "format": "navsim",
                "map_location": MAP_LOCATION,
                "map": f"maps/{MAP_LOCATION}.json",
                "splits": NAVSIM_SPLITS,
                "log_folders": NAVSIM_LOG_FOLDERS,
                "scene_filters": filters,
                "tokens": self.tokens,
                "seed": cfg.seed,
                "samples_per_scene": cfg.samples_per_scene,
                "padding": list(NAVSIM_PADDING),
                "image_size": list(cfg.image_size),
                "cameras": [camera.name for camera in self.cameras],
            },
        )

    def _log(self, scene: Scene, progress) -> None:
        cfg = self.world.config
        split = NAVSIM_SPLITS[scene.split]
        folder = NAVSIM_LOG_FOLDERS[split]
        log_name = f"synthetic-{cfg.seed}-{scene.name}"
        traffic = scene.traffic
        route = traffic.ego.route
        points = np.concatenate([lane.centerline(0.5)[:, :2] for lane in route.lanes])  # (K, 2)
        keep = np.concatenate([[True], np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-9])
        centerline = LineString(points[keep])  # lanes share their end points: drop the repeats
        dynamics = dynamic_state(traffic.ego)  # (T, 4)
        tokens = [_token(cfg.seed, "frame", scene.name, t) for t in range(scene.n_frames)]
        frames = []
        for t in range(scene.n_frames):
            frames.append(self._frame(scene, t, folder, log_name, tokens, centerline, dynamics[t]))
            if progress is not None:
                progress.update(1)
        last_token = scene.n_frames - NAVSIM_PADDING[1]
        self.tokens[split].extend(tokens[scene.first_key : last_token])
        self.logs[split].append(log_name)
        path = self.root / "navsim_logs" / folder / f"{log_name}.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(frames, protocol=pickle.HIGHEST_PROTOCOL))

    def _frame(
        self,
        scene: Scene,
        t: int,
        folder: str,
        log_name: str,
        tokens: list[str],
        centerline: LineString,
        dynamics: np.ndarray,
    ) -> dict:
        cfg, traffic = self.world.config, scene.traffic
        ego = traffic.ego.states[t]  # (4,) x, y, yaw, speed
        token = tokens[t]
        ego2global = np.eye(4)
        ego2global[:3, :3] = rotation_z(float(ego[2]))
        ego2global[:2, 3] = ego[:2]
        boxes = np.array(
            [[*tr.states[t, :2], tr.size_lwh[2] / 2, *tr.size_lwh, tr.states[t, 2]] for tr in traffic.tracks]
        ).reshape(-1, 7)  # (N, 7) map frame
        categories = [track.category for track in traffic.tracks]

        faces = box_faces(boxes)
        cams = {}
        for camera in self.cameras:
            data_path = f"{log_name}/{camera.name}/{token}.jpg"
            buffer = io.BytesIO()
            Image.fromarray(self.renderer.render(camera, ego[:3], boxes, categories, faces)).save(
                buffer, format="JPEG", quality=JPEG_QUALITY
            )
            _write_bytes(self.root / "sensor_blobs" / folder / data_path, buffer.getvalue())
            sensor2lidar = np.linalg.inv(self.lidar2ego) @ camera.cam2ego
            cams[camera.name] = {
                "data_path": data_path,
                "sensor2lidar_rotation": sensor2lidar[:3, :3].copy(),
                "sensor2lidar_translation": sensor2lidar[:3, 3].copy(),
                "cam_intrinsic": camera.intrinsics.copy(),
                "distortion": np.zeros(5),
            }

        rng = np.random.default_rng([cfg.seed, scene.index, t, 1])
        cloud = observe(boxes, categories, ego[:3], rng).points  # (P, 5) nuScenes LIDAR_TOP frame
        to_lidar = np.linalg.inv(self.lidar2ego) @ lidar2ego()  # nuScenes lidar → NAVSIM lidar
        xyz = cloud[:, :3].astype(np.float64) @ to_lidar[:3, :3].T + to_lidar[:3, 3]
        points = np.concatenate([xyz, cloud[:, 3:5], np.zeros((len(cloud), 1))], axis=1)  # (P, 6)
        lidar_path = f"{log_name}/MergedPointCloud/{token}.pcd"
        _write_bytes(self.root / "sensor_blobs" / folder / lidar_path, write_pcd(points))

        keep = np.flatnonzero(np.linalg.norm(boxes[:, :2] - ego[:2], axis=1) <= ANNOTATION_RANGE) if len(boxes) else []
        global2ego = np.linalg.inv(ego2global)
        gt_boxes = np.zeros((len(keep), 7))
        velocity = np.zeros((len(keep), 3))
        for row, i in enumerate(keep):
            track = traffic.tracks[i]
            gt_boxes[row, :3] = global2ego[:3, :3] @ boxes[i, :3] + global2ego[:3, 3]
            gt_boxes[row, 3:6] = boxes[i, 3:6]
            gt_boxes[row, 6] = np.arctan2(np.sin(boxes[i, 6] - ego[2]), np.cos(boxes[i, 6] - ego[2]))
            velocity[row, :2] = global2ego[:2, :2] @ track.velocity[t]  # lidar axes = ego axes
        anns = {
            "gt_boxes": gt_boxes,
            "gt_names": np.array([NAVSIM_NAMES[categories[i]] for i in keep], dtype=object),
            "gt_velocity_3d": velocity,
            "instance_tokens": [_token(cfg.seed, "box", scene.name, traffic.tracks[i].name, t) for i in keep],
            "track_tokens": [_token(cfg.seed, "track", scene.name, traffic.tracks[i].name) for i in keep],
        }
        lidar2global = ego2global @ self.lidar2ego
        return {
            "token": token,
            "frame_idx": t,
            "timestamp": int(scene.timestamps[t]),
            "log_name": log_name,
            "log_token": _token(cfg.seed, "log", scene.name),
            "scene_name": log_name,
            "scene_token": _token(cfg.seed, "scene", scene.name),
            "map_location": MAP_LOCATION,
            "roadblock_ids": [lane.name for lane in traffic.ego.route.lanes],
            "vehicle_name": VEHICLE_NAME,
            "lidar_path": lidar_path,
            "lidar2ego_translation": self.lidar2ego[:3, 3].copy(),
            "lidar2ego_rotation": _wxyz(self.lidar2ego[:3, :3]),
            "ego2global_translation": np.array([ego[0], ego[1], 0.0]),
            "ego2global_rotation": np.array(_wxyz(ego2global[:3, :3])),
            "ego_dynamic_state": [float(v) for v in dynamics],
            "traffic_lights": [],
            "driving_command": route_command(centerline, ego[:3]),
            "cams": cams,
            "sample_prev": tokens[t - 1] if t > 0 else None,
            "sample_next": tokens[t + 1] if t + 1 < len(tokens) else None,
            "ego2global": ego2global,
            "lidar2ego": self.lidar2ego.copy(),
            "lidar2global": lidar2global,
            "anns": anns,
        }


def _write_bytes(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")))


def write_navsim(world: World, root: Path, progress=None) -> None:
    """Write ``world`` (generated with ``padding=NAVSIM_PADDING, parking_gap=NAVSIM_PARKING_GAP, turn_delay=navsim_turn_delay(samples_per_scene)``) under ``root``; ``progress`` ticks per frame."""
    NavsimWriter(world, root).write(progress)
