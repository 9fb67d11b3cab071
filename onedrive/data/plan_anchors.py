"""Planning mode anchors: k-means of a split's ego future trajectories, per driving command.

``mode_anchors(records)`` clusters the complete futures (``fut_valid``) of each command's
key frames, ``ego_fut_traj`` (T, D) flattened, into ``num_modes`` centres with scipy's
``kmeans2`` (k-means++ start, seed 0: the same records give the same anchors) → the
metadata entry ``plan_mode_anchors`` (C, M, T, D) and ``plan_mode_anchor_counts``
(complete futures per command). A command with fewer complete futures than modes takes
its anchors from every command's futures (its count says so); a split with fewer
complete futures than modes gets ``None``. The converters write this into each split's
metadata (docs/design.md §4); the training build reads the training split's
(``onedrive.training.build``), and the model config keeps them (``plan_mode_anchors``).
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.vq import kmeans2

from onedrive.errors import InputError
from onedrive.infos import load_infos

NUM_COMMANDS = 3
NUM_MODES = 6  # the official release's modes per command


def mode_anchors(records: list[dict], num_modes: int = NUM_MODES) -> dict:
    """Info records → ``{"plan_mode_anchors": (C, M, T, D) nested list or None, "plan_mode_anchor_counts": [C]}``."""
    complete = [record for record in records if record.get("fut_valid")]
    futures = {command: [] for command in range(NUM_COMMANDS)}
    for record in complete:
        futures[int(record["command"])].append(np.asarray(record["ego_fut_traj"], dtype=np.float64))
    counts = [len(futures[command]) for command in range(NUM_COMMANDS)]
    if len(complete) < num_modes:
        return {"plan_mode_anchors": None, "plan_mode_anchor_counts": counts}
    every = [trajectory for command in range(NUM_COMMANDS) for trajectory in futures[command]]
    anchors = []
    for command in range(NUM_COMMANDS):
        chosen = futures[command] if counts[command] >= num_modes else every
        anchors.append(_centres(np.stack(chosen), num_modes))
    return {"plan_mode_anchors": np.stack(anchors).tolist(), "plan_mode_anchor_counts": counts}


def _centres(trajectories: np.ndarray, num_modes: int) -> np.ndarray:
    """(N, T, D) trajectories → (M, T, D) k-means centres, ordered by the end point's x then y."""
    flat = trajectories.reshape(len(trajectories), -1)  # (N, T·D)
    centres, _ = kmeans2(flat, num_modes, minit="++", seed=0)
    centres = centres.reshape(num_modes, *trajectories.shape[1:])
    order = np.lexsort((centres[:, -1, 1], centres[:, -1, 0]))
    return centres[order]


def load_mode_anchors(infos_path, shape: tuple[int, int, int, int]) -> list:
    """The ``plan_mode_anchors`` (C, M, T, D) of an info file's metadata; ``InputError`` when absent or of
    another shape than ``shape`` (the task config's commands, modes, steps, dims)."""
    metadata, _ = load_infos(infos_path)
    anchors = metadata.get("plan_mode_anchors")
    if anchors is None:
        raise InputError(
            f"info file {infos_path} has no plan_mode_anchors in its metadata (written by tools/create_data.py; "
            f"a split needs {shape[1]} complete futures): re-run the converter"
        )
    found = np.asarray(anchors, dtype=np.float64).shape
    if found != tuple(shape):
        raise InputError(
            f"info file {infos_path}: plan_mode_anchors have shape {found} (commands, modes, steps, dims); the "
            f"task config needs {tuple(shape)}"
        )
    return anchors
