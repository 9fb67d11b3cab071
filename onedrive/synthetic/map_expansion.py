"""The road network as a nuScenes map expansion JSON (``maps/expansion/<location>.json``).

Layout read by nuscenes-devkit's ``NuScenesMap`` (``nuscenes/map_expansion/map_api.py``,
v1.3 maps; facts in docs/reference.md "nuScenes map expansion on disk"): geometric layers ``node``
(x, y in metres), ``line`` and ``polygon`` (exterior + holes), and the semantic layers
pointing at them. Written here:
* ``drivable_area``: one record, the whole road surface (a polygon whose holes are the
  blocks between roads);
* ``road_segment``: each straight road between junctions and each junction area
  (``is_intersection``); ``walkway``: the sidewalks;
* ``lane``: every lane with its rectangle; ``lane_connector``: every junction
  connector with its centerline buffered by half a lane width;
* ``arcline_path_3``: one arcline per lane / connector — straight ``LSR`` with radius
  999.999 and lengths ``[0, L, 0]``, left ``LSL`` / right ``RSR`` quarter turns with
  ``[πR/2, 0, 0]`` — so ``discretize_lanes`` reproduces the lanes exactly;
* ``connectivity``: incoming / outgoing lanes of every lane and connector;
* ``road_divider`` (centre lines) and ``lane_divider`` (dashed dividers) as lines;
  ``road_block``, ``ped_crossing``, ``stop_line``, ``carpark_area`` and
  ``traffic_light`` are empty.
Tokens are the md5 of the element's name, so the file is identical for a given
``RoadConfig``.
"""

from __future__ import annotations

import hashlib

import numpy as np
from shapely.geometry import LineString, Polygon

from onedrive.synthetic.roads import Lane, RoadNetwork

MAP_LOCATION = "boston-seaport"
MAP_VERSION = "1.3"
STRAIGHT_RADIUS = 999.999


def map_token(name: str) -> str:
    return hashlib.md5(f"map/{name}".encode()).hexdigest()


def arcline(lane: Lane) -> dict:
    """nuScenes arcline record of ``lane``."""
    if lane.turn == "straight":
        shape, radius, lengths = "LSR", STRAIGHT_RADIUS, [0.0, lane.length, 0.0]
    else:
        shape, radius, lengths = ("LSL" if lane.turn == "left" else "RSR"), lane.radius, [lane.length, 0.0, 0.0]
    return {
        "start_pose": [float(v) for v in lane.start_pose],
        "end_pose": [float(v) for v in lane.end_pose],
        "shape": shape,
        "radius": float(radius),
        "segment_length": [float(v) for v in lengths],
    }


class _Geometry:
    """Collects node / line / polygon records."""

    def __init__(self) -> None:
        self.nodes: list[dict] = []
        self.lines: list[dict] = []
        self.polygons: list[dict] = []

    def _nodes(self, name: str, coords: np.ndarray) -> list[str]:
        tokens = []
        for i, (x, y) in enumerate(np.asarray(coords)[:, :2]):
            token = map_token(f"{name}/node{i}")
            self.nodes.append({"token": token, "x": round(float(x), 4), "y": round(float(y), 4)})
            tokens.append(token)
        return tokens

    def polygon(self, name: str, polygon: Polygon) -> str:
        if not polygon.is_valid or polygon.is_empty:
            raise ValueError(f"map polygon {name} is not a valid polygon")
        token = map_token(f"{name}/polygon")
        holes = [
            {"node_tokens": self._nodes(f"{name}/hole{i}", np.asarray(ring.coords)[:-1])}
            for i, ring in enumerate(polygon.interiors)
        ]
        exterior = self._nodes(f"{name}/exterior", np.asarray(polygon.exterior.coords)[:-1])
        self.polygons.append({"token": token, "exterior_node_tokens": exterior, "holes": holes})
        return token

    def line(self, name: str, coords: np.ndarray) -> str:
        token = map_token(f"{name}/line")
        self.lines.append({"token": token, "node_tokens": self._nodes(f"{name}/line", coords)})
        return token


def _lane_polygon(lane: Lane) -> Polygon:
    step = lane.length if lane.turn == "straight" else 1.0
    centre = LineString(lane.centerline(step)[:, :2])
    return centre.buffer(lane.width / 2, cap_style="flat", quad_segs=4)


def build_map_expansion(network: RoadNetwork) -> dict:
    """The map expansion dict of ``network`` (see module docstring)."""
    cfg = network.config
    geometry = _Geometry()
    drivable_token = map_token("drivable_area")
    drivable = [{"token": drivable_token, "polygon_tokens": [geometry.polygon("drivable_area", network.drivable)]}]

    road_segments = []
    for seg in network.segments:
        strip = seg.rect(
            cfg.junction_half_size, seg.length - cfg.junction_half_size, -cfg.road_half_width, cfg.road_half_width
        )
        road_segments.append(
            {
                "token": map_token(f"segment/{seg.name}"),
                "polygon_token": geometry.polygon(f"segment/{seg.name}", strip.normalize()),
                "is_intersection": False,
                "drivable_area_token": drivable_token,
            }
        )
    for name, (x, y) in network.junctions.items():
        area = network.drivable.intersection(
            Polygon.from_bounds(
                x - cfg.junction_half_size,
                y - cfg.junction_half_size,
                x + cfg.junction_half_size,
                y + cfg.junction_half_size,
            )
        )
        road_segments.append(
            {
                "token": map_token(f"junction/{name}"),
                "polygon_token": geometry.polygon(f"junction/{name}", area),
                "is_intersection": True,
                "drivable_area_token": drivable_token,
            }
        )

    sidewalks = getattr(network.sidewalk, "geoms", [network.sidewalk])
    walkways = [
        {"token": map_token(f"walkway/{i}"), "polygon_token": geometry.polygon(f"walkway/{i}", poly)}
        for i, poly in enumerate(sidewalks)
    ]

    lanes, connectors, arclines, connectivity = [], [], {}, {}
    for lane in network.lanes.values():
        token = map_token(f"lane/{lane.name}")
        polygon_token = geometry.polygon(f"lane/{lane.name}", _lane_polygon(lane))
        if lane.is_connector:
            connectors.append({"token": token, "polygon_token": polygon_token})
        else:
            lanes.append(
                {
                    "token": token,
                    "polygon_token": polygon_token,
                    "lane_type": "CAR",
                    "from_edge_line_token": None,
                    "to_edge_line_token": None,
                    "left_lane_divider_segments": [],
                    "right_lane_divider_segments": [],
                }
            )
        arclines[token] = [arcline(lane)]
        connectivity[token] = {
            "incoming": [map_token(f"lane/{name}") for name in network.predecessors[lane.name]],
            "outgoing": [map_token(f"lane/{name}") for name in network.successors[lane.name]],
        }

    road_dividers, lane_dividers = [], []
    for seg in network.segments:
        s0, s1 = cfg.junction_half_size, seg.length - cfg.junction_half_size
        road_dividers.append(
            {
                "token": map_token(f"road_divider/{seg.name}"),
                "line_token": geometry.line(f"road_divider/{seg.name}", seg.point(np.array([s0, s1]), 0.0)),
                "road_segment_token": map_token(f"segment/{seg.name}"),
            }
        )
        for k in range(1, cfg.lanes_per_direction):
            for side in (-1, 1):
                name = f"lane_divider/{seg.name}/{k * side}"
                d = side * k * cfg.lane_width
                lane_dividers.append(
                    {
                        "token": map_token(name),
                        "line_token": geometry.line(name, seg.point(np.array([s0, s1]), d)),
                        "lane_divider_segments": [],
                    }
                )

    return {
        "version": MAP_VERSION,
        "canvas_edge": [float(network.canvas_size), float(network.canvas_size)],
        "node": geometry.nodes,
        "line": geometry.lines,
        "polygon": geometry.polygons,
        "drivable_area": drivable,
        "road_segment": road_segments,
        "road_block": [],
        "lane": lanes,
        "ped_crossing": [],
        "walkway": walkways,
        "stop_line": [],
        "carpark_area": [],
        "road_divider": road_dividers,
        "lane_divider": lane_dividers,
        "traffic_light": [],
        "lane_connector": connectors,
        "arcline_path_3": arclines,
        "connectivity": connectivity,
    }
