"""Drivable-area polygons of the map expansion, clipped to the BEV range, ego frame.

The union of a location's ``drivable_area`` polygons is built once per map (shapely
``union_all``; invalid source polygons are repaired with ``make_valid``), then for each
key frame cut to the global patch covering the BEV range (``clip_by_rect``), moved
into the ego frame and intersected with the BEV rectangle. Output polygons are
``{"exterior": (K, 2), "holes": [(K_h, 2), ...]}`` with the exterior
counter-clockwise, holes clockwise, and the closing vertex not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry.polygon import orient

from onedrive.data.nuscenes.bev import bev_rectangle, global_patch, global_to_ego_affine
from onedrive.data.nuscenes.geometry import invert_pose
from onedrive.extras import extra_module

NuScenesMap = extra_module("nuscenes.map_expansion.map_api", "nuscenes").NuScenesMap


def drivable_union(nusc_map: NuScenesMap) -> shapely.Geometry:
    """Union of every ``drivable_area`` polygon of the map (global frame)."""
    polygons = []
    for record in nusc_map.drivable_area:
        for polygon_token in record["polygon_tokens"]:
            polygon = nusc_map.extract_polygon(polygon_token)
            polygons.append(polygon if polygon.is_valid else shapely.make_valid(polygon))
    return shapely.union_all(polygons)


def _polygons_of(geometry: shapely.Geometry) -> list[shapely.Polygon]:
    if isinstance(geometry, shapely.Polygon):
        return [] if geometry.is_empty else [geometry]
    if hasattr(geometry, "geoms"):
        return [polygon for part in geometry.geoms for polygon in _polygons_of(part)]
    return []


def drivable_in_bev(union: shapely.Geometry, ego2global: np.ndarray, bev_range: Sequence[float]) -> list[dict]:
    """Polygons of ``union`` (global) inside the BEV range of the ego pose, ego frame."""
    nearby = shapely.clip_by_rect(union, *global_patch(ego2global, bev_range))
    ego = affinity.affine_transform(nearby, global_to_ego_affine(invert_pose(ego2global)))
    inside = ego.intersection(bev_rectangle(bev_range))
    result = []
    for polygon in _polygons_of(inside):
        polygon = orient(polygon, sign=1.0)
        result.append(
            {
                "exterior": shapely.get_coordinates(polygon.exterior)[:-1].tolist(),
                "holes": [shapely.get_coordinates(ring)[:-1].tolist() for ring in polygon.interiors],
            }
        )
    return result
