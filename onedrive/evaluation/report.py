"""Human-readable outputs of an evaluation: markdown table, BEV figures per sample, summary chart.

Plots use matplotlib's Agg backend (no display needed). Fractions (collision, boundary) are stored
as fractions in ``metrics.json`` and printed as percentages in the table.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from onedrive.extras import extra_module

PERCENT_KEYS = ("collision", "boundary")


def _format(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    if key.startswith("plan/") and any(word in key for word in PERCENT_KEYS):
        return f"{100 * value:.2f} %"
    return f"{value:.4f}"


def markdown_table(metrics: Mapping[str, object]) -> str:
    """One row per metric (``conventions`` listed underneath)."""
    lines = ["| metric | value |", "|---|---|"]
    for key, value in metrics.items():
        if key != "conventions":
            lines.append(f"| {key} | {_format(key, value)} |")
    for family, text in dict(metrics.get("conventions", {})).items():
        lines.append(f"\n* `{family}`: {text}")
    return "\n".join(lines) + "\n"


def _box_corners(boxes: np.ndarray) -> np.ndarray:
    """(N, ≥7) [x, y, z, l, w, h, yaw, ...] → BEV corners (N, 5, 2), closed."""
    half_l, half_w, yaw = boxes[:, 3:4] / 2, boxes[:, 4:5] / 2, boxes[:, 6:7]
    local = np.stack(
        [np.hstack([half_l, half_l, -half_l, -half_l, half_l]), np.hstack([half_w, -half_w, -half_w, half_w, half_w])],
        -1,
    )
    cos, sin = np.cos(yaw)[..., None], np.sin(yaw)[..., None]
    rotated = np.concatenate(
        [cos * local[..., :1] - sin * local[..., 1:], sin * local[..., :1] + cos * local[..., 1:]], -1
    )
    return rotated + boxes[:, None, :2]


def submission_to_ego(entries: Sequence[Mapping], ego2global: np.ndarray, min_score: float = 0.3) -> np.ndarray:
    """Submission boxes of one sample back to ego-frame ``[x, y, z, l, w, h, yaw]`` (N, 7), score ≥ min_score."""
    from pyquaternion import Quaternion

    ego2global = np.asarray(ego2global, dtype=np.float64)
    global2ego = np.linalg.inv(ego2global)
    ego_yaw = math.atan2(ego2global[1, 0], ego2global[0, 0])
    rows = []
    for entry in entries:
        if entry["detection_score"] < min_score:
            continue
        centre = global2ego[:3, :3] @ np.asarray(entry["translation"]) + global2ego[:3, 3]
        yaw = Quaternion(entry["rotation"]).yaw_pitch_roll[0] - ego_yaw
        width, length, height = entry["size"]
        rows.append([*centre, length, width, height, yaw])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 7)


def plot_sample(
    path: str | os.PathLike,
    record: Mapping,
    pred_traj: np.ndarray | None = None,
    pred_boxes: np.ndarray | None = None,
    pred_lanes: Sequence[np.ndarray] | None = None,
    half_range: float = 50.0,
) -> None:
    """BEV figure of one sample: drivable area, GT (green) and predicted (red) boxes, lanes, trajectories."""
    matplotlib = extra_module("matplotlib", "dev")
    matplotlib.use("Agg")
    plt = extra_module("matplotlib.pyplot", "dev")

    fig, ax = plt.subplots(figsize=(6, 6))
    for polygon in record.get("drivable_area", []):
        exterior = np.asarray(polygon["exterior"])
        ax.fill(exterior[:, 0], exterior[:, 1], color="0.9", zorder=0)
        for hole in polygon.get("holes", []):
            hole = np.asarray(hole)
            ax.fill(hole[:, 0], hole[:, 1], color="white", zorder=0)
    for lane in record.get("lanes", []):
        lane = np.asarray(lane, dtype=np.float64)  # (P, 3)
        ax.plot(lane[:, 0], lane[:, 1], color="tab:green", lw=1, alpha=0.6)
    for lane in pred_lanes or []:
        ax.plot(lane[:, 0], lane[:, 1], color="tab:red", lw=1, ls="--", alpha=0.8)
    gt_boxes = np.asarray(record.get("gt_boxes", []), dtype=np.float64).reshape(-1, 9)
    for corners in _box_corners(gt_boxes):
        ax.plot(corners[:, 0], corners[:, 1], color="tab:green", lw=1)
    if pred_boxes is not None:
        for corners in _box_corners(np.asarray(pred_boxes).reshape(-1, 7)):
            ax.plot(corners[:, 0], corners[:, 1], color="tab:red", lw=1, ls="--")
    ego = np.asarray(record.get("ego_fut_traj", np.zeros((0, 2))), dtype=np.float64).reshape(-1, 2)
    ax.plot(np.r_[0, ego[:, 0]], np.r_[0, ego[:, 1]], "o-", color="tab:green", ms=3, label="GT trajectory")
    if pred_traj is not None:
        ax.plot(np.r_[0, pred_traj[:, 0]], np.r_[0, pred_traj[:, 1]], "o--", color="tab:red", ms=3, label="prediction")
    ax.plot(*_box_corners(np.array([[1.485793, 0, 0, 4.084, 1.85, 1.5, 0.0]]))[0].T, color="black", lw=1.5)
    ax.set_xlim(-half_range, half_range)
    ax.set_ylim(-half_range, half_range)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, forward)")
    ax.set_ylabel("y (m, left)")
    ax.set_title(f"{record['token']}\ngreen: ground truth, red: prediction", fontsize=8)
    ax.legend(loc="lower right", fontsize=7)
    _save(fig, path)
    plt.close(fig)


def plot_summary(path: str | os.PathLike, metrics: Mapping[str, object]) -> None:
    """One bar panel per scored family."""
    matplotlib = extra_module("matplotlib", "dev")
    matplotlib.use("Agg")
    plt = extra_module("matplotlib.pyplot", "dev")

    panels = {
        "planning L2 (m)": [k for k in metrics if k.startswith("plan/l2_") or k.startswith("plan/uniad/l2_")],
        "planning collision / boundary (%)": [
            k for k in metrics if k.startswith("plan") and any(w in k for w in PERCENT_KEYS)
        ],
        "detection": [
            k for k in metrics if k.startswith("det/") and k.split("/")[1] in ("NDS", "mAP", "mAP_present", "AP")
        ],
        "lanes": [k for k in metrics if k in ("lane/DET_l", "lane/chamfer_AP", "lane/F1")],
        "text": [k for k in metrics if k.startswith("text/") and not k.startswith("text/num_")],
    }
    panels = {title: keys for title, keys in panels.items() if keys}
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.8 * len(panels)), squeeze=False)
    for ax, (title, keys) in zip(axes[:, 0], panels.items()):
        scale = 100.0 if "%" in title else 1.0
        values = [float(metrics[k]) * scale for k in keys]
        ax.bar(range(len(keys)), values, color="tab:blue")
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([k.split("/", 1)[1] for k in keys], rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _save(fig, path: str | os.PathLike) -> None:
    """Save atomically (temp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=path.suffix)
    os.close(handle)
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
