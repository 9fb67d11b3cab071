"""Lane-centreline detection metrics: OpenLane-V2 DET_l and F-score, MapTR Chamfer AP.

Reference code (read through, not copied):

* OpenDriveLab/OpenLane-V2 ``openlanev2/centerline/evaluation/evaluate.py`` and ``distance.py``
  (``lane/DET_l``): per sample, a GT × prediction matrix of discrete Fréchet distances (3D points,
  ``similaritymeasures.frechet_dist`` there), each row scaled by max(0.5, 1 − 0.005·d) with d the GT
  lane's smallest point distance to the ego origin; pairs whose equally scaled Chamfer distance is
  not below 3 m keep the placeholder 1024. Greedy matching in confidence order: a prediction is a
  TP if its nearest GT (argmin over GT) is closer than the threshold and not yet taken, else an FP
  (no fall-back to the next GT). 11-point interpolated AP; mean over thresholds {1, 2, 3} m. No GT
  and no prediction in the whole set gives AP 1, as there. Scores are ordered by numpy's default
  ``argsort`` and recall / precision / AP are counted in float32, as there, so tied scores and recalls
  on an 11-point threshold score the same. The ``openlanev2`` package itself does not install next to
  this project (it pins scipy==1.8.0 and ortools==9.2.9972, which have no Python 3.11 build on
  PyPI); on the synthetic world's OpenLane-V2 val frames this code gives the same per-threshold APs
  as its ``evaluate.py`` functions to float32 precision (docs/design.md, "Lanes").
* OpenLane-V2 ``openlanev2/centerline/evaluation/f_score.py`` (``lane/F1``): lanes resampled at
  100 x positions in [−50, 50) m by linear interpolation in x (y and z as functions of x), visible
  where the lane spans that x; per-point distance 1.5 m; a matched pair is a recall/precision hit
  when ≥ 75 % of the visible points are within 1.5 m; the assignment minimises the integer sum of
  point distances — the reference solves it with OR-tools min-cost flow, here with
  ``scipy.optimize.linear_sum_assignment`` on the same integer costs (the same optimum; ties may
  pick a different but equally cheap assignment). Lanes whose x values repeat are interpolated after
  sorting by x and keeping the first point of each repeated x (the reference's ``interp1d`` is
  undefined there).
* hustvl/MapTR ``projects/mmdet3d_plugin/datasets/map_utils/mean_ap.py``, ``tpfp.py``,
  ``tpfp_chamfer.py`` (``lane/chamfer_AP``): GT and predictions resampled to 100 points evenly along
  their length, in BEV (x, y); Chamfer = mean of the two mean nearest-point distances, computed only
  for pairs whose 2 m flat-cap buffers intersect; TP when Chamfer ≤ threshold, greedy in score
  order against each prediction's best GT; area under the PR curve (VOC "area"); mean over
  {0.5, 1.0, 1.5} m. No GT lanes at all gives 0, as MapTR's mAP over classes without GT.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from tqdm import tqdm

FRECHET_THRESHOLDS = (1.0, 2.0, 3.0)
CHAMFER_THRESHOLDS = (0.5, 1.0, 1.5)
NO_MATCH = 1024.0  # OpenLane-V2's placeholder distance for filtered pairs
MAPTR_NUM_POINTS = 100
MAPTR_BUFFER = 2.0  # m, linewidth passed to custom_polyline_score by MapTR's tpfp
F_SCORE_X = np.linspace(-50.0, 50.0, num=100, endpoint=False)
F_SCORE_DIST = 1.5
F_SCORE_RATIO = 0.75

CONVENTIONS = {
    "lane/source": "where the GT lanes come from (info records' lane_source: openlane_v2 = OpenLane-V2 subset_B "
    "lane_centerline annotations, nuscenes_map_expansion = map-expansion lane / connector centerlines; frames per "
    "source when mixed); DET_l compares with "
    "published OpenLane-V2 / OmniDrive numbers only when every frame of the nuScenes val split is openlane_v2",
    "lane/DET_l": "OpenLane-V2 centerline DET_l: relaxed discrete Frechet (3D), Chamfer < 3 m pre-filter, "
    "11-point AP averaged over 1/2/3 m",
    "lane/chamfer_AP": "MapTR Chamfer AP: 100 resampled BEV points, 2 m buffer pre-filter, area AP averaged over "
    "0.5/1.0/1.5 m",
    "lane/F1": "OpenLane-V2 f_score.py at 1.5 m / 75 % of points, assignment by scipy linear_sum_assignment",
}


def _pairwise_chamfer(gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> np.ndarray:
    """Chamfer distances between G GT and Q predicted polylines of any lengths → (G, Q).

    Half the sum of the mean nearest-point distance from prediction to GT and from GT to prediction.
    """
    if not gts or not preds:
        return np.zeros((len(gts), len(preds)))
    gt_len = np.array([len(g) for g in gts])
    pred_len = np.array([len(p) for p in preds])
    gt_start = np.concatenate([[0], np.cumsum(gt_len)[:-1]])
    pred_start = np.concatenate([[0], np.cumsum(pred_len)[:-1]])
    dist = cdist(np.concatenate(gts), np.concatenate(preds))  # (ΣG, ΣQ)
    pred_to_gt = np.minimum.reduceat(dist, gt_start, axis=0)  # (G, ΣQ): each pred point to each GT lane
    gt_to_pred = np.minimum.reduceat(dist, pred_start, axis=1)  # (ΣG, Q)
    mean_pred = np.add.reduceat(pred_to_gt, pred_start, axis=1) / pred_len  # (G, Q)
    mean_gt = np.add.reduceat(gt_to_pred, gt_start, axis=0) / gt_len[:, None]  # (G, Q)
    return (mean_pred + mean_gt) / 2


def discrete_frechet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Discrete Fréchet distance for a batch of curve pairs. a (B, n, D), b (B, m, D) → (B,).

    The Eiter–Mannila recursion, vectorised over the batch (``similaritymeasures.frechet_dist``
    computes the same quantity one pair at a time).
    """
    dist = np.linalg.norm(a[:, :, None] - b[:, None], axis=-1)  # (B, n, m)
    n, m = dist.shape[1:]
    coupling = np.empty_like(dist)
    coupling[:, 0, 0] = dist[:, 0, 0]
    for i in range(1, n):
        coupling[:, i, 0] = np.maximum(coupling[:, i - 1, 0], dist[:, i, 0])
    for j in range(1, m):
        coupling[:, 0, j] = np.maximum(coupling[:, 0, j - 1], dist[:, 0, j])
    for i in range(1, n):
        for j in range(1, m):
            best = np.minimum(np.minimum(coupling[:, i - 1, j], coupling[:, i - 1, j - 1]), coupling[:, i, j - 1])
            coupling[:, i, j] = np.maximum(best, dist[:, i, j])
    return coupling[:, -1, -1]


def openlane_distance_matrix(gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> np.ndarray:
    """OpenLane-V2 relaxed Fréchet matrix (G, Q); NO_MATCH where the relaxed Chamfer is ≥ 3 m."""
    result = np.full((len(gts), len(preds)), NO_MATCH)
    if not gts or not preds:
        return result
    relax = np.array([max(0.5, 1.0 - 5e-3 * np.linalg.norm(g, axis=-1).min()) for g in gts])[:, None]  # (G, 1)
    # distance.chamfer_distance drops a closed GT's repeated last point.
    open_gts = [g[:-1] if len(g) > 1 and np.array_equal(g[0], g[-1]) else g for g in gts]
    keep = _pairwise_chamfer(open_gts, preds) * relax < FRECHET_THRESHOLDS[-1]  # (G, Q)
    gi, qi = np.nonzero(keep)
    shapes = np.array([[len(gts[g]), len(preds[q])] for g, q in zip(gi, qi)]).reshape(-1, 2)
    for shape in {tuple(s) for s in shapes}:
        sel = np.flatnonzero((shapes == shape).all(axis=1))
        frechet = discrete_frechet(np.stack([preds[q] for q in qi[sel]]), np.stack([gts[g] for g in gi[sel]]))
        result[gi[sel], qi[sel]] = frechet * relax[gi[sel], 0]
    return result


def _greedy_tp(dist: np.ndarray, scores: np.ndarray, threshold: float, strict: bool) -> np.ndarray:
    """TP flags (Q,) of greedy matching in score order; each prediction only tries its nearest GT."""
    tp = np.zeros(dist.shape[1], dtype=bool)
    if dist.shape[0] == 0 or dist.shape[1] == 0:
        return tp
    nearest, nearest_dist = dist.argmin(axis=0), dist.min(axis=0)
    taken = np.zeros(dist.shape[0], dtype=bool)
    for q in np.argsort(-scores):  # numpy's default sort, as both references: tied scores keep their order there
        close = nearest_dist[q] < threshold if strict else nearest_dist[q] <= threshold
        if close and not taken[nearest[q]]:
            taken[nearest[q]] = True
            tp[q] = True
    return tp


def _precision_recall(
    tp: np.ndarray, scores: np.ndarray, num_gt: int, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision (Q,) in descending score order, computed in ``dtype``.

    OpenLane-V2 counts in float32, so a recall such as 156 / 520 = 0.3 rounds up to 0.30000001 and passes
    its 11-point threshold ``np.arange(0, 1.001, 0.1)[3]`` = 0.30000000000000004, which the float64 value
    does not: DET_l passes ``np.float32`` to score the same points as the reference.
    """
    order = np.argsort(-scores)
    tps = np.cumsum(tp[order].astype(dtype))
    fps = np.cumsum((~tp[order]).astype(dtype))
    eps = np.finfo(np.float32).eps
    return tps / np.maximum(dtype(num_gt), eps), tps / np.maximum(tps + fps, eps)


def _ap_11_point(recall: np.ndarray, precision: np.ndarray) -> float:
    """11-point interpolated AP, summed in float32 as OpenLane-V2's ``_pr_curve``."""
    total = np.float32(0.0)
    for thr in np.arange(0, 1 + 1e-3, 0.1):
        above = precision[recall >= thr]
        total += above.max() if above.size else np.float32(0.0)
    return float(total / np.float32(11))


def _ap_area(recall: np.ndarray, precision: np.ndarray) -> float:
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def _resample(line: np.ndarray, num: int) -> np.ndarray:
    """Points evenly spaced along the polyline (shapely ``interpolate``), (num, D)."""
    return shapely.get_coordinates(
        shapely.line_interpolate_point(shapely.LineString(line), np.linspace(0, 1, num), normalized=True)
    )


def _chamfer_batch(a: np.ndarray, b: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Chamfer distance of B equally sampled pairs. a (B, n, D), b (B, m, D) → (B,)."""
    out = np.empty(len(a))
    for start in range(0, len(a), chunk):
        x, y = a[start : start + chunk], b[start : start + chunk]
        sq = (x**2).sum(-1)[:, :, None] + (y**2).sum(-1)[:, None, :] - 2 * (x @ y.transpose(0, 2, 1))
        dist = np.sqrt(np.maximum(sq, 0.0))  # (b, n, m)
        out[start : start + chunk] = (dist.min(axis=2).mean(axis=1) + dist.min(axis=1).mean(axis=1)) / 2
    return out


def _maptr_score_matrix(gts: list[np.ndarray], preds: list[np.ndarray]) -> np.ndarray:
    """Chamfer distances (G, Q) of 2D resampled lines; inf where the 2 m buffers do not intersect."""
    result = np.full((len(gts), len(preds)), np.inf)
    if not gts or not preds:
        return result
    cap, join = shapely.BufferCapStyle.flat, shapely.BufferJoinStyle.mitre
    gt_buf = shapely.buffer(shapely.linestrings(np.stack(gts)), MAPTR_BUFFER, cap_style=cap, join_style=join)
    pred_buf = shapely.buffer(shapely.linestrings(np.stack(preds)), MAPTR_BUFFER, cap_style=cap, join_style=join)
    gi, qi = np.nonzero(shapely.intersects(gt_buf[:, None], pred_buf[None, :]))  # candidate pairs
    if gi.size:
        result[gi, qi] = _chamfer_batch(np.stack(gts)[gi], np.stack(preds)[qi])
    return result


def _f_score_resample(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, z) at F_SCORE_X (100, 2) and visibility (100,) bool, as ``resample_laneline_in_x``."""
    order = np.argsort(line[:, 0], kind="stable")
    xs, first = np.unique(line[order, 0], return_index=True)
    pts = line[order][first]
    visible = (F_SCORE_X >= xs[0]) & (F_SCORE_X <= xs[-1])
    if len(xs) < 2:
        return np.zeros((len(F_SCORE_X), 2)), visible
    y_at_x = np.interp(F_SCORE_X, xs, pts[:, 1])
    z_at_x = np.interp(F_SCORE_X, xs, pts[:, 2])
    # interp1d(fill_value="extrapolate"): extend the end segments linearly.
    for values, col in ((y_at_x, 1), (z_at_x, 2)):
        lo, hi = F_SCORE_X < xs[0], F_SCORE_X > xs[-1]
        values[lo] = pts[0, col] + (F_SCORE_X[lo] - xs[0]) * (pts[1, col] - pts[0, col]) / (xs[1] - xs[0])
        values[hi] = pts[-1, col] + (F_SCORE_X[hi] - xs[-1]) * (pts[-1, col] - pts[-2, col]) / (xs[-1] - xs[-2])
    return np.column_stack([y_at_x, z_at_x]), visible


def _f_score_sample(gts: list[np.ndarray], preds: list[np.ndarray]) -> tuple[int, int, int, int]:
    """(recall hits, precision hits, GT count, prediction count) for one sample (f_score.py ``bench``)."""

    def usable(lines):
        out = []
        for line in lines:
            if line.shape[0] > 1 and line[0, 0] < F_SCORE_X[-1] and line[-1, 0] > F_SCORE_X[0]:
                values, visible = _f_score_resample(line)
                if visible.sum() > 1:
                    out.append((values, visible))
        return out

    gt, pred = usable(gts), usable(preds)
    if not gt or not pred:
        return 0, 0, len(gt), len(pred)
    gt_vals, gt_vis = np.stack([g[0] for g in gt]), np.stack([g[1] for g in gt])  # (G, 100, 2), (G, 100)
    pr_vals, pr_vis = np.stack([p[0] for p in pred]), np.stack([p[1] for p in pred])
    dist = np.linalg.norm(gt_vals[:, None] - pr_vals[None], axis=-1)  # (G, Q, 100)
    both = gt_vis[:, None] & pr_vis[None]
    neither = ~gt_vis[:, None] & ~pr_vis[None]
    dist = np.where(neither, 0.0, np.where(both, dist, F_SCORE_DIST))
    matched_points = (dist < F_SCORE_DIST).sum(-1) - neither.sum(-1)  # (G, Q)
    cost = dist.sum(-1)
    cost = np.where((cost > 0) & (cost < 1), 1, np.floor(cost)).astype(np.int64)
    rows, cols = linear_sum_assignment(cost)
    recall_hits = precision_hits = 0
    for g, q in zip(rows, cols):
        if cost[g, q] < F_SCORE_DIST * len(F_SCORE_X):
            recall_hits += matched_points[g, q] / gt_vis[g].sum() >= F_SCORE_RATIO
            precision_hits += matched_points[g, q] / pr_vis[q].sum() >= F_SCORE_RATIO
    return int(recall_hits), int(precision_hits), len(gt), len(pred)


def lane_source(records: Sequence[dict]) -> str:
    """``"<source>"`` when every record names one ``lane_source``, else ``"<source>: n, ..."`` (frames per source).

    Records without ``lane_source`` (info files written before it existed, NAVSIM) count as ``unrecorded``.
    """
    counts: dict[str, int] = {}
    for record in records:
        source = record.get("lane_source", "unrecorded")
        counts[source] = counts.get(source, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{source}: {count}" for source, count in sorted(counts.items()))


def lane_metrics(
    gt_lanes: Sequence[np.ndarray], pred_lanes: Sequence[Sequence[np.ndarray]], pred_scores: Sequence[np.ndarray]
) -> dict[str, float]:
    """DET_l, Chamfer AP and F1 over S samples.

    gt_lanes: S arrays (M_s, P, 3), ego frame; pred_lanes: S lists of (K, 3) arrays; pred_scores: S arrays (Q_s,).
    """
    if not (len(gt_lanes) == len(pred_lanes) == len(pred_scores)):
        raise ValueError(
            f"{len(gt_lanes)} GT samples, {len(pred_lanes)} prediction samples, {len(pred_scores)} score lists"
        )
    gts = [[np.asarray(lane, dtype=np.float64) for lane in lanes] for lanes in gt_lanes]
    preds = [[np.asarray(lane, dtype=np.float64) for lane in lanes] for lanes in pred_lanes]
    scores = [np.asarray(s, dtype=np.float64).reshape(-1) for s in pred_scores]
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    num_gt = sum(len(g) for g in gts)
    metrics: dict[str, float] = {}

    frechet, chamfer, f_stats = [], [], []
    for g, p in tqdm(list(zip(gts, preds)), desc="lane distances", disable=len(gts) < 500):
        frechet.append(openlane_distance_matrix(g, p))
        g2d = [_resample(lane[:, :2], MAPTR_NUM_POINTS) for lane in g]
        p2d = [_resample(lane[:, :2], MAPTR_NUM_POINTS) for lane in p]
        chamfer.append(_maptr_score_matrix(g2d, p2d))
        f_stats.append(_f_score_sample(g, p))
    aps = []
    for thr in FRECHET_THRESHOLDS:
        tp = np.concatenate(
            [_greedy_tp(d, s, thr, strict=True) for d, s in zip(frechet, scores)] or [np.zeros(0, bool)]
        )
        if tp.size == 0 and num_gt == 0:
            ap = 1.0
        else:
            ap = _ap_11_point(*_precision_recall(tp, all_scores, num_gt, dtype=np.float32))
        metrics[f"lane/DET_l@{thr:g}m"] = ap
        aps.append(ap)
    metrics["lane/DET_l"] = float(np.mean(aps))

    aps = []
    for thr in CHAMFER_THRESHOLDS:
        tp = np.concatenate(
            [_greedy_tp(d, s, thr, strict=False) for d, s in zip(chamfer, scores)] or [np.zeros(0, bool)]
        )
        ap = _ap_area(*_precision_recall(tp, all_scores, num_gt)) if num_gt > 0 else 0.0
        metrics[f"lane/chamfer_AP@{thr:g}m"] = ap
        aps.append(ap)
    metrics["lane/chamfer_AP"] = float(np.mean(aps))

    stats = np.array(f_stats).reshape(-1, 4).sum(axis=0)
    recall = stats[0] / (stats[2] if stats[2] else 1e-6)
    precision = stats[1] / (stats[3] if stats[3] else 1e-6)
    metrics["lane/F1"] = float(2 * recall * precision / (recall + precision)) if recall + precision else 0.0
    metrics["lane/num_gt"] = int(num_gt)
    metrics["lane/num_pred"] = int(all_scores.size)
    return metrics
