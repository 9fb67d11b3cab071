"""LQR + bicycle tracker: closed-form lateral LQR parity, tracking accuracy."""

import numpy as np

from onedrive.evaluation.pdms.scene import PACIFICA, EgoState
from onedrive.evaluation.pdms.tracker import (
    VX,
    BatchTracker,
    TrackerParameters,
    fit_velocity_and_curvature,
    initial_state,
)
from onedrive.evaluation.pdms.trajectory import wrap_angle


def _lateral_lqr_by_matrix_products(tracker, state, speeds, curvature):
    """The textbook form: multiply the per-step 3 × 3 matrices (NAVSIM batch_lqr.py's construction)."""
    dt, wheel_base = tracker.dt, tracker.vehicle.wheel_base
    out = []
    for x0, v, kappa in zip(state, speeds, curvature):
        a, b, g = np.eye(3), np.zeros(3), np.zeros(3)
        for k in range(len(v)):
            step = np.eye(3)
            step[0, 1], step[1, 2] = v[k] * dt, v[k] * dt / wheel_base
            a, b = step @ a, step @ b + np.array([0, 0, dt])
            g = step @ g + np.array([0, -v[k] * kappa[k] * dt, 0])
        error = a @ x0 + g
        error[1:] = wrap_angle(error[1:])
        q = np.diag(tracker.params.q_lateral)
        out.append(-(b @ q @ error) / (b @ q @ b + tracker.params.r_lateral))
    return np.array(out)


def test_closed_form_lateral_lqr_matches_matrix_products():
    rng = np.random.default_rng(0)
    tracker = BatchTracker(PACIFICA)
    state = rng.normal(0, [0.5, 0.1, 0.05], size=(6, 3))
    speeds = rng.uniform(0, 15, size=(6, 10))
    curvature = rng.normal(0, 0.02, size=(6, 10))
    np.testing.assert_allclose(
        tracker._lateral_lqr(state, speeds, curvature),
        _lateral_lqr_by_matrix_products(tracker, state, speeds, curvature),
        rtol=1e-10,
        atol=1e-12,
    )


def test_velocity_fit_recovers_constant_speed():
    t = np.arange(41) * 0.1
    poses = np.stack([8.0 * t, np.zeros_like(t), np.zeros_like(t)], axis=1)[None]
    velocity, curvature = fit_velocity_and_curvature(poses, 0.1, TrackerParameters())
    np.testing.assert_allclose(velocity, 8.0, atol=1e-6)
    np.testing.assert_allclose(curvature, 0.0, atol=1e-9)


def test_tracks_straight_and_curved_targets():
    t = np.arange(41) * 0.1
    straight = np.stack([8.0 * t, np.zeros_like(t), np.zeros_like(t)], axis=1)
    radius = 60.0
    angle = 8.0 * t / radius
    curve = np.stack([radius * np.sin(angle), radius * (1 - np.cos(angle)), angle], axis=1)
    start = initial_state(EgoState(0.0, 0.0, 0.0, (8.0, 0.0), (0.0, 0.0)))
    states = BatchTracker(PACIFICA).simulate(np.stack([straight, curve]), start)  # (2, 41, 11)
    assert states.shape == (2, 41, 11)
    np.testing.assert_allclose(states[0, :, :2], straight[:, :2], atol=1e-6)
    assert np.linalg.norm(states[1, :, :2] - curve[:, :2], axis=1).max() < 0.5
    np.testing.assert_allclose(states[:, :, VX], 8.0, atol=0.2)
