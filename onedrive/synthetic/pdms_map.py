"""The road network in the PDM scorer's JSON map format (``onedrive.evaluation.pdms.map``).

* ``drivable_areas``: every junction square of the drivable area (half size
  ``junction_half_size``, curbs included) as an ``intersection`` polygon, every road
  between junctions as a ``roadblock`` polygon; together they are the drivable area.
* ``lanes``: every lane and junction connector of the network, id = its name in
  ``RoadNetwork.lanes``, centerline sampled every ``CENTERLINE_STEP`` metres, polygon =
  centerline buffered by half the lane width (flat ends), successors as in the network,
  speed limit ``SPEED_LIMIT``, roadblock as in nuPlan: a road lane's is its segment and direction
  (``h0_0:f``), a connector's the junction with the roadblocks it joins (``j1_0:h0_0:f>v1_0:b``).
* ``route``: the format requires one; the shared map file carries the first road lane.
  Every NAVSIM token brings its own route (the ego's lane chain, written as the frame's
  ``roadblock_ids``: in the synthetic town each lane is its own roadblock), which
  replaces it (``PDMSMap.with_route``).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box

from onedrive.synthetic.roads import RoadNetwork

CENTERLINE_STEP = 1.0  # metres
SPEED_LIMIT = 13.9  # m/s (50 km/h)


def _polygons(geometry) -> list[Polygon]:
    parts = getattr(geometry, "geoms", [geometry])
    return [part for part in parts if isinstance(part, Polygon) and part.area > 1e-6]


def _area(identifier: str, kind: str, polygon: Polygon) -> dict:
    polygon = shapely.normalize(polygon)
    return {
        "id": identifier,
        "type": kind,
        "exterior": np.asarray(polygon.exterior.coords)[:-1].tolist(),
        "holes": [np.asarray(ring.coords)[:-1].tolist() for ring in polygon.interiors],
    }


def roadblock_of(lane_name: str) -> str:
    """nuPlan-style roadblock of a synthetic lane name: ``seg:f1`` → ``seg:f``; ``j:a:f1>b:b0`` → ``j:a:f>b:b``."""
    if ">" in lane_name:
        junction, _, joined = lane_name.partition(":")
        incoming, outgoing = joined.split(">")
        return f"{junction}:{roadblock_of(incoming)}>{roadblock_of(outgoing)}"
    return lane_name.rstrip("0123456789")


def build_pdms_map(network: RoadNetwork) -> dict:
    """JSON structure of the PDM map of ``network`` (validate with ``map_from_dict``)."""
    half = network.config.junction_half_size
    squares = {name: box(x - half, y - half, x + half, y + half) for name, (x, y) in network.junctions.items()}
    areas = []
    for name, square in squares.items():
        for k, part in enumerate(_polygons(network.drivable.intersection(square))):
            areas.append(_area(f"intersection/{name}/{k}", "intersection", part))
    roads = network.drivable.difference(shapely.union_all(list(squares.values())))
    for k, part in enumerate(sorted(_polygons(roads), key=lambda p: (round(p.centroid.x, 3), round(p.centroid.y, 3)))):
        areas.append(_area(f"roadblock/{k}", "roadblock", part))

    lanes = []
    for name, lane in network.lanes.items():
        centerline = lane.centerline(CENTERLINE_STEP)[:, :2]  # (N, 2)
        polygon = LineString(centerline).buffer(lane.width / 2, cap_style="flat", quad_segs=4)
        polygon = shapely.normalize(polygon.simplify(0.01))
        lanes.append(
            {
                "id": name,
                "centerline": centerline.tolist(),
                "polygon": np.asarray(polygon.exterior.coords)[:-1].tolist(),
                "successors": list(network.successors[name]),
                "speed_limit": SPEED_LIMIT,
                "roadblock": roadblock_of(name),
            }
        )
    first = network.road_lanes()[0].name
    return {"format": "onedrive-pdms-map", "version": 1, "drivable_areas": areas, "lanes": lanes, "route": [first]}
