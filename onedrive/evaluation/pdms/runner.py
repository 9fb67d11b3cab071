"""Score NAVSIM tokens: one scene + the agent's 8 poses → sub-scores; many tokens in parallel processes.

Per token (NAVSIM ``navsim/evaluate/pdm_score.py``): the reference trajectory
(``reference.py``) and the agent's poses (``trajectory.py``) are tracked together from the
current ego state (``tracker.py``) and scored together against the logged objects
(``scorer.py``), so EP is the agent's progress over the better of the two; the agent's
NC, DAC, TTC, C, EP and PDMS are reported.

``score_tokens`` checks every input before any work starts and raises ``ValueError``
naming the token (missing trajectory, wrong pose count, NaN, duplicate token, bad scene).
Results do not depend on ``workers``: each token is scored alone and deterministically.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path as FilePath

import numpy as np
from tqdm.auto import tqdm

from onedrive.evaluation.pdms.observation import log_observation
from onedrive.evaluation.pdms.reference import Path, reference_poses
from onedrive.evaluation.pdms.scene import PDMSScene
from onedrive.evaluation.pdms.scorer import PDMScorer
from onedrive.evaluation.pdms.tracker import BatchTracker, initial_state
from onedrive.evaluation.pdms.trajectory import AGENT_POSES, agent_states_10hz
from onedrive.io import read_json
from onedrive.numbers import as_numbers

SUB_SCORES = ("PDMS", "NC", "DAC", "TTC", "C", "EP")


def check_poses(token: str, poses) -> np.ndarray:
    """The agent's poses as an (8, 3) float array, or ``ValueError`` naming the token."""
    try:
        array = as_numbers(poses)
    except (TypeError, ValueError) as error:
        raise ValueError(f"token {token!r}: poses must be numbers, got {poses!r} ({error})") from None
    if array.shape != (AGENT_POSES, 3):
        raise ValueError(
            f"token {token!r}: expected {AGENT_POSES} poses (x, y, heading), shape (8, 3); got {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"token {token!r}: poses contain NaN or inf: {array.tolist()}")
    return array


def score_scene(scene: PDMSScene, poses: np.ndarray) -> dict[str, float]:
    """Sub-scores of the agent's (8, 3) poses on one scene (inputs already checked)."""
    centerline = Path(scene.map.route_path())
    tracker = BatchTracker(scene.vehicle)
    reference = reference_poses(scene, centerline, tracker)  # (41, 3)
    agent = agent_states_10hz(scene.ego, poses)  # (41, 3)
    states = tracker.simulate(np.stack([reference, agent]), initial_state(scene.ego))  # (2, 41, 11)
    scores = PDMScorer(scene.vehicle, scene.map, centerline.linestring).score(states, log_observation(scene))
    result = {
        "PDMS": scores.score[1],
        "NC": scores.nc[1],
        "DAC": scores.dac[1],
        "TTC": scores.ttc[1],
        "C": scores.comfort[1],
        "EP": scores.ep[1],
        "progress": scores.progress[1],
        "reference_progress": scores.progress[0],
        "reference_PDMS": scores.score[0],
    }
    return {key: float(value) for key, value in result.items()}


def _score_chunk(items: list[tuple[PDMSScene, np.ndarray]]) -> list[dict[str, float]]:
    return [score_scene(scene, poses) for scene, poses in items]


def checked_items(
    scenes: Sequence[PDMSScene], trajectories: Mapping[str, object], workers: int
) -> list[tuple[PDMSScene, np.ndarray]]:
    """(scene, (8, 3) poses) per scene, after checking every input (``ValueError`` naming the token)."""
    if workers < 1:
        raise ValueError(f"workers must be ≥ 1, got {workers}")
    if not scenes:
        raise ValueError("no scenes to score")
    items: list[tuple[PDMSScene, np.ndarray]] = []
    seen: set[str] = set()
    for scene in scenes:
        if scene.token in seen:
            raise ValueError(f"token {scene.token!r} appears twice among the scenes")
        seen.add(scene.token)
        scene.validate()
        if scene.token not in trajectories:
            raise ValueError(f"token {scene.token!r}: no trajectory for it among {len(trajectories)} predictions")
        items.append((scene, check_poses(scene.token, trajectories[scene.token])))
    return items


def map_chunks(function, items: list, workers: int, show_progress: bool, desc: str) -> list:
    """``function`` (a list of items → a list of results) over ``items`` in chunks, in ``workers`` processes
    when > 1 (fork start method, spawn where the platform has no fork); results in the order of ``items``."""
    bar = tqdm(total=len(items), desc=desc, unit="token", disable=not show_progress)
    results = []
    if workers == 1:
        for item in items:
            results.extend(function([item]))
            bar.update(1)
    else:
        chunk = max(1, min(64, math.ceil(len(items) / (workers * 4))))
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        # fork where the platform has it: workers inherit the imported modules (``import onedrive``
        # pulls in torch + transformers, seconds per spawned worker); workers use only numpy,
        # scipy and shapely, as PyTorch's own DataLoader workers do under fork.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for chunk_results in pool.map(function, chunks):
                results.extend(chunk_results)
                bar.update(len(chunk_results))
    bar.close()
    return results


def score_tokens(
    scenes: Sequence[PDMSScene],
    trajectories: Mapping[str, object],
    workers: int = 1,
    show_progress: bool = False,
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Score every scene's token with the agent poses ``trajectories[token]`` ((8, 3) each).

    Returns ``(per_token, summary)``: per token ``PDMS, NC, DAC, TTC, C, EP`` (plus the
    agent's and the reference's progress in metres and the reference's PDMS); the summary
    holds ``navsim/<name>`` means over tokens and ``navsim/num_tokens``. ``workers`` > 1
    scores in that many processes (``concurrent.futures``; fork start method, spawn where
    the platform has no fork).
    """
    items = checked_items(scenes, trajectories, workers)
    results = map_chunks(_score_chunk, items, workers, show_progress, "PDMS")
    per_token = {scene.token: result for (scene, _), result in zip(items, results, strict=True)}
    summary = {f"navsim/{name}": float(np.mean([r[name] for r in results])) for name in SUB_SCORES}
    summary["navsim/num_tokens"] = len(results)
    return per_token, summary


def read_predictions(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``navsim.json`` prediction file ``{token: {"poses": [[x, y, heading] × 8]}}`` → {token: (8, 3)}."""
    path = FilePath(path)
    if not path.is_file():
        raise ValueError(f"{path}: prediction file not found")
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object {{token: {{'poses': ...}}}}, got {type(data).__name__}")
    predictions = {}
    for token, entry in data.items():
        if not isinstance(entry, dict) or "poses" not in entry:
            raise ValueError(f"{path}: token {token!r} needs an object with 'poses', got {entry!r}")
        try:
            predictions[token] = check_poses(token, entry["poses"])
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    return predictions
