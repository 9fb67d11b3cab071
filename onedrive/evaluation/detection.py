"""nuScenes detection: submission writing and scoring through nuscenes-devkit's ``DetectionEval``.

Reference code: nutonomy/nuscenes-devkit ``python-sdk/nuscenes/eval/detection/evaluate.py`` (the
scorer itself; we call it, we do not re-implement it), ``eval/common/loaders.py`` (split loading,
``<dataroot>/<version>/splits.json`` for custom splits) and ``eval/detection/utils.py``
(allowed attributes per class). The attribute rule for predictions is mmdetection3d's
``NuScenesDataset.DefaultAttribute`` (``mmdet3d/datasets/nuscenes_dataset.py``): speed above
0.2 m/s → ``vehicle.moving`` / ``cycle.with_rider`` (pedestrians: ``pedestrian.moving``),
otherwise the class default.

Conventions:

* ``det/NDS``, ``det/mAP``, ``det/mATE`` … ``det/mAAE`` and ``det/AP/<class>`` are exactly the
  devkit's numbers (``detection_cvpr_2019``) on the split. The devkit averages over all 10 classes:
  a class absent from the split's (filtered) GT gets AP 0 and TP errors 1, so even a perfect
  submission scores below 1 when a class is absent.
* ``det/mAP_present`` / ``det/NDS_present`` recompute the same formulas over the classes with at
  least one GT box after the devkit's filtering (``det/classes_present``), from the devkit's own
  per-class values.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pyquaternion import Quaternion

from onedrive.extras import extra_module
from onedrive.io import write_json_atomic
from onedrive.schema import NUSCENES_DETECTION_CLASSES

DEVKIT_CONFIG = "detection_cvpr_2019"
MAX_BOXES_PER_SAMPLE = 500  # devkit detection_cvpr_2019 config
MOVING_SPEED = 0.2  # m/s, mmdet3d's threshold for moving attributes
DEFAULT_ATTRIBUTE = {
    "car": "vehicle.parked",
    "pedestrian": "pedestrian.moving",
    "trailer": "vehicle.parked",
    "truck": "vehicle.parked",
    "bus": "vehicle.moving",
    "motorcycle": "cycle.without_rider",
    "construction_vehicle": "vehicle.parked",
    "bicycle": "cycle.without_rider",
    "barrier": "",
    "traffic_cone": "",
}
TP_NAMES = {"trans_err": "mATE", "scale_err": "mASE", "orient_err": "mAOE", "vel_err": "mAVE", "attr_err": "mAAE"}
SUBMISSION_META = {"use_camera": True, "use_lidar": False, "use_radar": False, "use_map": False, "use_external": False}

CONVENTIONS = {
    "det": (
        "nuscenes-devkit DetectionEval (detection_cvpr_2019), numbers as the devkit reports them: mAP and NDS "
        "average over all 10 classes, an absent class counts AP 0 / TP errors 1; det/mAP_present and "
        "det/NDS_present use only classes with GT boxes in the split (det/classes_present)"
    ),
}


def default_attribute(name: str, speed: float) -> str:
    """Attribute for a predicted box from its class and speed (mmdet3d's rule)."""
    if name not in DEFAULT_ATTRIBUTE:
        raise ValueError(f"unknown detection class {name!r}; expected one of {list(DEFAULT_ATTRIBUTE)}")
    if speed > MOVING_SPEED:
        if name in ("car", "construction_vehicle", "bus", "truck", "trailer"):
            return "vehicle.moving"
        if name in ("bicycle", "motorcycle"):
            return "cycle.with_rider"
    return DEFAULT_ATTRIBUTE[name]


def boxes_to_submission(
    sample_token: str,
    boxes: np.ndarray,
    scores: np.ndarray,
    names: Sequence[str],
    ego2global: np.ndarray,
) -> list[dict]:
    """Ego-frame boxes → nuScenes submission entries (global frame) for one sample.

    boxes: (N, 9) ``[x, y, z, l, w, h, yaw, vx, vy]`` in the ego frame of the key frame (centre of the
    box, yaw counter-clockwise from x, velocity in m/s); scores (N,); names N detection classes;
    ego2global (4, 4). Output: ``translation`` (global), ``size`` (w, l, h), ``rotation`` quaternion
    (w, x, y, z), ``velocity`` (global vx, vy), ``attribute_name`` by :func:`default_attribute`.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 9)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    ego2global = np.asarray(ego2global, dtype=np.float64)
    if len(scores) != len(boxes) or len(names) != len(boxes):
        raise ValueError(
            f"sample {sample_token}: {len(boxes)} boxes, {len(scores)} scores and {len(names)} names must match"
        )
    if ego2global.shape != (4, 4):
        raise ValueError(f"sample {sample_token}: ego2global has shape {ego2global.shape}, expected (4, 4)")
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise ValueError(f"sample {sample_token}: boxes or scores hold NaN/inf")
    rotation = ego2global[:3, :3]  # (3, 3)
    centres = boxes[:, :3] @ rotation.T + ego2global[:3, 3]  # (N, 3)
    velocities = np.column_stack([boxes[:, 7:9], np.zeros(len(boxes))]) @ rotation.T  # (N, 3)
    ego_quat = Quaternion(matrix=rotation, atol=1e-6)
    entries = []
    for box, centre, velocity, score, name in zip(boxes, centres, velocities, scores, names):
        quat = ego_quat * Quaternion(axis=[0.0, 0.0, 1.0], radians=float(box[6]))
        entries.append(
            {
                "sample_token": sample_token,
                "translation": centre.tolist(),
                "size": [float(box[4]), float(box[3]), float(box[5])],
                "rotation": [float(v) for v in quat.elements],
                "velocity": velocity[:2].tolist(),
                "detection_name": str(name),
                "detection_score": float(score),
                "attribute_name": default_attribute(str(name), float(np.hypot(box[7], box[8]))),
            }
        )
    return entries


def write_submission(results: Mapping[str, list[dict]], path: str | os.PathLike, meta: Mapping | None = None) -> Path:
    """Write ``{"meta", "results"}`` atomically (``onedrive.io.write_json_atomic``: NaN refused)."""
    payload = {"meta": dict(meta or SUBMISSION_META), "results": dict(results)}
    return write_json_atomic(path, payload)


def _present_scores(summary: dict, present: Sequence[str]) -> tuple[float, float]:
    """mAP and NDS over ``present`` classes from the devkit's per-class values (devkit formulas)."""
    if not present:
        return math.nan, math.nan
    mean_ap = float(np.mean([summary["mean_dist_aps"][name] for name in present]))
    tp_errors = []
    for tp_name in TP_NAMES:
        values = [summary["label_tp_errors"][name][tp_name] for name in present]
        values = [v for v in values if not (v is None or (isinstance(v, float) and math.isnan(v)))]
        tp_errors.append(float(np.mean(values)) if values else math.nan)
    # DetectionMetrics.nd_score: (mAP weight 5 + sum of (1 - min(1, err))) / (5 + 5); nan errors count 0 score.
    tp_scores = [0.0 if math.isnan(err) else 1.0 - min(1.0, err) for err in tp_errors]
    return mean_ap, float((5 * mean_ap + sum(tp_scores)) / 10)


def evaluate_detection(
    submission: Mapping,
    sample_tokens: Sequence[str],
    data_root: str | os.PathLike,
    version: str,
    eval_split: str,
    out_dir: str | os.PathLike | None = None,
    render_curves: bool = False,
) -> dict:
    """Score a validated submission on exactly ``sample_tokens`` (the split) with ``DetectionEval``.

    ``submission`` is the parsed JSON (``meta`` + ``results``), already checked by
    ``predictions.load_detection``; only the split's samples are passed to the devkit (it refuses a
    file with other samples on predefined splits). The devkit's split must hold exactly
    ``sample_tokens``, else ValueError. Devkit outputs (``metrics_summary.json``, curves) go to
    ``out_dir/detection`` when ``out_dir`` is given.
    """
    NuScenes = extra_module("nuscenes", "nuscenes").NuScenes
    config_factory = extra_module("nuscenes.eval.common.config", "nuscenes").config_factory
    DetectionEval = extra_module("nuscenes.eval.detection.evaluate", "nuscenes").DetectionEval
    get_scenes_of_split = extra_module("nuscenes.utils.splits", "nuscenes").get_scenes_of_split

    nusc = NuScenes(version=version, dataroot=str(data_root), verbose=False)
    scenes = set(get_scenes_of_split(eval_split, nusc))
    devkit_tokens = {s["token"] for s in nusc.sample if nusc.get("scene", s["scene_token"])["name"] in scenes}
    if devkit_tokens != set(sample_tokens):
        missing = sorted(set(sample_tokens) - devkit_tokens)
        extra = sorted(devkit_tokens - set(sample_tokens))
        raise ValueError(
            f"devkit split {eval_split!r} ({version}) does not match the info file: "
            f"{len(missing)} info samples not in the split (e.g. {missing[:5]}), "
            f"{len(extra)} split samples not in the info file (e.g. {extra[:5]})"
        )
    results = {token: submission["results"][token] for token in sample_tokens}
    with tempfile.TemporaryDirectory(prefix="onedrive_det_") as tmp:
        result_path = write_submission(results, Path(tmp) / "detection_split.json", submission.get("meta"))
        output_dir = Path(out_dir) / "detection" if out_dir is not None else Path(tmp) / "devkit"
        evaluator = DetectionEval(
            nusc, config_factory(DEVKIT_CONFIG), str(result_path), eval_split, str(output_dir), verbose=False
        )
        summary = evaluator.main(plot_examples=0, render_curves=render_curves)
        present = sorted({box.detection_name for box in evaluator.gt_boxes.all})
    metrics = {"det/NDS": float(summary["nd_score"]), "det/mAP": float(summary["mean_ap"])}
    for tp_name, short in TP_NAMES.items():
        metrics[f"det/{short}"] = float(summary["tp_errors"][tp_name])
    for name in NUSCENES_DETECTION_CLASSES:
        metrics[f"det/AP/{name}"] = float(summary["mean_dist_aps"][name])
    metrics["det/mAP_present"], metrics["det/NDS_present"] = _present_scores(summary, present)
    metrics["det/classes_present"] = present
    metrics["det/num_samples"] = len(sample_tokens)
    return metrics
