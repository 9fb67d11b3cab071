"""Planning baselines that need no model, scored exactly like a model's predictions.

* constant velocity: the ego keeps its current velocity ``(vx, vy)`` (info ``ego_status``,
  ego frame) for the whole horizon: waypoint k at ``k · 0.5 s · (vx, vy)``.
* mean trajectory: the mean of the training split's valid future trajectories for the
  sample's driving command (the command is an input of the model too, so the baseline
  may use it; with one command's trajectories missing, the mean over all is used).

Both write the planning prediction file (docs/design.md §4) for the evaluation split, so
the evaluator's rules (every sample, no NaN) apply to them as to any model.
"""

from __future__ import annotations

import numpy as np

STEP_SECONDS = 0.5  # nuScenes key frames at 2 Hz


def constant_velocity(records: list[dict], steps: int = 6) -> dict[str, np.ndarray]:
    """{token: (steps, 2)} waypoints at the current velocity."""
    times = STEP_SECONDS * np.arange(1, steps + 1)  # (T,)
    return {record["token"]: times[:, None] * np.asarray(record["ego_status"][:2], dtype=np.float64) for record in records}


def mean_trajectory(train_records: list[dict], records: list[dict], steps: int = 6) -> dict[str, np.ndarray]:
    """{token: (steps, 2)} mean training future of the sample's command."""
    futures = [(int(r["command"]), np.asarray(r["ego_fut_traj"], dtype=np.float64)) for r in train_records if r["fut_valid"]]
    if not futures:
        raise ValueError("the training split has no sample with a valid 6-step future; no mean trajectory to take")
    overall = np.mean([trajectory for _, trajectory in futures], axis=0)[:steps]
    by_command = {}
    for command in {c for c, _ in futures}:
        by_command[command] = np.mean([trajectory for c, trajectory in futures if c == command], axis=0)[:steps]
    return {record["token"]: by_command.get(int(record["command"]), overall) for record in records}


def planning_file(trajectories: dict[str, np.ndarray]) -> dict:
    """The planning prediction JSON payload."""
    return {token: {"trajectory": trajectory.tolist()} for token, trajectory in trajectories.items()}
