"""NAVSIM v2's comfort metrics: history comfort (HC) and two-frame extended comfort (EC).

* HC (``PDMScorer._calculate_history_comfort``, weight 2): the six comfort bounds of
  ``comfort.py`` over the simulated states preceded by the ego's logged past. NAVSIM's
  past trajectory is the ego at −1.5, −1.0, −0.5 and 0 s (``get_ego_past_trajectory``
  with ``sample_past_indices``: the current state included); it is interpolated at 0.1 s
  from the first state up to, not including, the last, the last of those samples is
  dropped (14 states: −1.5 … −0.2 s) and the 14 + 41 states are treated as 0.1 s apart.
  Past states carry the log's pose and ego-frame velocity and acceleration; steering and
  yaw rate are 0 (nuPlan's ``EgoState`` as NAVSIM builds it). The bounds are v1's, the
  signals v2's (``comfort_checks_v2``): longitudinal and lateral acceleration at the box
  centre (NAVSIM's ``get_acceleration_shifted`` adds 1.461 m · (yaw rate² + yaw
  acceleration) to the longitudinal one), smoothed over 8 states instead of all; jerks
  differentiated over 15 states instead of all.
* EC (``ego_is_two_frame_extended_comfort`` in ``pdm_comfort_metrics.py`` with
  ``SceneAggregator._compute_two_frame_comfort``, weight 2): a token's simulated states
  against those of the token 0.5 s earlier in the same log, over their 3.5 s overlap; the
  RMS of the differences of acceleration magnitude, jerk, yaw rate and yaw acceleration
  must stay within 0.7 m/s², 0.5 m/s³, 0.1 rad/s and 0.1 rad/s². Signals as NAVSIM
  extracts them: |a| Savitzky–Golay smoothed (window 8, order 2), jerk its derivative
  (window 15, order 2), yaw rate and acceleration derivatives of the unwrapped heading
  (window 5, order 2), each rounded to 8 decimals.
"""

from __future__ import annotations

import numpy as np

from onedrive.evaluation.pdms.comfort import (
    MAX_ABS_JERK,
    MAX_ABS_LAT_ACCEL,
    MAX_ABS_LON_JERK,
    MAX_ABS_YAW_ACCEL,
    MAX_ABS_YAW_RATE,
    MAX_LON_ACCEL,
    MIN_LON_ACCEL,
    _inside,
    _smooth,
)
from onedrive.evaluation.pdms.scene import PACIFICA, EgoState
from onedrive.evaluation.pdms.tracker import AX, AY, HEADING, STATE_SIZE, VX, VY, YAW_ACC, YAW_RATE, X, Y
from onedrive.evaluation.pdms.trajectory import DT

HISTORY_TIMES = (-1.5, -1.0, -0.5, 0.0)  # seconds of the logged past states, the current one last
HISTORY_STATES = 14  # 0.1 s samples NAVSIM keeps: −1.5 … −0.2 s
EC_LIMITS = {"acceleration": 0.7, "jerk": 0.5, "yaw_rate": 0.1, "yaw_acceleration": 0.1}
PAIR_GAP = 0.55  # s: tokens at most this far apart are consecutive (infer_start_adjacent_mapping)


def history_states(history: np.ndarray, ego: EgoState) -> np.ndarray:
    """(3, 7) past x, y, heading, vx, vy, ax, ay and the current ego → (14, 11) states at −1.5 … −0.2 s,
    linearly interpolated."""
    times = np.round(np.arange(HISTORY_STATES) * DT + HISTORY_TIMES[0], 6)
    current = [ego.x, ego.y, ego.heading, *ego.velocity, *ego.acceleration]
    columns = np.concatenate([history, np.asarray(current, dtype=np.float64)[None]], axis=0)  # (4, 7)
    columns[:, 2] = np.unwrap(columns[:, 2])
    states = np.zeros((HISTORY_STATES, STATE_SIZE))
    for column, index in enumerate((X, Y, HEADING, VX, VY, AX, AY)):
        states[:, index] = np.interp(times, HISTORY_TIMES, columns[:, column])
    return states


def comfort_checks_v2(states: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """states (B, T, 11) → {check name: (B,) bool}: NAVSIM v2's ``ego_is_comfortable`` (see module docstring)."""
    offset = PACIFICA.rear_axle_to_center
    lon = states[..., AX] + offset * (states[..., YAW_RATE] ** 2 + states[..., YAW_ACC])  # (B, T) at the box centre
    lat = states[..., AY]
    magnitude = np.hypot(states[..., AX], states[..., AY])
    heading = np.unwrap(states[..., HEADING], axis=-1)
    return {
        "lon_acceleration": _inside(_smooth(lon, 8, 2), MIN_LON_ACCEL, MAX_LON_ACCEL),
        "lat_acceleration": _inside(_smooth(lat, 8, 2), -MAX_ABS_LAT_ACCEL, MAX_ABS_LAT_ACCEL),
        "jerk": _inside(_smooth(_smooth(magnitude, 8, 2), 15, 2, deriv=1, dt=dt), -MAX_ABS_JERK, MAX_ABS_JERK),
        "lon_jerk": _inside(_smooth(_smooth(lon, 8, 2), 15, 2, deriv=1, dt=dt), -MAX_ABS_LON_JERK, MAX_ABS_LON_JERK),
        "yaw_acceleration": _inside(_smooth(heading, 5, 3, deriv=2, dt=dt), -MAX_ABS_YAW_ACCEL, MAX_ABS_YAW_ACCEL),
        "yaw_rate": _inside(_smooth(heading, 5, 2, deriv=1, dt=dt), -MAX_ABS_YAW_RATE, MAX_ABS_YAW_RATE),
    }


def history_comfort(states: np.ndarray, history: np.ndarray, ego: EgoState) -> np.ndarray:
    """Simulated states (P, T, 11) after the logged past (3, 7) and the current ego → (P,) in {0, 1}."""
    past = np.broadcast_to(history_states(history, ego), (len(states), HISTORY_STATES, STATE_SIZE))
    checks = comfort_checks_v2(np.concatenate([past, states], axis=1), DT)
    return np.logical_and.reduce(list(checks.values())).astype(np.float64)


def _features(states: np.ndarray) -> dict[str, np.ndarray]:
    """(B, T, 11) → {name: (B, T)} signals of the extended-comfort test."""
    heading = np.unwrap(states[..., HEADING], axis=-1)
    acceleration = _smooth(np.hypot(states[..., AX], states[..., AY]), 8, 2)
    return {
        "acceleration": acceleration,
        "jerk": _smooth(acceleration, 15, 2, deriv=1, dt=DT),
        "yaw_rate": _smooth(heading, 5, 2, deriv=1, dt=DT),
        "yaw_acceleration": _smooth(heading, 5, 2, deriv=2, dt=DT),
    }


def two_frame_comfort(current: np.ndarray, previous: np.ndarray, gap: float) -> float:
    """1.0 when the simulated states (T, 11) of a token and of the one ``gap`` s before agree (see module doc)."""
    if not 0.0 < gap <= PAIR_GAP:
        raise ValueError(f"two-frame comfort pairs tokens 0 < gap ≤ {PAIR_GAP} s apart, got {gap} s")
    shift = round(gap / DT)
    now, before = _features(current[None, :-shift]), _features(previous[None, shift:])
    within = all(np.sqrt(np.mean((now[k] - before[k]) ** 2)) <= limit for k, limit in EC_LIMITS.items())
    return float(within)
