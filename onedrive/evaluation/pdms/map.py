"""A small JSON map format for PDM scoring, its loader and the geometry queries the scorer needs.

NAVSIM scores on nuPlan maps (``PDMDrivableMap.from_simulation`` in
``navsim/planning/simulation/planner/pdm_planner/observation/pdm_occupancy_map.py``); those
need the nuPlan map files, so this repository carries the few layers the PDM score reads.

File format (UTF-8 JSON, global frame, metres)::

    {
      "format": "onedrive-pdms-map",
      "version": 1,
      "drivable_areas": [                      # DAC: the ego must stay inside their union
        {"id": "rb_0", "type": "roadblock",    # roadblock | intersection | carpark | drivable_area
         "exterior": [[x, y], ...],            # ≥ 3 points, a valid polygon (not closed again)
         "holes": [[[x, y], ...], ...]}        # optional
      ],
      "lanes": [                               # lanes and lane connectors alike
        {"id": "lane_0",
         "centerline": [[x, y], ...],          # ≥ 2 points, ordered along travel
         "polygon": [[x, y], ...],             # the lane's area (multi-lane test)
         "successors": ["lane_1"],             # ids of lanes this one leads into
         "speed_limit": 13.9,                  # m/s; optional / null → 15 m/s as in NAVSIM
         "roadblock": "rb_0"}                  # optional / null → the lane is its own roadblock
      ],
      "route": ["lane_0", "lane_1"]            # lane ids the ego follows, each a successor of the previous
    }

How the layers are used (sources in ``scorer.py``): drivable polygons of every type count
for drivable-area compliance, ``intersection`` ones also for TTC's "in intersection" rule;
lane polygons give "ego spans several lanes"; the route's centerlines, concatenated, are
the path along which progress is measured and which the reference planner follows.

Differences from NAVSIM v1:

* The route is a list of lane ids. NAVSIM stores roadblock ids, repairs them
  (``route_utils.route_roadblock_correction``) and searches the lane graph from the ego's
  lane with Dijkstra (``abstract_pdm_planner._get_discrete_centerline``); here the
  centerline is the given lanes' centerlines, consecutive duplicate points removed.
* The route's lanes pick the starting lane (its speed limit). "On-route lanes" of the
  driving-direction and traffic-light metrics (EPDMS, ``extended.py``) are, as in NAVSIM,
  every lane of the route lanes' roadblocks (``roadblock``: nuPlan's roadblock or roadblock
  connector the lane belongs to; ``on_route_lanes``).
* Every polygon of the file is used; NAVSIM keeps map objects within 100 m of the ego.
* Lane polygons and drivable polygons are given separately; nuPlan's roadblock
  connectors are not drivable polygons in NAVSIM either (their area comes from
  ``intersection`` polygons).

``load_map`` validates everything and raises ``ValueError`` naming the file and the
problem; ``save_map`` writes atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import shapely
from shapely import STRtree

from onedrive.io import read_json, write_text_atomic

MAP_FORMAT = "onedrive-pdms-map"
MAP_VERSION = 1
DRIVABLE_TYPES = ("roadblock", "intersection", "carpark", "drivable_area")
FALLBACK_SPEED_LIMIT = 15.0  # m/s, BatchIDMPolicy fallback_target_velocity in metric_cache_processor.py


@dataclass(frozen=True)
class DrivableArea:
    """One drivable polygon: exterior (K, 2) and holes [(K_i, 2), ...]."""

    id: str
    type: str
    exterior: np.ndarray
    holes: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class Lane:
    """One lane (or lane connector): centerline (N, 2), polygon (K, 2), successors, speed limit."""

    id: str
    centerline: np.ndarray
    polygon: np.ndarray
    successors: tuple[str, ...] = ()
    speed_limit: float | None = None
    roadblock: str | None = None  # None: the lane is its own roadblock


@dataclass(frozen=True)
class _Geometry:
    """Shapely objects built from the raw arrays (not pickled; rebuilt on first use)."""

    tree: STRtree  # over drivable polygons then lane polygons
    is_drivable: np.ndarray  # (G,) bool
    is_lane: np.ndarray  # (G,) bool
    is_intersection: np.ndarray  # (G,) bool
    lane_polygons: dict  # lane id -> shapely Polygon


@dataclass(frozen=True)
class PDMSMap:
    """Drivable areas, lanes and a route; build with ``load_map`` / ``map_from_dict`` (validated)."""

    drivable_areas: tuple[DrivableArea, ...]
    lanes: Mapping[str, Lane]
    route: tuple[str, ...]
    _geometry: list = field(default_factory=list, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_geometry"] = []
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def with_route(self, route: Sequence[str]) -> PDMSMap:
        """The same map with another route (validated); shares the lane and polygon arrays."""
        _check_route(tuple(route), self.lanes, "route")
        other = replace(self, route=tuple(route))
        other._geometry.extend(self._geometry)
        return other

    # ------------------------------------------------------------------ geometry
    @property
    def geometry(self) -> _Geometry:
        if not self._geometry:
            drivable = [shapely.polygons(area.exterior, holes=list(area.holes) or None) for area in self.drivable_areas]
            lane_ids = list(self.lanes)
            lanes = [shapely.polygons(self.lanes[lane_id].polygon) for lane_id in lane_ids]
            kinds = np.array([0] * len(drivable) + [1] * len(lanes))
            intersection = np.array(
                [area.type == "intersection" for area in self.drivable_areas] + [False] * len(lanes), dtype=bool
            )
            polygons = np.array(drivable + lanes, dtype=object)
            shapely.prepare(polygons)  # fast repeated point-in-polygon tests
            self._geometry.append(
                _Geometry(
                    tree=STRtree(polygons),
                    is_drivable=kinds == 0,
                    is_lane=kinds == 1,
                    is_intersection=intersection,
                    lane_polygons=dict(zip(lane_ids, lanes, strict=True)),
                )
            )
        return self._geometry[0]

    def _points_within(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point index, polygon index) with the point strictly inside the polygon.

        Strict interior as ``shapely.vectorized.contains`` in ``PDMDrivableMap.points_in_polygons``:
        an STRtree bounding-box query, then ``shapely.contains_xy`` on the prepared polygons.
        """
        flat = points.reshape(-1, 2)  # (N, 2)
        tree = self.geometry.tree
        point_idx, poly_idx = tree.query(shapely.points(flat))  # bounding-box candidates, (K,) each
        inside = np.zeros(len(point_idx), dtype=bool)
        for poly in np.unique(poly_idx):
            pick = np.flatnonzero(poly_idx == poly)
            candidates = flat[point_idx[pick]]
            inside[pick] = shapely.contains_xy(tree.geometries[poly], candidates[:, 0], candidates[:, 1])
        return point_idx[inside], poly_idx[inside]

    def ego_area_flags(self, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(multiple_lanes, non_drivable)`` for ego boxes given by their 4 corners.

        corners: (..., 4, 2). Rules of ``PDMScorer._calculate_ego_area`` (pdm_scorer.py):
        several lanes = more than one lane polygon holds a corner and none holds all four;
        non-drivable = some corner lies in no drivable polygon.
        """
        batch_shape = corners.shape[:-2]
        num_boxes = int(np.prod(batch_shape))
        point_idx, poly_idx = self._points_within(corners)
        box_idx = point_idx // 4
        geometry = self.geometry

        lane = geometry.is_lane[poly_idx]
        # corners per (box, lane polygon)
        keys, counts = np.unique(box_idx[lane] * len(geometry.is_lane) + poly_idx[lane], return_counts=True)
        lanes_touched = np.bincount(keys // len(geometry.is_lane), minlength=num_boxes)  # (B,)
        full_lane = np.zeros(num_boxes, dtype=bool)
        full_lane[(keys // len(geometry.is_lane))[counts == 4]] = True
        multiple_lanes = (lanes_touched > 1) & ~full_lane

        corner_on_road = np.zeros(num_boxes * 4, dtype=bool)
        corner_on_road[point_idx[geometry.is_drivable[poly_idx]]] = True
        non_drivable = ~corner_on_road.reshape(num_boxes, 4).all(axis=1)
        return multiple_lanes.reshape(batch_shape), non_drivable.reshape(batch_shape)

    def in_intersection(self, points: np.ndarray) -> np.ndarray:
        """(...,) bool: point strictly inside an ``intersection`` polygon (``PDMDrivableMap.is_in_layer``)."""
        point_idx, poly_idx = self._points_within(points)
        inside = np.zeros(int(np.prod(points.shape[:-1])), dtype=bool)
        inside[point_idx[self.geometry.is_intersection[poly_idx]]] = True
        return inside.reshape(points.shape[:-1])

    def in_lanes(self, points: np.ndarray, lane_ids) -> np.ndarray:
        """(...,) bool: point strictly inside the polygon of one of ``lane_ids`` (``points_in_polygons``)."""
        flat = points.reshape(-1, 2)
        inside = np.zeros(len(flat), dtype=bool)
        for lane_id in lane_ids:
            inside |= shapely.contains_xy(self.geometry.lane_polygons[lane_id], flat[:, 0], flat[:, 1])
        return inside.reshape(points.shape[:-1])

    # ------------------------------------------------------------------ route
    def on_route_lanes(self) -> tuple[str, ...]:
        """Every lane of the route lanes' roadblocks (NAVSIM's ``route_lane_dict``), route lanes first."""
        blocks = {self.lanes[lane_id].roadblock or lane_id for lane_id in self.route}
        others = [
            lane.id
            for lane in self.lanes.values()
            if (lane.roadblock or lane.id) in blocks and lane.id not in self.route
        ]
        return tuple(dict.fromkeys(self.route)) + tuple(others)

    def route_path(self) -> np.ndarray:
        """(K, 3) x, y, heading along the route's centerlines (duplicates removed).

        The heading of a vertex is the direction of the segment leaving it (the last vertex
        keeps the previous one); nuPlan's baseline paths carry equivalent headings.
        """
        points = np.concatenate([self.lanes[lane_id].centerline for lane_id in self.route], axis=0)  # (N, 2)
        keep = np.ones(len(points), dtype=bool)
        keep[1:] = np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-6
        points = points[keep]
        if len(points) < 2:
            raise ValueError(f"route {self.route} has fewer than two distinct centerline points")
        return np.concatenate([points, _vertex_headings(points)[:, None]], axis=1)

    def starting_lane(self, rear_axle: np.ndarray, footprint: shapely.Polygon) -> Lane:
        """The route lane the ego starts on (``AbstractPDMPlanner._get_starting_lane``).

        A route lane whose polygon holds the rear axle, with the smallest heading error to
        its nearest centerline point; otherwise the route lane nearest to the ego footprint.
        """
        geometry = self.geometry
        point = shapely.points(rear_axle[:2])
        best, best_error = None, np.inf
        for lane_id in self.route:
            lane = self.lanes[lane_id]
            if not shapely.intersects(geometry.lane_polygons[lane_id], point):
                continue
            nearest = np.argmin(np.linalg.norm(lane.centerline - rear_axle[:2], axis=1))
            lane_heading = _vertex_headings(lane.centerline)[nearest]
            error = abs(np.arctan2(np.sin(lane_heading - rear_axle[2]), np.cos(lane_heading - rear_axle[2])))
            if error < best_error:
                best, best_error = lane, error
        if best is not None:
            return best
        distances = [shapely.distance(geometry.lane_polygons[lane_id], footprint) for lane_id in self.route]
        return self.lanes[self.route[int(np.argmin(distances))]]


def _vertex_headings(points: np.ndarray) -> np.ndarray:
    """(N,) direction of the segment leaving each vertex of a (N, 2) polyline (last: previous one)."""
    delta = np.diff(points, axis=0)  # (N - 1, 2)
    headings = np.arctan2(delta[:, 1], delta[:, 0])
    return np.append(headings, headings[-1])


# ---------------------------------------------------------------------- loading / saving
def _points(value, what: str, min_points: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be a list of [x, y] points ({error})") from None
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < min_points:
        raise ValueError(f"{what} must be a list of ≥ {min_points} [x, y] points, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or inf")
    return array


def _check_polygon(exterior: np.ndarray, holes: Sequence[np.ndarray], what: str) -> None:
    polygon = shapely.polygons(exterior, holes=list(holes) or None)
    if not shapely.is_valid(polygon) or polygon.area <= 0:
        raise ValueError(f"{what} is not a valid polygon: {shapely.is_valid_reason(polygon)}, area {polygon.area}")


def _check_route(route: tuple[str, ...], lanes: Mapping[str, Lane], what: str) -> None:
    if not route:
        raise ValueError(f"{what} is empty; it needs at least one lane id")
    for index, lane_id in enumerate(route):
        if lane_id not in lanes:
            raise ValueError(f"{what}[{index}] = {lane_id!r} is not a lane id of the map")
        if index and lane_id not in lanes[route[index - 1]].successors:
            raise ValueError(
                f"{what}[{index}] = {lane_id!r} is not a successor of {route[index - 1]!r} "
                f"(successors: {list(lanes[route[index - 1]].successors)})"
            )


def map_from_dict(data: Mapping, source: str = "<dict>") -> PDMSMap:
    """Build and validate a ``PDMSMap`` from the JSON structure; errors name ``source``."""
    try:
        return _map_from_dict(data)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


def _map_from_dict(data: Mapping) -> PDMSMap:
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    if data.get("format") != MAP_FORMAT or data.get("version") != MAP_VERSION:
        raise ValueError(
            f"expected format {MAP_FORMAT!r} version {MAP_VERSION}, got {data.get('format')!r} {data.get('version')!r}"
        )
    missing = [key for key in ("drivable_areas", "lanes", "route") if key not in data]
    if missing:
        raise ValueError(f"missing keys {missing}")

    areas: list[DrivableArea] = []
    for index, item in enumerate(data["drivable_areas"]):
        what = (
            f"drivable_areas[{index}] ({item.get('id')!r})" if isinstance(item, Mapping) else f"drivable_areas[{index}]"
        )
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise ValueError(f"{what} must be an object with a string 'id'")
        if item.get("type") not in DRIVABLE_TYPES:
            raise ValueError(f"{what} has type {item.get('type')!r}, expected one of {DRIVABLE_TYPES}")
        exterior = _points(item.get("exterior"), f"{what} exterior", 3)
        holes = tuple(_points(hole, f"{what} hole {h}", 3) for h, hole in enumerate(item.get("holes", [])))
        _check_polygon(exterior, holes, what)
        areas.append(DrivableArea(item["id"], item["type"], exterior, holes))
    if not areas:
        raise ValueError("drivable_areas is empty")
    if len({area.id for area in areas}) != len(areas):
        raise ValueError("drivable_areas ids are not unique")

    lanes: dict[str, Lane] = {}
    for index, item in enumerate(data["lanes"]):
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise ValueError(f"lanes[{index}] must be an object with a string 'id'")
        what = f"lanes[{index}] ({item['id']!r})"
        if item["id"] in lanes:
            raise ValueError(f"{what}: lane id appears twice")
        centerline = _points(item.get("centerline"), f"{what} centerline", 2)
        polygon = _points(item.get("polygon"), f"{what} polygon", 3)
        _check_polygon(polygon, (), f"{what} polygon")
        successors = item.get("successors", [])
        if not isinstance(successors, list) or not all(isinstance(s, str) for s in successors):
            raise ValueError(f"{what} successors must be a list of lane ids, got {successors!r}")
        speed_limit = item.get("speed_limit")
        if speed_limit is not None and (not isinstance(speed_limit, (int, float)) or not speed_limit > 0):
            raise ValueError(f"{what} speed_limit must be a positive number or null, got {speed_limit!r}")
        roadblock = item.get("roadblock")
        if roadblock is not None and not isinstance(roadblock, str):
            raise ValueError(f"{what} roadblock must be a string id or null, got {roadblock!r}")
        lanes[item["id"]] = Lane(item["id"], centerline, polygon, tuple(successors), speed_limit, roadblock)
    for lane in lanes.values():
        unknown = [s for s in lane.successors if s not in lanes]
        if unknown:
            raise ValueError(f"lane {lane.id!r} has unknown successors {unknown}")

    route = data["route"]
    if not isinstance(route, list) or not all(isinstance(r, str) for r in route):
        raise ValueError(f"route must be a list of lane ids, got {route!r}")
    _check_route(tuple(route), lanes, "route")
    return PDMSMap(tuple(areas), lanes, tuple(route))


def map_to_dict(pdms_map: PDMSMap) -> dict:
    """The JSON structure of ``pdms_map`` (inverse of ``map_from_dict``)."""
    return {
        "format": MAP_FORMAT,
        "version": MAP_VERSION,
        "drivable_areas": [
            {"id": a.id, "type": a.type, "exterior": a.exterior.tolist(), "holes": [h.tolist() for h in a.holes]}
            for a in pdms_map.drivable_areas
        ],
        "lanes": [
            {
                "id": lane.id,
                "centerline": lane.centerline.tolist(),
                "polygon": lane.polygon.tolist(),
                "successors": list(lane.successors),
                "speed_limit": lane.speed_limit,
                "roadblock": lane.roadblock,
            }
            for lane in pdms_map.lanes.values()
        ],
        "route": list(pdms_map.route),
    }


def load_map(path: str | os.PathLike) -> PDMSMap:
    """Read and validate a map file; ``ValueError`` names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: map file not found")
    return map_from_dict(read_json(path), str(path))


def save_map(pdms_map: PDMSMap, path: str | os.PathLike) -> None:
    """Write ``pdms_map`` as JSON atomically (``onedrive.io.write_text_atomic``)."""
    write_text_atomic(path, json.dumps(map_to_dict(pdms_map)))
