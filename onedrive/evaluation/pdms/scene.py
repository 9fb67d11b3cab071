"""What the PDM scorer needs to know about one NAVSIM token (plain, typed dataclasses).

A later NAVSIM log reader (and the synthetic log writer) builds these; the scorer only
reads them. Everything is in the **global frame** (metres, radians, yaw counter-clockwise
from x) except where a field says otherwise.

* ``EgoState``: the ego at the current frame (the token's frame index 3): rear-axle pose,
  rear-axle velocity and acceleration in the ego frame (NAVSIM ``ego_dynamic_state``
  ``[vx, vy, ax, ay]``), optionally yaw rate and tire steering angle (0 in nuPlan logs).
* ``ObjectTrack``: one other traffic participant or obstacle as the log recorded it from
  the current frame on (non-reactive): times in seconds since the current frame, box
  centre poses, global velocities, box length/width and a class. NAVSIM's metric cache
  samples the log at 2 Hz over 5 s (11 frames, ``metric_cache_processor.py``
  ``_interpolate_gt_observation``) and interpolates to 10 Hz; give the full 5 s when the
  log has it, because TTC looks up to 0.9 s beyond the 4 s horizon. A track is present
  only between its first and last time (a single-sample track is present throughout),
  exactly as NAVSIM's ``StateInterpolator`` behaves.
* ``EPDMSInputs``: what NAVSIM v2's extended score needs beyond that (``epdms.py``): the
  log and time of the token (two-frame extended comfort pairs a token with the one 0.5 s
  earlier in its log), the ego's 3 history frames (history comfort), the logged future
  (the human agent of the false-positive filter) and the red lane connectors of the
  current and 8 future frames (traffic-light compliance).
* ``PDMSScene``: token + ego + tracks + the map (``onedrive.evaluation.pdms.map``) and,
  optionally, the ``EPDMSInputs``.

The ego vehicle is nuPlan's Chrysler Pacifica (``get_pacifica_parameters`` in
nuplan-devkit ``vehicle_parameters.py``), the vehicle NAVSIM scores with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from onedrive.evaluation.pdms.map import PDMSMap

OBJECT_CLASSES = ("vehicle", "pedestrian", "bicycle", "static")
"""``static`` covers nuPlan's static object types (barrier, traffic cone, czone sign, generic
object); the first three are nuPlan's ``AGENT_TYPES``. NAVSIM ``gt_names`` map as:
vehicle → vehicle, pedestrian → pedestrian, bicycle → bicycle, everything else → static."""


@dataclass(frozen=True)
class VehicleParameters:
    """Ego footprint (nuplan-devkit ``get_pacifica_parameters``), metres."""

    width: float = 1.1485 * 2.0
    front_length: float = 4.049  # rear axle to front bumper
    rear_length: float = 1.127  # rear axle to rear bumper
    wheel_base: float = 3.089

    @property
    def length(self) -> float:
        return self.front_length + self.rear_length

    @property
    def half_length(self) -> float:
        return self.length / 2.0

    @property
    def half_width(self) -> float:
        return self.width / 2.0

    @property
    def rear_axle_to_center(self) -> float:
        return self.half_length - self.rear_length


PACIFICA = VehicleParameters()


def _finite_array(value, shape: tuple, what: str, token: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        shape_text = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"token {token!r}: {what} must have shape {shape_text}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"token {token!r}: {what} contains NaN or inf: {array.tolist()}")
    return array


@dataclass(frozen=True)
class EgoState:
    """Ego at the current frame. ``velocity``/``acceleration``: (x, y) in the ego frame."""

    x: float
    y: float
    heading: float
    velocity: tuple[float, float]
    acceleration: tuple[float, float]
    yaw_rate: float = 0.0
    steering_angle: float = 0.0

    def validate(self, token: str) -> None:
        values = [self.x, self.y, self.heading, *self.velocity, *self.acceleration, self.yaw_rate, self.steering_angle]
        _finite_array(values, (9,), "ego state (x, y, heading, vx, vy, ax, ay, yaw_rate, steering_angle)", token)

    @property
    def pose(self) -> np.ndarray:
        return np.array([self.x, self.y, self.heading], dtype=np.float64)  # (3,)


@dataclass(frozen=True)
class ObjectTrack:
    """One object's recorded future. Arrays are converted to float64 and checked.

    times:      (T,) seconds since the current frame, strictly increasing, ≥ 0.
    poses:      (T, 3) box centre x, y, heading (global).
    velocities: (T, 2) global vx, vy in m/s (ignored for ``static``).
    length, width: box size in metres.
    """

    token: str
    object_class: str
    times: np.ndarray
    poses: np.ndarray
    velocities: np.ndarray
    length: float
    width: float

    def validate(self, scene_token: str) -> None:
        where = f"object {self.token!r}"
        if self.object_class not in OBJECT_CLASSES:
            raise ValueError(
                f"token {scene_token!r}: {where} has class {self.object_class!r}, expected one of {OBJECT_CLASSES}"
            )
        times = _finite_array(self.times, (None,), f"{where} times", scene_token)
        if len(times) == 0 or times[0] < 0 or (np.diff(times) <= 0).any():
            raise ValueError(
                f"token {scene_token!r}: {where} times must be non-empty, ≥ 0 and strictly increasing, got {times}"
            )
        _finite_array(self.poses, (len(times), 3), f"{where} poses", scene_token)
        _finite_array(self.velocities, (len(times), 2), f"{where} velocities", scene_token)
        size = _finite_array([self.length, self.width], (2,), f"{where} length/width", scene_token)
        if (size <= 0).any():
            raise ValueError(f"token {scene_token!r}: {where} needs positive length and width, got {size}")


HISTORY_FRAMES = 3  # the past ego states before the current one: 1.5, 1.0 and 0.5 s before the token
LIGHT_FRAMES = 9  # traffic-light status of the current frame and the 8 future frames (0 … 4 s at 2 Hz)


@dataclass(frozen=True)
class EPDMSInputs:
    """A token's inputs to NAVSIM v2's extended score (see module docstring).

    history:    (3, 7) x, y, heading (global) and ego-frame vx, vy, ax, ay of the rear axle
                1.5, 1.0 and 0.5 s before the token (NAVSIM ``get_ego_past_trajectory``).
    human:      (8, 3) the logged future poses, current rear-axle frame (NAVSIM's human agent).
    red_lights: 9 tuples of lane-connector ids whose light is red at 0, 0.5, …, 4 s.
    """

    log_name: str
    time: float  # seconds, the token's timestamp
    history: np.ndarray
    human: np.ndarray
    red_lights: tuple[tuple[str, ...], ...]

    def validate(self, token: str) -> None:
        """Shapes and finiteness; red lights on lanes off the route (or off the map) are ignored, as in NAVSIM."""
        _finite_array(self.history, (HISTORY_FRAMES, 7), "history (x, y, heading, vx, vy, ax, ay)", token)
        _finite_array(self.human, (8, 3), "human (logged future poses)", token)
        if len(self.red_lights) != LIGHT_FRAMES:
            raise ValueError(f"token {token!r}: red_lights needs {LIGHT_FRAMES} frames, got {len(self.red_lights)}")


@dataclass(frozen=True)
class PDMSScene:
    """One token to score: the current ego state, the logged objects, the map and the EPDMS inputs if known."""

    token: str
    ego: EgoState
    objects: tuple[ObjectTrack, ...]
    map: PDMSMap
    vehicle: VehicleParameters = field(default=PACIFICA)
    extended: EPDMSInputs | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the token and the problem."""
        self.ego.validate(self.token)
        if self.extended is not None:
            self.extended.validate(self.token)
        seen: set[str] = set()
        for track in self.objects:
            track.validate(self.token)
            if track.token in seen:
                raise ValueError(f"token {self.token!r}: object token {track.token!r} appears twice")
            seen.add(track.token)
