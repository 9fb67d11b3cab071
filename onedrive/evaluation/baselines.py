"""Baselines that need no model, scored exactly like a model's predictions.

* constant velocity: the ego keeps its current velocity ``(vx, vy)`` (info ``ego_status``,
  ego frame) for the whole horizon: waypoint k at ``k · 0.5 s · (vx, vy)``.
* mean trajectory: the mean of the training split's valid future trajectories for the
  sample's driving command (the command is an input of the model too, so the baseline
  may use it; with one command's trajectories missing, the mean over all is used).

* human (NAVSIM): the logged future (``ego_fut_traj``), NAVSIM's ``HumanAgent``; the
  devkit gives it PDMS 0.948 on navtest, so it shows what the scorer and the logs allow.

* box prior (detection): an image-blind detector. Per class, the training split's evaluable
  boxes (at least one lidar or radar point, within the devkit's class range: the boxes
  ``DetectionEval`` keeps) are clustered by their ego-frame centre with k-means (scipy); every
  cluster becomes one box (median size and height, circular-mean yaw, mean velocity) scored by
  its share of the boxes. Every sample gets the same boxes. A detector scores above it only by
  reading the images.

The planning baselines write the planning prediction file (docs/design.md §4; ``navsim.json``
poses for NAVSIM, 8 steps with heading), the box prior a ``detection.json`` submission, for the
evaluation split, so the evaluator's rules (every sample, no NaN) apply to them as to any model.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.vq import kmeans2

from onedrive.errors import InputError
from onedrive.extras import extra_module
from onedrive.numbers import as_numbers

STEP_SECONDS = 0.5  # nuScenes key frames at 2 Hz
BOX_PRIOR_CLUSTERS = 50  # per class: 10 classes x 50 = the devkit's 500 boxes per sample


def constant_velocity(
    records: list[dict], steps: int = 6, with_heading: bool = False, source: str = "info records"
) -> dict[str, np.ndarray]:
    """{token: (steps, 2)} waypoints at the current velocity; (steps, 3) with the heading of that velocity.

    A velocity that is not two finite numbers is an ``InputError`` naming ``source`` (the info file) and the sample.
    """
    times = STEP_SECONDS * np.arange(1, steps + 1)  # (T,)
    result = {}
    for record in records:
        velocity = _finite(record, "ego_status", source)[:2]  # (2,) ego frame (vx, vy)
        waypoints = times[:, None] * velocity  # (T, 2)
        if with_heading:
            heading = np.arctan2(velocity[1], velocity[0]) if np.hypot(*velocity) > 0.1 else 0.0
            waypoints = np.column_stack([waypoints, np.full(steps, heading)])
        result[record["token"]] = waypoints
    return result


def mean_trajectory(
    train_records: list[dict], records: list[dict], steps: int = 6, source: str = "training info records"
) -> dict[str, np.ndarray]:
    """{token: (steps, D)} mean training future of the sample's command (D as in the info files).

    A valid future (``fut_valid``) that is not finite numbers is an ``InputError`` naming ``source`` and the sample.
    """
    futures = [(int(r["command"]), _finite(r, "ego_fut_traj", source)) for r in train_records if r["fut_valid"]]
    if not futures:
        raise ValueError("the training split has no sample with a valid 6-step future; no mean trajectory to take")
    overall = np.mean([trajectory for _, trajectory in futures], axis=0)[:steps]
    by_command = {}
    for command in {c for c, _ in futures}:
        by_command[command] = np.mean([trajectory for c, trajectory in futures if c == command], axis=0)[:steps]
    return {record["token"]: by_command.get(int(record["command"]), overall) for record in records}


def logged_future(records: list[dict], source: str = "info records") -> dict[str, np.ndarray]:
    """{token: (8, 3)} the logged future poses of every NAVSIM record (NAVSIM's human agent)."""
    return {record["token"]: _finite(record, "ego_fut_traj", source) for record in records}


def _finite(record: dict, key: str, source: str) -> np.ndarray:
    """``record[key]`` as a float array of finite numbers, else ``InputError`` naming the source file and sample."""
    try:
        value = as_numbers(record[key])
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(
            f"{source}, sample {record.get('token')!r}: {key} must be an array of numbers ({error!r})"
        ) from error
    if not np.isfinite(value).all():
        raise InputError(
            f"{source}, sample {record.get('token')!r}: {key} holds NaN or inf ({value.tolist()}); a baseline "
            "built on it would not be a number"
        )
    return value


def box_prior_file(train_records: list[dict], records: list[dict]) -> tuple[str, dict]:
    """("detection.json", submission) of :func:`box_prior` for every record, with the devkit's class ranges."""
    config_factory = extra_module("nuscenes.eval.common.config", "nuscenes").config_factory

    from onedrive.evaluation.detection import (
        DEVKIT_CONFIG,
        SUBMISSION_META,
        boxes_to_submission,
    )

    boxes, scores, names = box_prior(train_records, config_factory(DEVKIT_CONFIG).class_range)
    results = {
        record["token"]: boxes_to_submission(
            record["token"], boxes, scores, names, np.asarray(record["ego2global"], dtype=np.float64)
        )
        for record in records
    }
    return "detection.json", {"meta": dict(SUBMISSION_META), "results": results}


def prediction_file(trajectories: dict[str, np.ndarray], navsim: bool) -> tuple[str, dict]:
    """(file name, JSON payload): planning.json for nuScenes, navsim.json (poses) for NAVSIM."""
    if navsim:
        return "navsim.json", {token: {"poses": trajectory.tolist()} for token, trajectory in trajectories.items()}
    return "planning.json", {token: {"trajectory": trajectory.tolist()} for token, trajectory in trajectories.items()}


def box_prior(
    train_records: list[dict], class_range: dict[str, float], clusters: int = BOX_PRIOR_CLUSTERS
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(boxes (N, 9) ego frame ``[x, y, z, l, w, h, yaw, vx, vy]``, scores (N,), names): the same for every sample.

    ``class_range``: the devkit's per-class evaluation range in metres (``DetectionConfig.class_range``);
    boxes beyond it, or without lidar and radar points, are not evaluated and so not used.
    """
    per_class: dict[str, list[np.ndarray]] = {name: [] for name in class_range}
    for record in train_records:
        boxes = np.asarray(record["gt_boxes"], dtype=np.float64).reshape(-1, 9)  # (M, 9)
        points = np.asarray(record["gt_num_lidar_pts"]) + np.asarray(record["gt_num_radar_pts"])  # (M,)
        for box, name, count in zip(boxes, record["gt_names"], points):
            if name in per_class and count > 0 and np.hypot(box[0], box[1]) <= class_range[name]:
                per_class[name].append(box)
    boxes, counts, names = [], [], []
    for name, members in per_class.items():
        if not members:
            continue
        members = np.stack(members)  # (M, 9)
        # seed= (not rng=, scipy >= 1.15 only) with a Generator: the same clusters on every scipy >= 1.10
        centres, labels = kmeans2(
            members[:, :2], min(clusters, len(members)), seed=np.random.default_rng(0), minit="++"
        )
        for k, centre in enumerate(centres):
            cluster = members[labels == k]  # (m, 9); k-means may leave a cluster empty (scipy warns): no box
            if not len(cluster):
                continue
            yaw = np.arctan2(np.sin(cluster[:, 6]).mean(), np.cos(cluster[:, 6]).mean())
            boxes.append(
                np.concatenate([centre, np.median(cluster[:, 2:6], axis=0), [yaw], cluster[:, 7:9].mean(axis=0)])
            )
            counts.append(len(cluster))
            names.append(name)
    if not boxes:
        raise ValueError("the training split has no evaluable box (with lidar/radar points, within the class range)")
    counts = np.asarray(counts, dtype=np.float64)
    return np.stack(boxes), counts / counts.max(), names
