"""The world's lane centerlines as OpenLane-V2 subset_B ``data_dict`` pickles.

Writes ``openlane_v2/data_dict_subset_B_train.pkl`` and ``..._val.pkl`` beside the nuScenes tables, in
the layout of the devkit's ``openlanev2.centerline.preprocessing.collect`` (facts in docs/reference.md,
"OpenLane-V2 subset_B on disk"): a dict keyed by ``(split, segment_id, timestamp)`` (strings; the
timestamp is the key frame's ``CAM_FRONT`` timestamp, which in this world is the key-frame timestamp),
each frame holding ``version``, ``segment_id``, ``meta_data`` (``source`` "nuscenes", ``source_id``
the scene name), ``timestamp``, ``sensor`` (each camera's ``extrinsic`` camera → ego rotation /
translation and ``intrinsic`` ``K``; no image paths), ``pose`` (ego → global ``rotation`` (3, 3) and
``translation`` (3,) at the ``CAM_FRONT`` time) and ``annotation``: ``lane_centerline`` (``id``,
``points`` (N, 3) float32 in that ego frame, along travel), ``traffic_element`` [] and the int8
adjacency matrices ``topology_lclc`` (M, M) and ``topology_lcte`` (M, 0).

The lanes are the ones the map expansion describes, computed here from the road network's exact
geometry instead of through the devkit: every lane and junction connector, sampled every 5 cm, moved
into the ego frame, clipped to the BEV rectangle (pieces under 0.5 m dropped, as
``onedrive.data.nuscenes.lanes``) and resampled to 201 points equally spaced along the piece (3D length, the ground being flat); the val
pickle keeps every 20th point (11 per lane), as OpenLane-V2's ``preprocess.py`` does for val / test.
``topology_lclc[i, j]`` is 1 when lane j's road-network lane succeeds lane i's and piece j starts
where piece i ends.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity

from onedrive.data.nuscenes.bev import bev_rectangle, global_to_ego_affine
from onedrive.data.nuscenes.converter import DEFAULT_BEV_RANGE
from onedrive.data.nuscenes.geometry import ground_height_in_ego, invert_pose
from onedrive.data.nuscenes.lanes import clip_polyline
from onedrive.data.nuscenes.openlane import resample_polyline_3d
from onedrive.synthetic.cameras import rotation_z
from onedrive.synthetic.world import Scene, World

OPENLANE_FOLDER = "openlane_v2"
SUBSET = "subset_B"
ANNOTATED_POINTS = 201  # points per centerline in the train pickle
EVAL_POINT_INTERVAL = 20  # val keeps every 20th point → 11 per lane
SAMPLING_STEP = 0.05  # m between samples of the exact lane geometry
MIN_PIECE_LENGTH = 0.5  # m, as lanes_in_bev
TOUCH = 1e-3  # m: piece j starts where piece i ends


def pickle_path(root: str | Path, split: str) -> Path:
    return Path(root) / OPENLANE_FOLDER / f"data_dict_{SUBSET}_{split}.pkl"


def _ego2global(state: np.ndarray) -> np.ndarray:
    """(4, 4) ego → global of an ego state (x, y, yaw, ...) on the flat ground."""
    pose = np.eye(4)
    pose[:3, :3] = rotation_z(float(state[2]))
    pose[:2, 3] = state[:2]
    return pose


def lane_lines(world: World) -> dict[str, shapely.LineString]:
    """Every lane's and connector's centerline (global x, y), sampled every ``SAMPLING_STEP``, by lane name."""
    return {
        name: shapely.LineString(lane.centerline(SAMPLING_STEP)[:, :2])
        for name, lane in sorted(world.network.lanes.items())
    }


def frame_centerlines(
    world: World, lines: dict[str, shapely.LineString], ego2global: np.ndarray, bev_range: Sequence[float]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Centerline pieces inside the BEV range, ego frame, by lane name: ([(201, 3) float64, ...], lclc (M, M) int8)."""
    global2ego = invert_pose(ego2global)
    rectangle = bev_rectangle(bev_range)
    footprint = affinity.affine_transform(rectangle, global_to_ego_affine(ego2global))  # the range on the map
    names = list(lines)
    near = shapely.intersects(np.array([lines[name] for name in names]), footprint)
    affine = global_to_ego_affine(global2ego)
    pieces, owners = [], []
    for name in np.array(names)[near]:
        line = affinity.affine_transform(lines[name], affine)
        for piece in clip_polyline(shapely.get_coordinates(line), rectangle, MIN_PIECE_LENGTH):
            points = np.column_stack([piece, ground_height_in_ego(global2ego, piece)])  # (K, 3)
            pieces.append(resample_polyline_3d(points, ANNOTATED_POINTS) + 0.0)  # (201, 3); + 0.0: no -0.0
            owners.append(str(name))
    topology = np.zeros((len(pieces), len(pieces)), dtype=np.int8)
    for i, first in enumerate(pieces):
        for j, second in enumerate(pieces):
            successor = owners[j] in world.network.successors.get(owners[i], [])
            topology[i, j] = successor and np.linalg.norm(first[-1] - second[0]) < TOUCH
    return pieces, topology


def _frame(world: World, lines: dict, scene: Scene, t: int, bev_range: Sequence[float], point_interval: int) -> dict:
    ego2global = _ego2global(scene.traffic.ego.states[t])
    pieces, topology = frame_centerlines(world, lines, ego2global, bev_range)
    return {
        "version": "v1.0",
        "segment_id": f"{scene.index:05d}",
        "meta_data": {"source": "nuscenes", "source_id": scene.name},
        "timestamp": int(scene.timestamps[t]),
        "sensor": {
            camera.name: {
                "extrinsic": {"rotation": camera.rotation.copy(), "translation": camera.translation.copy()},
                "intrinsic": {"K": camera.intrinsics.copy(), "distortion": np.zeros(5)},
            }
            for camera in world.cameras
        },
        "pose": {"rotation": ego2global[:3, :3].copy(), "translation": ego2global[:3, 3].copy()},
        "annotation": {
            "lane_centerline": [
                {"id": index, "points": points[::point_interval].astype(np.float32)}
                for index, points in enumerate(pieces)
            ],
            "traffic_element": [],
            "topology_lclc": topology,
            "topology_lcte": np.zeros((len(pieces), 0), dtype=np.int8),
        },
    }


def write_openlane_v2(world: World, root: str | Path, bev_range: Sequence[float] = DEFAULT_BEV_RANGE) -> list[Path]:
    """Write one pickle per split of the world under ``root/openlane_v2``; returns their paths."""
    paths, lines = [], lane_lines(world)
    for split in ("train", "val"):
        interval = 1 if split == "train" else EVAL_POINT_INTERVAL
        frames = {
            (split, f"{scene.index:05d}", str(int(scene.timestamps[t]))): _frame(
                world, lines, scene, t, bev_range, interval
            )
            for scene in world.split_scenes(split)
            for t in range(scene.n_frames)
        }
        path = pickle_path(root, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(frames))  # the default protocol, as the devkit's io.pickle_dump
        paths.append(path)
    return paths
