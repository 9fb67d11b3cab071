"""Road network of the synthetic world: a grid of two-way roads meeting at junctions.

Map frame: x east, y north, metres (the nuScenes map frame). ``grid_nodes`` ×
``grid_nodes`` junctions sit ``block_spacing`` apart; neighbouring junctions are joined
by a straight road segment carrying ``lanes_per_direction`` lanes each way (right-hand
traffic, lane 0 next to the centre line), a shoulder on each side and a sidewalk
beyond. Lanes stop ``junction_half_size`` metres from a junction centre; inside the
junction *connectors* join them: straight through (lane k → lane k), left turns from
the inner lane and right turns from the outer lane, each an exact quarter circle. Every
lane and connector is an arcline (start pose, turn, length, radius) — the same
primitive the nuScenes map expansion stores (``arcline_path_3``) — so the centerlines
written to the map are the ones the traffic drives on.

The drivable area (roads, shoulders, junctions with rounded curbs), the sidewalks and
the painted markings (centre line, dashed lane dividers, edge lines, stop lines) are
shapely geometries, built here once and consumed by the renderer and the map writers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon, box


@dataclass(frozen=True)
class RoadConfig:
    """Sizes of the road grid (metres)."""

    grid_nodes: int = 4
    block_spacing: float = 100.0
    lane_width: float = 3.5
    lanes_per_direction: int = 2
    shoulder_width: float = 3.0
    sidewalk_width: float = 3.0
    junction_half_size: float = 12.0
    margin: float = 40.0
    marking_width: float = 0.2
    dash_length: float = 3.0
    dash_gap: float = 6.0

    def __post_init__(self) -> None:
        if self.grid_nodes < 2:
            raise ValueError(f"grid_nodes must be >= 2 to form a road, got {self.grid_nodes}")
        if self.lanes_per_direction < 1:
            raise ValueError(f"lanes_per_direction must be >= 1, got {self.lanes_per_direction}")
        if self.junction_half_size <= self.road_half_width:
            raise ValueError(
                f"junction_half_size ({self.junction_half_size} m) must exceed the road half width "
                f"({self.road_half_width} m = lanes + shoulder) to leave room for the curbs"
            )
        if self.block_spacing <= 2 * self.junction_half_size + 10.0:
            raise ValueError(
                f"block_spacing ({self.block_spacing} m) leaves no straight road between junctions "
                f"(needs > 2 * junction_half_size + 10 = {2 * self.junction_half_size + 10.0} m)"
            )

    @property
    def road_half_width(self) -> float:
        """Centre line to the outer edge of the shoulder."""
        return self.lanes_per_direction * self.lane_width + self.shoulder_width

    @property
    def canvas_size(self) -> float:
        """Side of the square map, in metres."""
        return 2 * self.margin + (self.grid_nodes - 1) * self.block_spacing


@dataclass(frozen=True)
class Lane:
    """A lane or junction connector: one arcline from ``start_pose`` (x, y, yaw).

    ``turn`` is ``straight``, ``left`` (counter-clockwise quarter circle) or ``right``;
    ``radius`` is the turn radius (``math.inf`` when straight). ``lane_index`` counts
    from the centre line (0 = inner lane).
    """

    name: str
    is_connector: bool
    start_pose: tuple[float, float, float]
    turn: str
    length: float
    radius: float
    width: float
    lane_index: int
    road: str

    @property
    def curvature(self) -> float:
        return {"straight": 0.0, "left": 1.0 / self.radius, "right": -1.0 / self.radius}[self.turn]

    def poses(self, s: np.ndarray) -> np.ndarray:
        """Poses ``(N, 3)`` = (x, y, yaw) at arc lengths ``s`` ``(N,)`` along the lane."""
        s = np.asarray(s, dtype=np.float64)
        x0, y0, yaw0 = self.start_pose
        kappa = self.curvature
        yaw = yaw0 + kappa * s
        if kappa == 0.0:
            x = x0 + s * math.cos(yaw0)
            y = y0 + s * math.sin(yaw0)
        else:
            x = x0 + (np.sin(yaw) - math.sin(yaw0)) / kappa
            y = y0 - (np.cos(yaw) - math.cos(yaw0)) / kappa
        return np.stack([x, y, yaw], axis=-1)

    def centerline(self, step: float = 0.5) -> np.ndarray:
        """Centerline poses ``(N, 3)`` from start to end, at most ``step`` metres apart."""
        count = max(2, int(math.ceil(self.length / step)) + 1)
        return self.poses(np.linspace(0.0, self.length, count))

    @property
    def end_pose(self) -> tuple[float, float, float]:
        x, y, yaw = self.poses(np.array([self.length]))[0]
        return float(x), float(y), float(yaw)


@dataclass(frozen=True)
class RoadSegment:
    """A straight two-way road between junction centres ``start`` and ``end``."""

    name: str
    start: tuple[float, float]
    end: tuple[float, float]
    start_junction: str
    end_junction: str

    @property
    def heading(self) -> float:
        return math.atan2(self.end[1] - self.start[1], self.end[0] - self.start[0])

    @property
    def length(self) -> float:
        return math.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1])

    def point(self, s: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
        """Map points ``(..., 2)`` at ``s`` metres from ``start`` and ``d`` metres to the right."""
        h = self.heading
        s, d = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(d, dtype=np.float64))
        x = self.start[0] + s * math.cos(h) + d * math.sin(h)
        y = self.start[1] + s * math.sin(h) - d * math.cos(h)
        return np.stack([x, y], axis=-1)

    def rect(self, s0: float, s1: float, d0: float, d1: float) -> Polygon:
        """Rectangle between ``s0..s1`` along and ``d0..d1`` to the right of the segment."""
        corners = self.point(np.array([s0, s1, s1, s0]), np.array([d0, d0, d1, d1]))
        return Polygon(corners)


@dataclass
class RoadNetwork:
    """Lanes with connectivity, road segments, junctions and ground geometry."""

    config: RoadConfig
    lanes: dict[str, Lane]
    successors: dict[str, list[str]]
    predecessors: dict[str, list[str]]
    segments: list[RoadSegment]
    junctions: dict[str, tuple[float, float]]
    drivable: Polygon
    sidewalk: shapely.Geometry
    markings: list[Polygon] = field(default_factory=list)

    @property
    def canvas_size(self) -> float:
        return self.config.canvas_size

    def road_lanes(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if not lane.is_connector]


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _road_lanes(cfg: RoadConfig, segment: RoadSegment) -> list[tuple[Lane, str, str]]:
    """The segment's lanes in both directions, each with (from junction, to junction)."""
    out = []
    length = segment.length - 2 * cfg.junction_half_size
    for forward in (True, False):
        for k in range(cfg.lanes_per_direction):
            offset = (k + 0.5) * cfg.lane_width
            if forward:
                x, y = segment.point(cfg.junction_half_size, offset)
                yaw, j_from, j_to = segment.heading, segment.start_junction, segment.end_junction
            else:
                x, y = segment.point(segment.length - cfg.junction_half_size, -offset)
                yaw, j_from, j_to = _wrap(segment.heading + math.pi), segment.end_junction, segment.start_junction
            lane = Lane(
                name=f"{segment.name}:{'f' if forward else 'b'}{k}",
                is_connector=False,
                start_pose=(float(x), float(y), yaw),
                turn="straight",
                length=length,
                radius=math.inf,
                width=cfg.lane_width,
                lane_index=k,
                road=segment.name,
            )
            out.append((lane, j_from, j_to))
    return out


def _connector(cfg: RoadConfig, junction: str, incoming: Lane, outgoing: Lane, fallback: bool) -> Lane | None:
    """The connector from ``incoming`` to ``outgoing`` through ``junction``, if legal.

    Lanes keep their index through a junction. Left turns leave from the inner lane and
    right turns from the outer lane; with ``fallback`` (a lane that would otherwise
    dead-end, e.g. the inner lane at a corner) any lane may turn.
    """
    turn_angle = _wrap(outgoing.start_pose[2] - incoming.start_pose[2])
    n, k = cfg.lanes_per_direction, incoming.lane_index
    J, offset = cfg.junction_half_size, (incoming.lane_index + 0.5) * cfg.lane_width
    if k != outgoing.lane_index:
        return None
    if abs(turn_angle) < 1e-6:
        turn, radius, length = "straight", math.inf, 2 * J
    elif abs(turn_angle - math.pi / 2) < 1e-6 and (k == 0 or fallback):
        turn, radius = "left", J + offset
        length = radius * math.pi / 2
    elif abs(turn_angle + math.pi / 2) < 1e-6 and (k == n - 1 or fallback):
        turn, radius = "right", J - offset
        length = radius * math.pi / 2
    else:
        return None
    return Lane(
        name=f"{junction}:{incoming.name}>{outgoing.name}",
        is_connector=True,
        start_pose=incoming.end_pose,
        turn=turn,
        length=length,
        radius=radius,
        width=cfg.lane_width,
        lane_index=k,
        road=junction,
    )


def _junction_area(cfg: RoadConfig, centre: tuple[float, float], arms: set[tuple[int, int]]) -> Polygon:
    """Junction square plus rounded curb fillets between neighbouring arms."""
    cx, cy = centre
    rh, J = cfg.road_half_width, cfg.junction_half_size
    parts = [box(cx - rh, cy - rh, cx + rh, cy + rh)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            if (sx, 0) in arms and (0, sy) in arms:
                x0, x1 = sorted((cx + sx * rh, cx + sx * J))
                y0, y1 = sorted((cy + sy * rh, cy + sy * J))
                square = box(x0, y0, x1, y1)
                curb = Point(cx + sx * J, cy + sy * J).buffer(J - rh, quad_segs=8)
                parts.append(square.difference(curb))
    return shapely.union_all(parts)


def _markings(cfg: RoadConfig, segment: RoadSegment) -> list[Polygon]:
    """Painted markings of one segment: centre line, dashed dividers, edges, stop lines."""
    J, w, half = cfg.junction_half_size, cfg.lane_width, cfg.marking_width / 2
    s0, s1 = J, segment.length - J
    n = cfg.lanes_per_direction
    out = [segment.rect(s0, s1, -half, half)]
    for side in (-1, 1):
        out.append(segment.rect(s0, s1, side * n * w - half, side * n * w + half))
        for k in range(1, n):
            d = side * k * w
            period = cfg.dash_length + cfg.dash_gap
            for start in np.arange(s0 + cfg.dash_gap / 2, s1 - cfg.dash_length, period):
                out.append(segment.rect(float(start), float(start) + cfg.dash_length, d - half, d + half))
    stop = 2 * cfg.marking_width
    out.append(segment.rect(s1 - 0.5 - stop, s1 - 0.5, 0.0, n * w))  # forward lanes reach end junction
    out.append(segment.rect(s0 + 0.5, s0 + 0.5 + stop, -n * w, 0.0))  # backward lanes reach start junction
    return out


def build_road_network(cfg: RoadConfig | None = None) -> RoadNetwork:
    """Build the grid network described by ``cfg`` (see module docstring)."""
    cfg = cfg or RoadConfig()
    coords = [cfg.margin + i * cfg.block_spacing for i in range(cfg.grid_nodes)]
    junctions = {f"j{i}_{j}": (coords[i], coords[j]) for i in range(cfg.grid_nodes) for j in range(cfg.grid_nodes)}
    segments: list[RoadSegment] = []
    arms: dict[str, set[tuple[int, int]]] = {name: set() for name in junctions}
    for j in range(cfg.grid_nodes):
        for i in range(cfg.grid_nodes - 1):
            segments.append(
                RoadSegment(
                    f"h{j}_{i}", (coords[i], coords[j]), (coords[i + 1], coords[j]), f"j{i}_{j}", f"j{i + 1}_{j}"
                )
            )
            segments.append(
                RoadSegment(
                    f"v{j}_{i}", (coords[j], coords[i]), (coords[j], coords[i + 1]), f"j{j}_{i}", f"j{j}_{i + 1}"
                )
            )
    for seg in segments:
        dx, dy = np.sign(seg.end[0] - seg.start[0]), np.sign(seg.end[1] - seg.start[1])
        arms[seg.start_junction].add((int(dx), int(dy)))
        arms[seg.end_junction].add((int(-dx), int(-dy)))

    lanes: dict[str, Lane] = {}
    incoming: dict[str, list[Lane]] = {name: [] for name in junctions}
    outgoing: dict[str, list[Lane]] = {name: [] for name in junctions}
    for seg in segments:
        for lane, j_from, j_to in _road_lanes(cfg, seg):
            lanes[lane.name] = lane
            outgoing[j_from].append(lane)
            incoming[j_to].append(lane)
    successors: dict[str, list[str]] = {name: [] for name in lanes}
    predecessors: dict[str, list[str]] = {name: [] for name in lanes}
    for junction in junctions:
        for lane_in in incoming[junction]:
            for fallback in (False, True):
                if successors[lane_in.name]:
                    break
                for lane_out in outgoing[junction]:
                    connector = _connector(cfg, junction, lane_in, lane_out, fallback)
                    if connector is None:
                        continue
                    lanes[connector.name] = connector
                    successors[lane_in.name].append(connector.name)
                    predecessors[connector.name] = [lane_in.name]
                    successors[connector.name] = [lane_out.name]
                    predecessors[lane_out.name].append(connector.name)

    rh = cfg.road_half_width
    strips = [LineString([seg.start, seg.end]).buffer(rh, cap_style="flat") for seg in segments]
    areas = [_junction_area(cfg, junctions[name], arms[name]) for name in junctions]
    drivable = shapely.union_all(strips + areas).simplify(1e-6)
    if not isinstance(drivable, Polygon) or not drivable.is_valid:
        raise RuntimeError(f"drivable area must be one valid polygon, got {drivable.geom_type}")
    sidewalk = drivable.buffer(cfg.sidewalk_width, quad_segs=4).difference(drivable)
    markings = [poly for seg in segments for poly in _markings(cfg, seg)]
    return RoadNetwork(cfg, lanes, successors, predecessors, segments, junctions, drivable, sidewalk, markings)
