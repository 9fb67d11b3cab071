"""Planning baselines that need no model, scored exactly like a model's predictions.

* constant velocity: the ego keeps its current velocity ``(vx, vy)`` (info ``ego_status``,
  ego frame) for the whole horizon: waypoint k at ``k · 0.5 s · (vx, vy)``.
* mean trajectory: the mean of the training split's valid future trajectories for the
  sample's driving command (the command is an input of the model too, so the baseline
  may use it; with one command's trajectories missing, the mean over all is used).

Both write the planning prediction file (docs/design.md §4; ``navsim.json`` poses for
NAVSIM, 8 steps with heading) for the evaluation split, so the evaluator's rules (every
sample, no NaN) apply to them as to any model.
"""

from __future__ import annotations

import numpy as np

STEP_SECONDS = 0.5  # nuScenes key frames at 2 Hz


def constant_velocity(records: list[dict], steps: int = 6, with_heading: bool = False) -> dict[str, np.ndarray]:
    """{token: (steps, 2)} waypoints at the current velocity; (steps, 3) with the heading of that velocity."""
    times = STEP_SECONDS * np.arange(1, steps + 1)  # (T,)
    result = {}
    for record in records:
        velocity = np.asarray(record["ego_status"][:2], dtype=np.float64)  # (2,) ego frame
        waypoints = times[:, None] * velocity  # (T, 2)
        if with_heading:
            heading = np.arctan2(velocity[1], velocity[0]) if np.hypot(*velocity) > 0.1 else 0.0
            waypoints = np.column_stack([waypoints, np.full(steps, heading)])
        result[record["token"]] = waypoints
    return result


def mean_trajectory(train_records: list[dict], records: list[dict], steps: int = 6) -> dict[str, np.ndarray]:
    """{token: (steps, D)} mean training future of the sample's command (D as in the info files)."""
    futures = [(int(r["command"]), np.asarray(r["ego_fut_traj"], dtype=np.float64)) for r in train_records if r["fut_valid"]]
    if not futures:
        raise ValueError("the training split has no sample with a valid 6-step future; no mean trajectory to take")
    overall = np.mean([trajectory for _, trajectory in futures], axis=0)[:steps]
    by_command = {}
    for command in {c for c, _ in futures}:
        by_command[command] = np.mean([trajectory for c, trajectory in futures if c == command], axis=0)[:steps]
    return {record["token"]: by_command.get(int(record["command"]), overall) for record in records}


def prediction_file(trajectories: dict[str, np.ndarray], navsim: bool) -> tuple[str, dict]:
    """(file name, JSON payload): planning.json for nuScenes, navsim.json (poses) for NAVSIM."""
    if navsim:
        return "navsim.json", {token: {"poses": trajectory.tolist()} for token, trajectory in trajectories.items()}
    return "planning.json", {token: {"trajectory": trajectory.tolist()} for token, trajectory in trajectories.items()}
