"""Batched LQR tracking with a kinematic bicycle model: 41 target poses → 41 simulated ego states.

Re-derived from NAVSIM's ``pdm_planner/simulation/`` (``pdm_simulator.py``, ``batch_lqr.py``,
``batch_lqr_utils.py``, ``batch_kinematic_bicycle.py``), themselves batched versions of
nuplan-devkit's ``LQRTracker`` and ``KinematicBicycleModel``; same parameters and update
order, so the simulated states match NAVSIM's for the same inputs:

* From the target poses, velocity and curvature profiles are fitted by regularised least
  squares (jerk penalty 1e-4, curvature-rate penalty 1e-2, initial-curvature penalty 1e-10).
* Each 0.1 s step: longitudinal one-step LQR toward the reference velocity 10 steps (1 s)
  ahead (Q 10, R 1), lateral LQR on (lateral error, heading error, steering angle) over the
  10-step curvature window (Q diag(1, 10, 0), R 1); below 0.2 m/s (both current and
  reference) a proportional stopping controller (gain 0.5) instead.
* The bicycle model low-pass filters the commands (time constants 0.2 s for acceleration,
  0.05 s for steering), integrates with forward Euler about the rear axle, keeps lateral
  velocity and lateral acceleration at 0 and clips the steering angle to ±π/3.

State columns (``STATE_SIZE`` = 11): x, y, heading (rear axle, global), vx, vy (rear axle,
ego frame), ax, ay, steering angle, steering rate, yaw rate, yaw acceleration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onedrive.evaluation.pdms.scene import EgoState, VehicleParameters
from onedrive.evaluation.pdms.trajectory import DT, wrap_angle

X, Y, HEADING, VX, VY, AX, AY, STEER, STEER_RATE, YAW_RATE, YAW_ACC = range(11)
STATE_SIZE = 11


@dataclass(frozen=True)
class TrackerParameters:
    """LQR / bicycle constants of NAVSIM's ``BatchLQRTracker`` and ``BatchKinematicBicycleModel``."""

    q_longitudinal: float = 10.0
    r_longitudinal: float = 1.0
    q_lateral: tuple[float, float, float] = (1.0, 10.0, 0.0)
    r_lateral: float = 1.0
    horizon: int = 10
    jerk_penalty: float = 1e-4
    curvature_rate_penalty: float = 1e-2
    initial_curvature_penalty: float = 1e-10
    stopping_gain: float = 0.5
    stopping_velocity: float = 0.2
    max_steering_angle: float = np.pi / 3
    accel_time_constant: float = 0.2
    steering_time_constant: float = 0.05


def initial_state(ego: EgoState) -> np.ndarray:
    """(11,) state array of the current ego."""
    state = np.zeros(STATE_SIZE, dtype=np.float64)
    state[[X, Y, HEADING]] = ego.x, ego.y, ego.heading
    state[[VX, VY]] = ego.velocity
    state[[AX, AY]] = ego.acceleration
    state[STEER] = ego.steering_angle
    state[YAW_RATE] = ego.yaw_rate
    return state


def _integrate(initial: np.ndarray, rates: np.ndarray, dt: float) -> np.ndarray:
    """(B,) initial values and (B, M) rates → (B, M + 1) profile by cumulative Euler sums."""
    return initial[:, None] + np.concatenate([np.zeros_like(initial)[:, None], np.cumsum(rates * dt, axis=1)], axis=1)


def fit_velocity_and_curvature(
    poses: np.ndarray, dt: float, params: TrackerParameters
) -> tuple[np.ndarray, np.ndarray]:
    """(B, N, 3) poses → velocity (B, N-1) and curvature (B, N-1) profiles (``batch_lqr_utils.py``).

    Displacement i is modelled as dt·v_i·(cos h_i, sin h_i) with v_i = v_0 + dt·Σ_{k<i} a_k,
    heading change i as dt·v_i·κ_i with κ_i = κ_0 + dt·Σ_{k<i} κ'_k; both solved as
    Tikhonov-regularised least squares.
    """
    batch, num_poses, _ = poses.shape
    m = num_poses - 1
    displacement = np.diff(poses[..., :2], axis=1)  # (B, M, 2)
    heading_change = wrap_angle(np.diff(poses[..., 2], axis=1))  # (B, M)

    # velocity: unknowns [v0, a_0 .. a_{M-2}]
    coefficients = np.tril(np.full((m, m), dt * dt), k=0)  # (M, M): column j ≥ 1 is a_{j-1}, used when j ≤ i
    coefficients[:, 0] = dt
    directions = np.stack([np.cos(poses[:, :-1, 2]), np.sin(poses[:, :-1, 2])], axis=-1)  # (B, M, 2)
    design = (directions[..., None] * coefficients[None, :, None, :]).reshape(batch, 2 * m, m)  # (B, 2M, M)
    # NAVSIM's ``_make_banded_difference_matrix`` as released: its second assignment overwrites
    # the +1 band, so every row but the last penalises an acceleration itself, not a difference
    # (nuPlan's original penalises differences). Kept so that the tracking matches NAVSIM.
    difference = np.zeros((m - 2, m))
    difference[np.arange(m - 2), np.arange(1, m - 1)] = -1.0
    difference[m - 3, m - 1] = 1.0
    normal = np.einsum("bki,bkj->bij", design, design) + params.jerk_penalty * difference.T @ difference
    solution = np.linalg.solve(normal, np.einsum("bki,bk->bi", design, displacement.reshape(batch, 2 * m)))
    velocity = _integrate(solution[:, 0], solution[:, 1:], dt)  # (B, M)

    # curvature: unknowns [κ0, κ'_0 .. κ'_{M-2}]
    design = np.tril(np.ones((m, m)))[None] * (velocity * dt * dt)[:, :, None]  # (B, M, M)
    design[:, :, 0] = velocity * dt
    regulariser = params.curvature_rate_penalty * np.eye(m)
    regulariser[0, 0] = params.initial_curvature_penalty
    normal = np.einsum("bki,bkj->bij", design, design) + regulariser
    solution = np.linalg.solve(normal, np.einsum("bki,bk->bi", design, heading_change))
    curvature = _integrate(solution[:, 0], solution[:, 1:], dt)  # (B, M)
    return velocity, curvature


class BatchTracker:
    """Tracks B target pose sequences (B, N, 3) from one start state; ``simulate`` runs all steps."""

    def __init__(self, vehicle: VehicleParameters, params: TrackerParameters = TrackerParameters(), dt: float = DT):
        self.vehicle = vehicle
        self.params = params
        self.dt = dt

    def simulate(self, targets: np.ndarray, start: np.ndarray) -> np.ndarray:
        """targets (B, N, 3) global rear-axle poses, start (11,) → simulated states (B, N, 11)."""
        batch, num_poses, _ = targets.shape
        velocity_profile, curvature_profile = fit_velocity_and_curvature(targets, self.dt, self.params)
        states = np.zeros((batch, num_poses, STATE_SIZE), dtype=np.float64)
        states[:, 0] = start
        for index in range(num_poses - 1):
            accel, steering_rate = self._commands(index, states[:, index], targets, velocity_profile, curvature_profile)
            states[:, index + 1] = self._propagate(states[:, index], accel, steering_rate)
        return states

    def _commands(
        self, index: int, state: np.ndarray, targets: np.ndarray, velocity_profile: np.ndarray, curvature: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Acceleration and steering-rate commands (B,), (B,) at step ``index``."""
        p, dt, horizon = self.params, self.dt, self.params.horizon
        reference = targets[:, index]  # (B, 3)
        dx, dy = state[:, X] - reference[:, 0], state[:, Y] - reference[:, 1]
        lateral_state = np.stack(
            [
                -dx * np.sin(reference[:, 2]) + dy * np.cos(reference[:, 2]),
                wrap_angle(state[:, HEADING] - reference[:, 2]),
                state[:, STEER],
            ],
            axis=1,
        )  # (B, 3)
        velocity = state[:, VX]

        last = velocity_profile.shape[1] - 1
        reference_index = min(index + horizon, last)
        reference_velocity = velocity_profile[:, reference_index]
        window = np.repeat(curvature[:, reference_index : reference_index + 1], horizon, axis=1)  # (B, H)
        window[:, : reference_index - index] = curvature[:, index:reference_index]

        accel = np.zeros_like(velocity)
        steering_rate = np.zeros_like(velocity)
        stopping = (reference_velocity <= p.stopping_velocity) & (velocity <= p.stopping_velocity)
        accel[stopping] = -p.stopping_gain * (velocity[stopping] - reference_velocity[stopping])

        run = ~stopping
        if run.any():
            gain = horizon * dt  # velocity after the horizon with constant acceleration: v + gain·a
            accel[run] = (
                -gain
                * p.q_longitudinal
                * (velocity[run] - reference_velocity[run])
                / (gain * p.q_longitudinal * gain + p.r_longitudinal)
            )
            speeds = velocity[run, None] + accel[run, None] * dt * np.arange(horizon)  # (b, H)
            steering_rate[run] = self._lateral_lqr(lateral_state[run], speeds, window[run])
        return accel, steering_rate

    def _lateral_lqr(self, lateral_state: np.ndarray, speeds: np.ndarray, curvature: np.ndarray) -> np.ndarray:
        """One-step LQR over the horizon for the linearised lateral dynamics → steering rate (b,).

        Per step k the state (lateral error e, heading error ψ, steering δ) evolves as
        e += v_k·dt·ψ, ψ += v_k·dt/L·δ − v_k·κ_k·dt, δ += dt·u. These step matrices are
        upper unitriangular, so the product over the horizon (A), the accumulated input column
        (B) and the affine term (g) reduce to sums over the horizon, written with cumulative
        sums instead of a loop of matrix products (same values).
        """
        dt, wheel_base = self.dt, self.vehicle.wheel_base
        lat = speeds * dt  # (b, H) step entry (0, 1)
        head = speeds * dt / wheel_base  # (b, H) step entry (1, 2)
        drift = -speeds * curvature * dt  # (b, H) affine heading term

        def before(values: np.ndarray) -> np.ndarray:  # (b, H) → sum over the earlier steps
            return np.cumsum(values, axis=1) - values

        steps_before = dt * np.arange(speeds.shape[1])  # accumulated input on the steering entry
        a01, a12 = lat.sum(axis=1), head.sum(axis=1)
        a02 = (lat * before(head)).sum(axis=1)
        b2 = np.full(len(speeds), dt * speeds.shape[1])
        b1_before = before(head * steps_before)
        b1, b0 = b1_before[:, -1] + head[:, -1] * steps_before[-1], (lat * b1_before).sum(axis=1)
        g1, g0 = drift.sum(axis=1), (lat * before(drift)).sum(axis=1)
        x0, x1, x2 = lateral_state.T
        error = np.stack([x0 + a01 * x1 + a02 * x2 + g0, wrap_angle(x1 + a12 * x2 + g1), wrap_angle(x2)], axis=1)
        control = np.stack([b0, b1, b2], axis=1)  # (b, 3)
        weights = np.asarray(self.params.q_lateral)
        return -(control * weights * error).sum(axis=1) / (
            (control * weights * control).sum(axis=1) + self.params.r_lateral
        )

    def _propagate(self, state: np.ndarray, accel_command: np.ndarray, steering_rate_command: np.ndarray) -> np.ndarray:
        """One bicycle-model step (B, 11) → (B, 11)."""
        p, dt, wheel_base = self.params, self.dt, self.vehicle.wheel_base
        accel = state[:, AX] + dt / (dt + p.accel_time_constant) * (accel_command - state[:, AX])
        steer = state[:, STEER]
        ideal_steer = steer + dt * steering_rate_command
        filtered_steer = steer + dt / (dt + p.steering_time_constant) * (ideal_steer - steer)
        steering_rate = (filtered_steer - steer) / dt

        velocity = state[:, VX]
        out = state.copy()
        out[:, X] = state[:, X] + dt * velocity * np.cos(state[:, HEADING])
        out[:, Y] = state[:, Y] + dt * velocity * np.sin(state[:, HEADING])
        out[:, HEADING] = wrap_angle(state[:, HEADING] + dt * velocity * np.tan(steer) / wheel_base)
        out[:, VX] = velocity + dt * accel
        out[:, VY] = 0.0
        out[:, STEER] = np.clip(steer + dt * steering_rate, -p.max_steering_angle, p.max_steering_angle)
        out[:, YAW_RATE] = out[:, VX] * np.tan(out[:, STEER]) / wheel_base
        out[:, AX] = accel
        out[:, AY] = 0.0
        out[:, YAW_ACC] = (out[:, YAW_RATE] - state[:, YAW_RATE]) / dt
        out[:, STEER_RATE] = steering_rate
        return out
