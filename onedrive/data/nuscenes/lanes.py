"""Lane centerlines of the map expansion inside the BEV range, in the ego frame.

Centerlines are the arcline paths of the ``lane`` and ``lane_connector`` layers,
discretised by the devkit (``NuScenesMap.discretize_lanes``, ordered along the
direction of travel), moved into the ego frame, clipped to the BEV rectangle with
shapely, and resampled to ``P`` points equally spaced along their length (P = 11 by
default, as OpenLane-V2 / OmniDrive). A lane that leaves and re-enters the range gives
one centerline per piece. Each lane / connector stays a separate centerline (no
merging along connectivity). z is the height of the map's ground plane (global
z = 0) in the ego frame. Lanes whose record intersects the covering patch but whose
clipped length is under ``min_length`` metres are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely import affinity

from onedrive.data.nuscenes.bev import bev_rectangle, global_patch, global_to_ego_affine
from onedrive.data.nuscenes.geometry import ground_height_in_ego, invert_pose
from onedrive.extras import extra_module

NuScenesMap = extra_module("nuscenes.map_expansion.map_api", "nuscenes").NuScenesMap

LANE_LAYERS = ("lane", "lane_connector")


def resample_polyline(points: np.ndarray, num_points: int) -> np.ndarray:
    """(K, 2) polyline → (num_points, 2) points equally spaced by arc length, same direction."""
    if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != 2:
        raise ValueError(f"expected a polyline of shape (K >= 2, 2), got {points.shape}")
    if num_points < 2:
        raise ValueError(f"num_points must be >= 2, got {num_points}")
    line = shapely.LineString(points)
    distances = np.linspace(0.0, line.length, num_points)
    return shapely.get_coordinates(shapely.line_interpolate_point(line, distances))


def clip_polyline(points: np.ndarray, rectangle: shapely.Polygon, min_length: float) -> list[np.ndarray]:
    """Pieces (each (K, 2)) of a directed polyline inside ``rectangle``, in travel order,
    each pointing the same way as the input."""
    line = shapely.LineString(points)
    clipped = line.intersection(rectangle)
    pieces = [part for part in getattr(clipped, "geoms", [clipped]) if isinstance(part, shapely.LineString)]
    result = []
    for piece in pieces:
        if piece.length < min_length:
            continue
        coords = shapely.get_coordinates(piece)
        if line.project(shapely.Point(coords[0])) > line.project(shapely.Point(coords[-1])):
            coords = coords[::-1]
        result.append((line.project(shapely.Point(coords[0])), coords))
    return [coords for _, coords in sorted(result, key=lambda item: item[0])]


class LaneIndex:
    """Lane and lane-connector polygons of one map in a shapely ``STRtree``, and their
    discretised centerlines, computed once per map.

    Same selection as ``NuScenesMap.get_records_in_patch(..., mode="intersect")`` (a
    record whose polygon intersects the patch), which scans and rebuilds every polygon
    on each call — ~0.1 s per key frame even on a small map.
    """

    def __init__(self, nusc_map: NuScenesMap, resolution: float):
        self.nusc_map = nusc_map
        self.resolution = resolution
        records = [record for layer in LANE_LAYERS for record in getattr(nusc_map, layer)]
        self.tokens = [record["token"] for record in records]
        self.tree = shapely.STRtree([nusc_map.extract_polygon(record["polygon_token"]) for record in records])
        self._centerlines: dict[str, np.ndarray] = {}

    def tokens_in_patch(self, patch: tuple[float, float, float, float]) -> list[str]:
        """Sorted tokens of the lanes / connectors whose polygon intersects the patch."""
        hits = self.tree.query(shapely.box(*patch), predicate="intersects")
        return sorted(self.tokens[i] for i in hits)

    def centerline(self, token: str) -> np.ndarray:
        """(K, 3) devkit discretisation ``x, y, yaw`` (global), ordered along travel."""
        if token not in self._centerlines:
            poses = self.nusc_map.discretize_lanes([token], self.resolution)[token]
            self._centerlines[token] = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
        return self._centerlines[token]


def lanes_in_bev(
    index: LaneIndex,
    ego2global: np.ndarray,
    bev_range: Sequence[float],
    num_points: int,
    min_length: float = 0.5,
) -> np.ndarray:
    """(M, num_points, 3) centerlines inside the BEV range, ego frame; M may be 0.

    Order: lane / connector tokens sorted, pieces of one lane along travel.
    """
    global2ego = invert_pose(ego2global)
    rectangle = bev_rectangle(bev_range)
    affine = global_to_ego_affine(global2ego)
    lanes = []
    for token in index.tokens_in_patch(global_patch(ego2global, bev_range)):
        poses = index.centerline(token)  # (K, 3) x, y, yaw
        if poses.shape[0] < 2:
            continue
        ego_xy = shapely.get_coordinates(affinity.affine_transform(shapely.LineString(poses[:, :2]), affine))
        for piece in clip_polyline(ego_xy, rectangle, min_length):
            xy = resample_polyline(piece, num_points)  # (P, 2)
            lanes.append(np.column_stack([xy, ground_height_in_ego(global2ego, xy)]) + 0.0)  # + 0.0: no -0.0
    if not lanes:
        return np.zeros((0, num_points, 3))
    return np.stack(lanes)
