"""The agent's 8 poses → 41 global rear-axle poses at 10 Hz (NAVSIM ``navsim/evaluate/pdm_score.py``).

NAVSIM turns the agent's poses (x, y, heading at 0.5 s … 4.0 s in the current rear-axle
frame) into global poses (nuPlan ``relative_to_absolute_poses``), prepends the current ego
state and samples nuPlan's ``InterpolatedTrajectory`` at 0.0, 0.1, …, 4.0 s: positions
linearly, headings linearly after unwrapping (``AngularInterpolator``). Velocities and
accelerations of those poses are zero there and ignored by the tracker, so only poses are
produced here.
"""

from __future__ import annotations

import numpy as np

from onedrive.evaluation.pdms.scene import EgoState

DT = 0.1  # s, simulation step
NUM_STEPS = 40  # 4 s horizon → 41 states including t = 0
AGENT_POSES = 8
AGENT_INTERVAL = 0.5  # s
STEP_TIMES = np.arange(NUM_STEPS + 1) * DT  # (41,)


def wrap_angle(angle: np.ndarray) -> np.ndarray:
    """Map angles to [-π, π]."""
    return np.arctan2(np.sin(angle), np.cos(angle))


def relative_to_global(origin: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """(N, 3) poses in the frame of ``origin`` (3,) → global (N, 3)."""
    cos, sin = np.cos(origin[2]), np.sin(origin[2])
    x = origin[0] + cos * poses[:, 0] - sin * poses[:, 1]
    y = origin[1] + sin * poses[:, 0] + cos * poses[:, 1]
    return np.stack([x, y, wrap_angle(origin[2] + poses[:, 2])], axis=1)


def interpolate_poses(times: np.ndarray, poses: np.ndarray, query_times: np.ndarray) -> np.ndarray:
    """Sample (N, 3) poses given at increasing ``times`` (N,) at ``query_times`` (M,) → (M, 3).

    x, y linearly; heading linearly after ``np.unwrap``, then wrapped back to [-π, π].
    """
    headings = np.unwrap(poses[:, 2])
    columns = [np.interp(query_times, times, poses[:, 0]), np.interp(query_times, times, poses[:, 1])]
    columns.append(wrap_angle(np.interp(query_times, times, headings)))
    return np.stack(columns, axis=1)


def agent_states_10hz(ego: EgoState, poses: np.ndarray) -> np.ndarray:
    """(8, 3) agent poses in the current rear-axle frame → (41, 3) global poses at 10 Hz, t = 0 … 4 s."""
    global_poses = relative_to_global(ego.pose, poses)  # (8, 3)
    knots = np.concatenate([ego.pose[None], global_poses], axis=0)  # (9, 3)
    knot_times = np.arange(AGENT_POSES + 1) * AGENT_INTERVAL  # (9,)
    return interpolate_poses(knot_times, knots, STEP_TIMES)
