"""Score a predictions directory against a split's info file: ``evaluate_predictions``.

Families are scored only where their file is present (``predictions.PREDICTION_FILES``); each
scores exactly the info file's samples. Outputs, when ``out_dir`` is given: ``metrics.json`` (flat
keys + ``"conventions"``), ``metrics.md`` (table), ``summary.png`` and ``bev/<token>.png`` for the
first ``num_plots`` samples. Every file is written atomically, ``metrics.json`` last: it exists
only when the evaluation succeeded (``outputs.start_run`` removes an earlier run's files first).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from onedrive.data.planning_text import PLANNING_TEXT_TYPE
from onedrive.evaluation import detection, lane, planning, predictions, report, text, text_planning
from onedrive.infos import InfoFile
from onedrive.io import write_text_atomic


def _gt_lanes(record: dict) -> np.ndarray:
    """The record's GT centrelines (M, P, 3); (0, 2, 3) when it has none."""
    if "lanes" not in record:
        raise ValueError(f"info record {record['token']}: missing key 'lanes' needed by the lane metrics")
    lanes = np.asarray(record["lanes"], dtype=np.float64)
    if lanes.size == 0:
        return np.zeros((0, 2, 3))
    if lanes.ndim != 3 or lanes.shape[2] != 3:
        raise ValueError(f"info record {record['token']}: lanes has shape {lanes.shape}, expected (M, P, 3)")
    return lanes


NAVSIM_CONVENTION = (
    "NAVSIM v1 PDM score (navsim/evaluate/pdm_score.py, pdm_scorer.py): PDMS = NC·DAC·(5·TTC + 5·EP + 2·C)/12 per "
    "token, mean over the split's tokens; this repository's scorer on its own map format (onedrive/evaluation/pdms)"
)


def _navsim_metrics(path: Path, infos_path, tokens: list[str], data_root) -> dict:
    """PDMS and EPDMS of ``navsim.json`` on the PDM scenes written beside the info file (``navsim_pdms_<split>.json``)."""
    from onedrive.evaluation.pdms.epdms import score_tokens_epdms
    from onedrive.evaluation.pdms.runner import read_predictions, score_tokens
    from onedrive.evaluation.pdms.scene_file import load_pdms_scenes

    infos_path = Path(infos_path)
    scene_file = infos_path.with_name(infos_path.name.replace("_infos_", "_pdms_"))
    scenes = load_pdms_scenes(scene_file, data_root)
    scene_tokens = {scene.token for scene in scenes}
    if scene_tokens != set(tokens):
        differ = sorted(scene_tokens.symmetric_difference(tokens))
        raise ValueError(f"{scene_file} and {infos_path} cover different tokens ({len(differ)}, e.g. {differ[:5]})")
    trajectories = read_predictions(path)
    predictions.check_complete(path, trajectories, tokens)
    chosen = {token: trajectories[token] for token in tokens}
    workers = min(2, os.cpu_count() or 1)
    _, summary = score_tokens(scenes, chosen, workers=workers)
    _, extended = score_tokens_epdms(scenes, chosen, workers=workers)
    return {**summary, **extended}


def evaluate_predictions(
    predictions_dir: str | os.PathLike,
    infos: str | os.PathLike | InfoFile,
    data_root: str | os.PathLike | None = None,
    version: str | None = None,
    eval_split: str | None = None,
    out_dir: str | os.PathLike | None = None,
    num_plots: int = 4,
    extra_metrics: Mapping[str, object] | None = None,
    extra_conventions: Mapping[str, str] | None = None,
) -> dict:
    """Score every prediction file present in ``predictions_dir`` on the split of the info file ``infos``
    (its path, or an ``InfoFile`` a caller already read).

    Detection needs the nuScenes-format data root, version and devkit split name; they default to the
    info file's ``metadata`` (``data_root``, ``version``, ``split``). ``extra_metrics`` (e.g. the
    baselines' ``baseline/...`` keys, scored on the same split) join the metrics and
    ``extra_conventions`` the ``conventions`` entry before anything is written; ``metrics.json`` is written last, so it exists only when every output was written.
    Returns the flat metrics dict (with ``"conventions"``). Raises ``InputError`` (a ValueError) when
    the folder holds no prediction file or a file of another name, or any file does not cover the split.
    """
    present = predictions.prediction_files(predictions_dir)
    if not isinstance(infos, InfoFile):
        infos = InfoFile.read(infos)
    metadata, records = infos.metadata, infos.records
    tokens = [record["token"] for record in records]
    metrics: dict = {"num_split_samples": len(tokens)}
    conventions: dict[str, str] = {}
    plot_inputs: dict[str, dict] = {token: {} for token in tokens[:num_plots]}

    if "planning" in present:
        trajectories = predictions.load_planning(present["planning"], tokens)  # (S, 6, 2)
        metrics.update(planning.planning_metrics(trajectories, planning.PlanningGroundTruth.from_infos(records)))
        conventions.update(planning.CONVENTIONS)
        for token, traj in zip(tokens, trajectories):
            if token in plot_inputs:
                plot_inputs[token]["pred_traj"] = traj
    if "lanes" in present:
        pred_lanes, scores = predictions.load_lanes(present["lanes"], tokens)
        gt_lanes = [_gt_lanes(record) for record in records]
        metrics.update(lane.lane_metrics(gt_lanes, pred_lanes, scores))
        metrics["lane/source"] = lane.lane_source(records)
        conventions.update(lane.CONVENTIONS)
        for token, lanes in zip(tokens, pred_lanes):
            if token in plot_inputs:
                plot_inputs[token]["pred_lanes"] = lanes
    if "text" in present:
        pairs = predictions.load_text(present["text"], records)
        metrics.update(text.text_metrics(pairs.predictions, pairs.references))
        counting = [i for i, kind in enumerate(pairs.kinds) if kind == text.COUNTING_TYPE]
        metrics.update(
            text.counting_metrics(
                [pairs.questions[i] for i in counting],
                [pairs.predictions[i] for i in counting],
                [pairs.references[i] for i in counting],
            )
        )
        conventions.update(text.CONVENTIONS)
        planned = [i for i, kind in enumerate(pairs.kinds) if kind == PLANNING_TEXT_TYPE]
        if planned:
            metrics.update(
                text_planning.text_planning_metrics(
                    [pairs.tokens[i] for i in planned],
                    [pairs.predictions[i] for i in planned],
                    records,
                    dict(zip(tokens, trajectories)) if "planning" in present else None,
                )
            )
            conventions.update(text_planning.CONVENTIONS)
    if "detection" in present:
        root = data_root if data_root is not None else metadata.get("data_root")
        ver = version if version is not None else metadata.get("version")
        split = eval_split if eval_split is not None else metadata.get("split")
        if not (root and ver and split):
            raise ValueError(
                f"detection.json needs the nuScenes data root, version and split (got {root!r}, {ver!r}, {split!r}); "
                "pass them or set them in the info file's metadata"
            )
        submission = predictions.load_detection(present["detection"], tokens)
        metrics.update(detection.evaluate_detection(submission, tokens, root, ver, split, out_dir))
        conventions.update(detection.CONVENTIONS)
        by_token = {record["token"]: record for record in records}
        for token in plot_inputs:
            plot_inputs[token]["pred_boxes"] = report.submission_to_ego(
                submission["results"][token], np.asarray(by_token[token]["ego2global"])
            )
    if "navsim" in present:
        metrics.update(_navsim_metrics(present["navsim"], infos.path, tokens, data_root))
        conventions["navsim"] = NAVSIM_CONVENTION
        from onedrive.evaluation.pdms.epdms import CONVENTION as EPDMS_CONVENTION

        conventions["navsim_epdms"] = EPDMS_CONVENTION
    metrics["conventions"] = {**conventions, **(extra_conventions or {})}

    metrics.update(extra_metrics or {})

    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        report.plot_summary(out_dir / "summary.png", metrics)
        by_token = {record["token"]: record for record in records}
        for token, inputs in plot_inputs.items():
            report.plot_sample(out_dir / "bev" / f"{token}.png", by_token[token], **inputs)
        write_text_atomic(out_dir / "metrics.md", report.markdown_table(metrics))
        write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2))  # last: the run succeeded
    return metrics
