"""Open-loop planning metrics on nuScenes: L2, collision and boundary, in two conventions.

Reference code (read through, not copied):

* NVlabs/OmniDrive ``evaluation/eval_planning.py`` and ``evaluation/planning_utils.py`` — the protocol
  OneDrive reports (it follows NVlabs/BEV-Planner
  ``mmdet3d/models/fbbev/planner_head/metric_stp3.py``, itself derived from ST-P3).
* OpenDriveLab/UniAD ``projects/mmdet3d_plugin/uniad/dense_heads/planning_head_plugin/planning_metrics.py``
  and ``projects/configs/stage2_e2e/base_e2e.py`` (``planning_evaluation_strategy``).

Conventions (T = 6 waypoints at 2 Hz, horizon k ∈ {1, 2, 3} s, i.e. steps 1 … 2k):

* ST-P3 (``plan/...``, what OmniDrive, VAD, BEV-Planner and OneDrive report):
  L2@k = per-sample mean of the per-step Euclidean error over steps 1 … 2k, then mean over samples;
  collision@k = 1 for a sample if the ego box collides at any step ≤ 2k; boundary@k likewise.
* UniAD (``plan/uniad/...``): the per-step value at step 2k alone, mean over samples.
* ``avg`` = mean of the 1 s, 2 s and 3 s values in either convention.
* Samples: only those whose whole 6-step future exists (``fut_valid``) are scored, every one of
  them; the others are counted in ``plan/num_skipped`` (OmniDrive divides by the number of valid
  samples in the same way).

Collision, as in OmniDrive's ``PlanningMetric.evaluate_coll``:

* Obstacles: the info records' ``obstacle_*`` boxes (``onedrive.data.nuscenes.obstacles``: every
  ``vehicle.*`` category — car, motorcycle, bicycle, bus.bendy, bus.rigid, truck, construction,
  ambulance, police, trailer — i.e. OmniDrive's nuScenes category indices 8 … 17, emergency vehicles
  included, at any distance and point count) at their GT future centre and yaw for steps 1 … 6
  (only steps where the agent exists).
* Ego box 4.084 m × 1.85 m whose centre lies ``EGO_CENTRE_OFFSET`` = 0.5 + 0.985793 m ahead of the
  waypoint along the heading; heading from the displacement since the previous waypoint (the origin
  for step 1), set to 0 when that displacement is under 1 m.
* A step whose GT ego box itself collides is not counted (``m2 = ~gt_box_coll`` in the reference).
* Geometry: the reference rasterises obstacles (``cv2.fillPoly``) and the ego footprint (pixel
  centres inside the box, rotated and rounded) on a 0.1 m grid over ±50 m and reports a collision
  when an ego pixel lands on an obstacle pixel. Here the test is exact: ``shapely.intersects`` of the
  two rectangles (touching counts). The two differ by design in two ways:

  - Near contact. Measured against a re-implementation of the reference raster
    (``tests/unit/evaluation/test_collision_raster.py``) on 4,896 random ego/obstacle pairs within
    0.6 m of contact, 413 answers differed, all within 0.24 m of contact: boxes up to 0.237 m apart
    that the raster calls a collision, and overlaps up to 0.221 m deep that it misses (90 % of the
    differences within 0.135 m). Pairs apart or overlapping by more than that agree.
  - Beyond the ±50 m grid. The reference draws only the part of an obstacle inside the grid and
    clamps ego pixels outside it onto the border cells; here both boxes are exact everywhere, so
    a collision beyond 50 m counts here and not there. Only ego boxes reaching past 50 m are
    concerned (a waypoint beyond about 46.5 m ahead, i.e. above 15.5 m/s at 3 s).

Boundary, as in OmniDrive's ``eval_planning.py`` (``get_ego_seg`` + ``get_drivable_area``):

* Ego footprint 4.08 m × 1.85 m (the reference's ``ego_boxes`` there), centre at the waypoint plus
  the *unrotated* offset (0.5 + 0.985793, 0) — the reference adds it in the ego frame before
  drawing — and yaw = direction of travel from the previous waypoint (no 1 m rule). Step 0 is the
  box at (0.5 + 0.985793, 0) with yaw 0.
* Off the drivable area = some part of the footprint inside the ±50 m window is not covered by the
  info's ``drivable_area`` polygons (the reference: a footprint pixel on a non-drivable pixel of the
  map-expansion mask; pixels outside the window are never drawn). Exact geometry instead of the
  0.1 m raster, with the same caveat as above for sub-cell margins.
* boundary@k = 1 when some step 1 … 2k is off the drivable area and step 0 is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from onedrive.errors import InputError
from onedrive.numbers import as_numbers

EGO_LENGTH = 4.084  # m, OmniDrive planning_utils.py (ego_length)
EGO_WIDTH = 1.85  # m
BOUNDARY_EGO_LENGTH = 4.08  # m, OmniDrive eval_planning.py ego_boxes for the drivable-area check
EGO_CENTRE_OFFSET = 0.5 + 0.985793  # m ahead of the waypoint (OmniDrive / BEV-Planner)
HEADING_MIN_STEP = 1.0  # m: shorter displacements keep heading 0 (BEV-Planner / OmniDrive)
EVAL_HALF_RANGE = 50.0  # m: the reference's ±50 m BEV window
HORIZONS_S = (1, 2, 3)
STEPS_PER_SECOND = 2
NUM_STEPS = 6

CONVENTIONS = {
    "plan": (
        "ST-P3 convention (OmniDrive evaluation/eval_planning.py): value at k s = mean over steps 1..2k "
        "(L2) or any over steps 1..2k (collision, boundary); avg = mean of 1/2/3 s; fractions in [0, 1]; "
        "only samples with a valid 6-step future (num_samples), others counted in num_skipped"
    ),
    "plan/uniad": (
        "UniAD convention (planning_metrics.py, planning_evaluation_strategy='uniad'): value at step 2k "
        "alone; same samples and collision checker as plan/"
    ),
    "plan/collision": (
        "ego 4.084 x 1.85 m, centre 1.485793 m ahead of the waypoint along the heading (heading from "
        "consecutive waypoints, 0 under 1 m); GT boxes of every vehicle.* nuScenes category (emergency "
        "vehicles included) at their GT future poses; steps where the GT ego collides are not counted; "
        "exact polygon intersection instead of the reference's 0.1 m raster over +-50 m (answers differ "
        "only within about 0.24 m of contact, and for boxes beyond 50 m)"
    ),
    "plan/boundary": (
        "ego 4.08 x 1.85 m at waypoint + (1.485793, 0), yaw = travel direction; off-road when part of the "
        "footprint inside +-50 m is outside the drivable-area polygons; counted when a step 1..2k is "
        "off-road and step 0 is not"
    ),
}


@dataclass
class PlanningGroundTruth:
    """Everything the planning metrics need from the info records, flattened over agents.

    S samples, T future steps, A agents (obstacles only) over all samples.
    """

    tokens: list[str]  # S sample tokens
    ego_fut_traj: np.ndarray  # (S, T, 2) future rear-axle positions, ego frame of the key frame
    fut_valid: np.ndarray  # (S,) bool, all T future steps exist
    agent_sample: np.ndarray  # (A,) int index into the S samples
    agent_size: np.ndarray  # (A, 2) length, width
    agent_fut_xy: np.ndarray  # (A, T, 2) future centres in the key frame's ego frame
    agent_fut_yaw: np.ndarray  # (A, T) future yaws
    agent_fut_mask: np.ndarray  # (A, T) bool, the agent exists at that step
    drivable: np.ndarray | None  # (S,) shapely geometries (union of drivable polygons), or None

    @classmethod
    def from_infos(cls, records: Sequence[dict], with_drivable: bool = True) -> PlanningGroundTruth:
        """Build from info records (``docs/design.md`` §4: ego_fut_traj, fut_valid, obstacle_*, drivable_area)."""
        tokens, ego, valid, drivable = [], [], [], []
        agent_sample, size, fut_xy, fut_yaw, fut_mask = [], [], [], [], []
        for index, record in enumerate(records):
            token = record["token"]
            tokens.append(token)
            traj = _array(record, "ego_fut_traj", (NUM_STEPS, 2))
            mask = _array(record, "ego_fut_mask", (NUM_STEPS,))
            is_valid = bool(record["fut_valid"])
            if is_valid and not np.all(mask > 0):
                raise ValueError(f"info record {token}: fut_valid is True but ego_fut_mask is {mask.tolist()}")
            ego.append(traj)
            valid.append(is_valid)
            if "obstacle_categories" not in record:
                raise ValueError(
                    f"info record {token}: no 'obstacle_*' keys (the collision obstacles); the info file predates "
                    f"them: re-run tools/create_data.py"
                )
            num = len(record["obstacle_categories"])
            boxes = _array(record, "obstacle_boxes", (num, 7))
            agent_sample.append(np.full(num, index))
            size.append(boxes[:, 3:5])
            fut_xy.append(_array(record, "obstacle_fut_traj", (num, NUM_STEPS, 2)))
            fut_yaw.append(_array(record, "obstacle_fut_yaw", (num, NUM_STEPS)))
            fut_mask.append(_array(record, "obstacle_fut_mask", (num, NUM_STEPS)) > 0)
            if with_drivable:
                drivable.append(drivable_geometry(record))
        return cls(
            tokens=tokens,
            ego_fut_traj=np.asarray(ego, dtype=np.float64).reshape(-1, NUM_STEPS, 2),
            fut_valid=np.asarray(valid, dtype=bool),
            agent_sample=np.concatenate(agent_sample) if agent_sample else np.zeros(0, int),
            agent_size=np.concatenate(size) if size else np.zeros((0, 2)),
            agent_fut_xy=np.concatenate(fut_xy) if fut_xy else np.zeros((0, NUM_STEPS, 2)),
            agent_fut_yaw=np.concatenate(fut_yaw) if fut_yaw else np.zeros((0, NUM_STEPS)),
            agent_fut_mask=np.concatenate(fut_mask) if fut_mask else np.zeros((0, NUM_STEPS), bool),
            drivable=np.asarray(drivable + [None], dtype=object)[:-1] if with_drivable else None,
        )


def _array(record: dict, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in record:
        raise ValueError(f"info record {record.get('token')}: missing key {key!r} needed by the planning metrics")
    try:
        value = as_numbers(record[key])
    except (TypeError, ValueError) as error:
        raise InputError(f"info record {record.get('token')}: {key} must be an array of numbers ({error})") from error
    if value.size == 0 and 0 in shape:
        return value.reshape(shape)
    if value.shape != shape:
        raise ValueError(f"info record {record.get('token')}: {key} has shape {value.shape}, expected {shape}")
    return value


def drivable_geometry(record: dict) -> shapely.Geometry:
    """Union of the record's ``drivable_area`` polygons (ego frame); empty when there are none."""
    if "drivable_area" not in record:
        raise ValueError(f"info record {record.get('token')}: missing key 'drivable_area' needed by plan/boundary")
    polygons = []
    for poly in record["drivable_area"]:
        polygon = shapely.Polygon(poly["exterior"], [hole for hole in poly.get("holes", [])])
        if not polygon.is_valid:
            raise ValueError(
                f"info record {record.get('token')}: drivable_area polygon is invalid "
                f"({shapely.is_valid_reason(polygon)})"
            )
        polygons.append(polygon)
    return shapely.union_all(polygons) if polygons else shapely.Polygon()


def rectangles(
    centre: np.ndarray, yaw: np.ndarray, length: np.ndarray | float, width: np.ndarray | float
) -> np.ndarray:
    """Oriented rectangles as shapely polygons. centre (..., 2), yaw (...) → array (...) of Polygons."""
    half_l = np.broadcast_to(np.asarray(length, dtype=np.float64) / 2, yaw.shape)[..., None]  # (..., 1)
    half_w = np.broadcast_to(np.asarray(width, dtype=np.float64) / 2, yaw.shape)[..., None]
    local_x = np.concatenate([half_l, half_l, -half_l, -half_l], axis=-1)  # (..., 4)
    local_y = np.concatenate([half_w, -half_w, -half_w, half_w], axis=-1)
    cos, sin = np.cos(yaw)[..., None], np.sin(yaw)[..., None]
    corners = np.stack(
        [centre[..., :1] + cos * local_x - sin * local_y, centre[..., 1:2] + sin * local_x + cos * local_y], axis=-1
    )  # (..., 4, 2)
    return shapely.polygons(corners)


def collision_headings(traj: np.ndarray) -> np.ndarray:
    """Ego heading per step for the collision check. traj (S, T, 2) → (S, T).

    Direction of the displacement from the previous waypoint (the origin before step 1); 0 when that
    displacement is shorter than 1 m (BEV-Planner / OmniDrive ``evaluate_single_coll``).
    """
    delta = np.diff(traj, axis=1, prepend=np.zeros_like(traj[:, :1]))  # (S, T, 2)
    heading = np.arctan2(delta[..., 1], delta[..., 0])
    return np.where(np.linalg.norm(delta, axis=-1) < HEADING_MIN_STEP, 0.0, heading)


def travel_directions(traj: np.ndarray) -> np.ndarray:
    """Direction of travel per step (OmniDrive ``append_tangent_directions``). traj (S, T, 2) → (S, T)."""
    delta = np.diff(traj, axis=1, prepend=np.zeros_like(traj[:, :1]))
    return np.arctan2(delta[..., 1], delta[..., 0])


def collision_steps(traj: np.ndarray, gt: PlanningGroundTruth, samples: np.ndarray) -> np.ndarray:
    """Per-step ego/obstacle collisions. traj (S', T, 2) for the sample indices ``samples`` (S',) → (S', T) bool."""
    num, steps = traj.shape[:2]
    heading = collision_headings(traj)  # (S', T)
    centre = traj + EGO_CENTRE_OFFSET * np.stack([np.cos(heading), np.sin(heading)], axis=-1)  # (S', T, 2)
    row_of_sample = np.full(len(gt.tokens), -1)
    row_of_sample[samples] = np.arange(num)
    agent_row = row_of_sample[gt.agent_sample]  # (A,)
    agent_idx, step_idx = np.nonzero(gt.agent_fut_mask & (agent_row >= 0)[:, None])  # pairs (P,)
    rows = agent_row[agent_idx]
    # Cheap pre-filter: rectangles whose circumscribed circles do not meet cannot intersect.
    reach = np.hypot(EGO_LENGTH, EGO_WIDTH) / 2 + np.hypot(*gt.agent_size[agent_idx].T) / 2  # (P,)
    gap = np.linalg.norm(centre[rows, step_idx] - gt.agent_fut_xy[agent_idx, step_idx], axis=-1)
    near = gap <= reach
    agent_idx, step_idx, rows = agent_idx[near], step_idx[near], rows[near]
    ego_boxes = rectangles(centre[rows, step_idx], heading[rows, step_idx], EGO_LENGTH, EGO_WIDTH)
    agent_boxes = rectangles(
        gt.agent_fut_xy[agent_idx, step_idx],
        gt.agent_fut_yaw[agent_idx, step_idx],
        gt.agent_size[agent_idx, 0],
        gt.agent_size[agent_idx, 1],
    )
    hit = shapely.intersects(ego_boxes, agent_boxes)  # (P',)
    collided = np.zeros((num, steps), dtype=bool)
    np.logical_or.at(collided, (rows[hit], step_idx[hit]), True)
    return collided


def offroad_steps(traj: np.ndarray, drivable: np.ndarray) -> np.ndarray:
    """Ego footprint off the drivable area at steps 0 … T. traj (S', T, 2), drivable (S',) → (S', T + 1) bool."""
    num = traj.shape[0]
    centre = np.concatenate([np.zeros((num, 1, 2)), traj], axis=1) + np.array([EGO_CENTRE_OFFSET, 0.0])  # (S', T+1, 2)
    yaw = np.concatenate([np.zeros((num, 1)), travel_directions(traj)], axis=1)  # (S', T+1)
    footprint = rectangles(centre, yaw, BOUNDARY_EGO_LENGTH, EGO_WIDTH)  # (S', T+1)
    window = shapely.box(-EVAL_HALF_RANGE, -EVAL_HALF_RANGE, EVAL_HALF_RANGE, EVAL_HALF_RANGE)
    inside_window = shapely.intersection(footprint, window)
    return ~shapely.covered_by(inside_window, drivable[:, None])


def _validate_trajectories(pred: np.ndarray, gt: PlanningGroundTruth) -> None:
    expected = gt.ego_fut_traj.shape
    if pred.shape != expected:
        raise ValueError(f"predicted trajectories have shape {pred.shape}, expected {expected} (samples, steps, xy)")
    bad = ~np.isfinite(pred).all(axis=(1, 2))
    if bad.any():
        names = [gt.tokens[i] for i in np.flatnonzero(bad)]
        raise ValueError(f"{len(names)} predicted trajectories hold NaN/inf, e.g. {names[:5]}")


def planning_metrics(pred_traj: np.ndarray, gt: PlanningGroundTruth) -> dict[str, float]:
    """L2 / collision / boundary in the ST-P3 (``plan/``) and UniAD (``plan/uniad/``) conventions.

    pred_traj: (S, 6, 2) ego-frame waypoints at 2 Hz, one per ``gt.tokens`` entry (same order).
    Returns fractions in [0, 1] for collision and boundary, metres for L2, plus
    ``plan/num_samples`` (scored) and ``plan/num_skipped`` (no valid 6-step future).
    Raises ValueError on a shape mismatch, NaN/inf, or when no sample has a valid future.
    """
    pred_traj = np.asarray(pred_traj, dtype=np.float64)
    _validate_trajectories(pred_traj, gt)
    samples = np.flatnonzero(gt.fut_valid)  # (S',)
    if samples.size == 0:
        raise ValueError(
            f"none of the {len(gt.tokens)} samples has a valid 6-step future (fut_valid); planning metrics are undefined"
        )
    pred, target = pred_traj[samples], gt.ego_fut_traj[samples]  # (S', T, 2)
    l2 = np.linalg.norm(pred - target, axis=-1)  # (S', T)
    collision = collision_steps(pred, gt, samples) & ~collision_steps(target, gt, samples)  # (S', T)
    metrics: dict[str, float] = {}
    uniad_metrics: dict[str, float] = {}
    for name, per_step in (("l2", l2), ("collision", collision)):
        stp3, uniad = [], []
        for seconds in HORIZONS_S:
            last = seconds * STEPS_PER_SECOND
            window = per_step[:, :last]
            stp3.append(float(window.mean(axis=1).mean()) if name == "l2" else float(window.any(axis=1).mean()))
            uniad.append(float(per_step[:, last - 1].mean()))
            metrics[f"plan/{name}_{seconds}s"] = stp3[-1]
            uniad_metrics[f"plan/uniad/{name}_{seconds}s"] = uniad[-1]
        metrics[f"plan/{name}_avg"] = float(np.mean(stp3))
        uniad_metrics[f"plan/uniad/{name}_avg"] = float(np.mean(uniad))
    if gt.drivable is not None:
        offroad = offroad_steps(pred, gt.drivable[samples])  # (S', T+1)
        values = []
        for seconds in HORIZONS_S:
            last = seconds * STEPS_PER_SECOND
            values.append(float((offroad[:, 1 : last + 1].any(axis=1) & ~offroad[:, 0]).mean()))
            metrics[f"plan/boundary_{seconds}s"] = values[-1]
        metrics["plan/boundary_avg"] = float(np.mean(values))
    metrics.update(uniad_metrics)
    metrics["plan/num_samples"] = int(samples.size)
    metrics["plan/num_skipped"] = int(len(gt.tokens) - samples.size)
    return metrics
