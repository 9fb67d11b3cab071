"""NAVSIM scenes → the repository's info records (docs/design.md §4) and PDM scene files.

``create_navsim_infos(data_root, log_folder, scene_filter, out)`` converts the scenes a
NAVSIM scene filter (``scene_filter.py``; e.g. the devkit's ``navtest.yaml`` over the
``test`` logs) selects and writes ``<out>/navsim_infos_<split>.json`` (one record per
token, same schema as the nuScenes records; ``split`` defaults to the filter's file name)
and, unless ``pdms=False``, ``<out>/navsim_pdms_<split>.json`` (``pdms_scenes.py``) so
``tools/eval.py`` can score PDMS. Both files are written only after every token
converted, each atomically. The metadata names the log folder and the filter and holds the
split's planning mode anchors (``onedrive.data.plan_anchors``).

Differences from the nuScenes records (NAVSIM is planning-only):

* ``ego_fut_traj`` is 8 × 3 ``(x, y, heading)`` (4 s at 2 Hz, current rear-axle frame),
  ``ego_fut_mask`` 8 ones, ``fut_valid`` True; ``gt_fut_traj`` / ``gt_fut_yaw`` /
  ``gt_fut_mask`` cover the same 8 future frames (by ``track_tokens``);
* ``cams`` are the 8 NAVSIM cameras (``CAM_F0, CAM_L0, CAM_L1, CAM_L2, CAM_R0, CAM_R1,
  CAM_R2, CAM_B0``), ``path`` = ``sensor_blobs/<log folder>/<data_path>``, cam2ego =
  lidar2ego · sensor2lidar;
* ``gt_names`` are nuPlan's classes (vehicle, pedestrian, bicycle, traffic_cone,
  barrier, czone_sign, generic_object), velocities rotated from the lidar into the ego
  frame; ``gt_attributes`` empty strings, ``gt_visibility`` / ``gt_num_lidar_pts`` /
  ``gt_num_radar_pts`` -1 (unknown); ``gt_annotation_tokens`` are NAVSIM's
  ``instance_tokens`` and ``gt_instance_tokens`` its ``track_tokens``;
* ``ego_status_source`` is ``"navsim_log"`` (``scenes.ego_status``); ``ego_history`` the two
  previous history frames' statuses and poses (``scenes.previous_frames``); ``command`` from the
  log's route-based driving command; ``lanes``, ``drivable_area`` and ``qa`` are empty.

A missing or undecodable camera file, a missing map (for the PDM scenes), a wrong pose
count or too few future frames raises ``ValueError`` naming the token.

    python tools/create_data.py navsim --data-root data/navsim --logs test --scene-filter navtest.yaml --out data/navsim/infos
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from onedrive.data.navsim.logs import CAMERA_NAMES, ego2global, lidar2ego
from onedrive.data.navsim.pdms_scenes import check_entry, pdms_entry, write_pdms_scenes
from onedrive.data.navsim.scene_filter import SceneFilter, filter_scenes, load_scene_filter
from onedrive.data.navsim.scenes import (
    NUM_HISTORY,
    NUM_POSES,
    NavsimScene,
    cameras,
    command,
    ego_status,
    future_poses,
    previous_frames,
)
from onedrive.data.plan_anchors import mode_anchors
from onedrive.errors import InputError
from onedrive.info_classes import NAVSIM_CLASSES
from onedrive.io import write_json_atomic

DEFAULT_BEV_RANGE = (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0)


def _image_size(path: Path, token: str, name: str, verify: bool) -> tuple[int, int]:
    if not path.is_file():
        raise ValueError(f"token {token!r}: camera {name} image {path} does not exist")
    try:
        with Image.open(path) as image:
            size = image.size
            if verify:
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"token {token!r}: camera {name} image {path} cannot be decoded ({error})") from error
    return size


def _boxes(frame: dict, token: str) -> tuple[np.ndarray, list[str], np.ndarray, list[str], list[str]]:
    """Ego-frame boxes (N, 7), names, ego-frame velocities (N, 2), instance and track tokens of a frame."""
    anns = frame.get("anns")
    if anns is None:
        raise ValueError(f"token {token!r}: frame {frame['token']!r} has no 'anns' (annotations)")
    boxes = np.asarray(anns["gt_boxes"], dtype=np.float64).reshape(-1, 7)
    names = [str(name) for name in anns["gt_names"]]
    velocity = np.asarray(anns["gt_velocity_3d"], dtype=np.float64).reshape(-1, 3) @ lidar2ego(frame)[:3, :3].T
    counts = {len(boxes), len(names), len(velocity), len(anns["instance_tokens"]), len(anns["track_tokens"])}
    if len(counts) != 1:
        raise ValueError(
            f"token {token!r}: frame {frame['token']!r} annotations have different lengths {sorted(counts)}"
        )
    return boxes, names, velocity[:, :2], list(anns["instance_tokens"]), list(anns["track_tokens"])


def _agent_futures(scene: NavsimScene, tracks: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each current track's centre (N, 8, 2), yaw (N, 8) and mask (N, 8) over the next 8 frames, current ego frame."""
    global2ego = np.linalg.inv(ego2global(scene.current))
    traj, yaw = np.zeros((len(tracks), NUM_POSES, 2)), np.zeros((len(tracks), NUM_POSES))
    mask = np.zeros((len(tracks), NUM_POSES), dtype=bool)
    row_of = {track: row for row, track in enumerate(tracks)}
    for step, frame in enumerate(scene.frames[NUM_HISTORY : NUM_HISTORY + NUM_POSES]):
        boxes, _, _, _, frame_tracks = _boxes(frame, scene.token)
        to_current = global2ego @ ego2global(frame)  # (4, 4) that frame's ego → current ego
        for index, track in enumerate(frame_tracks):
            if track not in row_of:
                continue
            row = row_of[track]
            traj[row, step] = (to_current[:3, :3] @ boxes[index, :3] + to_current[:3, 3])[:2]
            heading = boxes[index, 6] + np.arctan2(to_current[1, 0], to_current[0, 0])
            yaw[row, step] = np.arctan2(np.sin(heading), np.cos(heading))
            mask[row, step] = True
    return traj, yaw, mask


def scene_record(scene: NavsimScene, log_folder: str, data_root: Path, verify_images: bool = True) -> dict:
    """The info record of one token (module docstring); images under ``sensor_blobs/<log_folder>``."""
    current = scene.current
    poses = future_poses(scene)  # (8, 3)
    cams = {}
    for name, camera in cameras(scene).items():
        relative = f"sensor_blobs/{log_folder}/{camera['data_path']}"
        width, height = _image_size(data_root / relative, scene.token, name, verify_images)
        cams[name] = {
            "path": relative,
            "intrinsics": camera["intrinsics"].tolist(),
            "cam2ego": camera["cam2ego"].tolist(),
            "width": width,
            "height": height,
        }
    boxes, names, velocity, instances, tracks = _boxes(current, scene.token)
    fut_traj, fut_yaw, fut_mask = _agent_futures(scene, tracks)
    count = len(boxes)
    return {
        "token": scene.token,
        "scene_token": current["scene_token"],
        "scene_name": current["log_name"],
        "timestamp": int(current["timestamp"]),
        "location": current["map_location"],
        "ego2global": ego2global(current).tolist(),
        "cams": {name: cams[name] for name in CAMERA_NAMES},
        "ego_status": ego_status(scene).tolist(),
        "ego_status_source": "navsim_log",
        "ego_history": previous_frames(scene).tolist(),
        "gt_boxes": np.concatenate([boxes, velocity], axis=1).tolist(),  # (N, 9)
        "gt_names": names,
        "gt_attributes": [""] * count,
        "gt_instance_tokens": [str(t) for t in tracks],
        "gt_annotation_tokens": [str(t) for t in instances],
        "gt_visibility": [-1] * count,
        "gt_num_lidar_pts": [-1] * count,
        "gt_num_radar_pts": [-1] * count,
        "gt_fut_traj": fut_traj.tolist(),
        "gt_fut_yaw": fut_yaw.tolist(),
        "gt_fut_mask": fut_mask.astype(int).tolist(),
        "ego_fut_traj": poses.tolist(),
        "ego_fut_mask": [1] * NUM_POSES,
        "fut_valid": True,
        "command": command(scene),
        "lanes": [],
        "drivable_area": [],
        "qa": [],
    }


def info_metadata(
    data_root: Path,
    split: str,
    log_folder: str,
    scene_filter: SceneFilter,
    bev_range=DEFAULT_BEV_RANGE,
    lane_points: int = 11,
) -> dict:
    from onedrive import __version__

    return {
        "dataset": "navsim",
        "version": "navsim-v1",
        "data_root": str(data_root),
        "split": split,
        "log_folder": log_folder,
        "scene_filter": scene_filter.source,
        "bev_range": list(bev_range),
        "lane_points": lane_points,
        "classes": list(NAVSIM_CLASSES),
        "created_by": f"onedrive {__version__}",
        "trajectory": "ego_fut_traj: 8 x (x, y, heading), 4 s at 2 Hz, current rear-axle frame",
    }


def create_navsim_infos(
    data_root: str | Path,
    log_folder: str,
    scene_filter: SceneFilter | str | Path,
    out: str | Path,
    split: str | None = None,
    pdms: bool = True,
    verify_images: bool = True,
    progress: bool = True,
) -> list[Path]:
    """Write the info file (and the PDM scene file) of the scenes ``scene_filter`` (a ``SceneFilter`` or a
    filter file) selects from ``<data_root>/navsim_logs/<log_folder>``; returns the written paths."""
    data_root, out = Path(data_root), Path(out)
    if not isinstance(scene_filter, SceneFilter):
        scene_filter = load_scene_filter(scene_filter)
    split = split or scene_filter.name
    scenes = filter_scenes(data_root, log_folder, scene_filter)
    if not scenes:
        raise InputError(
            f"scene filter {scene_filter.source} selects no NAVSIM scene from "
            f"{data_root / 'navsim_logs' / log_folder} (4 history + 10 future frames"
            + (" with a route)" if scene_filter.has_route else ")")
        )
    records, entries, maps = [], {}, {}
    for scene in tqdm(scenes, desc=f"navsim {split}", unit="token", disable=not progress):
        records.append(scene_record(scene, log_folder, data_root, verify_images))
        if pdms:
            entry = pdms_entry(scene)
            check_entry(scene.token, entry, maps, data_root)
            entries[scene.token] = entry
    written = [
        write_json_atomic(
            out / f"navsim_infos_{split}.json",
            {
                "metadata": {**info_metadata(data_root, split, log_folder, scene_filter), **mode_anchors(records)},
                "infos": records,
            },
        )
    ]
    if pdms:
        written.append(write_pdms_scenes(out / f"navsim_pdms_{split}.json", split, data_root, entries))
    return written
