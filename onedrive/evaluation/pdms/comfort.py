"""Comfort (C) of simulated ego states (NAVSIM ``scoring/pdm_comfort_metrics.py``).

Six bounds over the whole horizon, each value strictly inside its bound (open interval):

=====================  ==============  ===========================================================
quantity               bound           signal
=====================  ==============  ===========================================================
longitudinal accel.    (-4.05, 2.40)   savgol(ax, window = all states, order 2)
lateral accel.         |.| < 4.89      savgol(ay, window = all states, order 2)
jerk magnitude         |.| < 8.37      d/dt of savgol(|a|, window 8, order 2); derivative filter
                                       window = all states, order 2
longitudinal jerk      |.| < 4.13      the same on ax
yaw acceleration       |.| < 1.93      2nd derivative of the unwrapped heading, window 5, order 3
yaw rate               |.| < 0.95      1st derivative of the unwrapped heading, window 5, order 2
=====================  ==============  ===========================================================

Windows are as NAVSIM actually applies them: its yaw-rate helpers accept a window length
but do not pass it on, so both yaw signals use the default window of 5. Every filtered
signal is rounded to 8 decimals first, as there. Accelerations are the simulated states'
(the bicycle model keeps lateral acceleration at 0 after the first state, as in NAVSIM).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import savgol_filter

from onedrive.evaluation.pdms.tracker import AX, AY, HEADING

MIN_LON_ACCEL, MAX_LON_ACCEL = -4.05, 2.40
MAX_ABS_LAT_ACCEL = 4.89
MAX_ABS_JERK = 8.37
MAX_ABS_LON_JERK = 4.13
MAX_ABS_YAW_ACCEL = 1.93
MAX_ABS_YAW_RATE = 0.95
DECIMALS = 8


@lru_cache(maxsize=64)
def _savgol_matrix(length: int, window: int, order: int, deriv: int, dt: float) -> np.ndarray:
    """(T, T) matrix M with savgol_filter(x) == x @ M for signals of ``length`` (the filter is linear).

    Built by filtering the identity with scipy, so edges (mode "interp") match scipy exactly;
    one matrix product then filters a whole batch.
    """
    return savgol_filter(np.eye(length), window, order, deriv=deriv, delta=dt, axis=-1)


def _smooth(signal: np.ndarray, window: int, order: int, deriv: int = 0, dt: float = 1.0) -> np.ndarray:
    """Savitzky–Golay along the last axis with the window capped at the signal length, rounded."""
    length = signal.shape[-1]
    matrix = _savgol_matrix(length, min(window, length), order, deriv, float(dt))
    return np.round(signal @ matrix, DECIMALS)


def _inside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return ((values > low) & (values < high)).all(axis=-1)


def comfort_checks(states: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """states (B, T, 11) → {check name: (B,) bool}, True where the bound holds over all T."""
    num_steps = states.shape[1]
    ax, ay = states[..., AX], states[..., AY]  # (B, T)
    heading = np.unwrap(states[..., HEADING], axis=-1)  # (B, T)
    jerk = _smooth(_smooth(np.hypot(ax, ay), 8, 2), num_steps, 2, deriv=1, dt=dt)
    lon_jerk = _smooth(_smooth(ax, 8, 2), num_steps, 2, deriv=1, dt=dt)
    return {
        "lon_acceleration": _inside(_smooth(ax, num_steps, 2), MIN_LON_ACCEL, MAX_LON_ACCEL),
        "lat_acceleration": _inside(_smooth(ay, num_steps, 2), -MAX_ABS_LAT_ACCEL, MAX_ABS_LAT_ACCEL),
        "jerk": _inside(jerk, -MAX_ABS_JERK, MAX_ABS_JERK),
        "lon_jerk": _inside(lon_jerk, -MAX_ABS_LON_JERK, MAX_ABS_LON_JERK),
        "yaw_acceleration": _inside(_smooth(heading, 5, 3, deriv=2, dt=dt), -MAX_ABS_YAW_ACCEL, MAX_ABS_YAW_ACCEL),
        "yaw_rate": _inside(_smooth(heading, 5, 2, deriv=1, dt=dt), -MAX_ABS_YAW_RATE, MAX_ABS_YAW_RATE),
    }


def is_comfortable(states: np.ndarray, dt: float) -> np.ndarray:
    """(B, T, 11) → (B,) bool: all six comfort bounds hold."""
    return np.logical_and.reduce(list(comfort_checks(states, dt).values()))
