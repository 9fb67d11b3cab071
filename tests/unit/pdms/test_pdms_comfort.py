"""Comfort bounds with Savitzky–Golay filtered derivatives."""

import numpy as np
from scipy.signal import savgol_filter

from onedrive.evaluation.pdms.comfort import _savgol_matrix, comfort_checks, is_comfortable
from onedrive.evaluation.pdms.tracker import AX, HEADING, STATE_SIZE, VX


def _states(accel: np.ndarray, yaw: np.ndarray | None = None) -> np.ndarray:
    states = np.zeros((1, 41, STATE_SIZE))
    states[0, :, AX] = accel
    states[0, :, VX] = 10 + np.cumsum(accel) * 0.1
    if yaw is not None:
        states[0, :, HEADING] = yaw
    return states


def test_savgol_matrix_equals_scipy():
    x = np.random.default_rng(1).normal(size=(4, 41))
    for window, order, deriv in [(41, 2, 0), (8, 2, 0), (41, 2, 1), (5, 3, 2), (5, 2, 1)]:
        expected = savgol_filter(x, window, order, deriv=deriv, delta=0.1, axis=-1)
        np.testing.assert_allclose(x @ _savgol_matrix(41, window, order, deriv, 0.1), expected, atol=1e-9)


def test_constant_speed_is_comfortable_and_harsh_braking_is_not():
    assert is_comfortable(_states(np.zeros(41)), 0.1).tolist() == [True]
    braking = np.where(np.arange(41) >= 5, -8.0, 0.0)
    checks = comfort_checks(_states(braking), 0.1)
    assert not checks["lon_acceleration"][0] and not checks["lon_jerk"][0]
    assert is_comfortable(_states(braking), 0.1).tolist() == [False]


def test_fast_yaw_breaks_comfort():
    yaw = 1.2 * np.arange(41) * 0.1  # 1.2 rad/s > 0.95
    checks = comfort_checks(_states(np.zeros(41), yaw), 0.1)
    assert not checks["yaw_rate"][0] and checks["lon_acceleration"][0]
