"""The synthetic ego's CAN bus ``pose`` messages, in the nuScenes CAN bus expansion format.

``pose_messages(ego, first_timestamp_us)`` → the list that ``can_bus/<scene>_pose.json``
holds and the devkit's ``NuScenesCanBus.get_messages(scene, "pose")`` returns: one
message per integration step of the ego (``FRAME_DT / SUBSTEPS`` = 0.1 s apart, 10 Hz;
the real expansion has 50 Hz), each ``{"utime", "pos", "orientation", "vel", "accel",
"rotation_rate"}`` (devkit ``nuscenes/can_bus/README.md``): position and orientation
(w, x, y, z) of the rear axle in the map frame, velocity, acceleration and rotation rate
in the ego frame (x forward, y left). Like a vehicle's sensors, a message reports what
the ego did up to its time: speed, the acceleration over the step that ends there
(longitudinal), centripetal ``speed · yaw_rate`` (lateral), and the yaw rate over that
step. The ego's first step has no step before it: the ego is taken to have held its
initial speed and heading, so its acceleration and yaw rate are 0.
"""

from __future__ import annotations

import numpy as np
from pyquaternion import Quaternion

from onedrive.synthetic.traffic import FRAME_DT, SUBSTEPS, EgoTrack

STEP_US = int(round(FRAME_DT * 1e6)) // SUBSTEPS


def ego_dynamics(ego: EgoTrack) -> np.ndarray:
    """(F, 4) ``[speed, longitudinal accel, lateral accel, yaw rate]`` at every integration step,
    each over the step that ends there (0 acceleration and yaw rate at the first step)."""
    fine = ego.fine_states  # (F, 4) x, y, yaw, speed
    step_s = STEP_US * 1e-6
    speed = fine[:, 3]
    yaw_rate = np.concatenate([[0.0], np.diff(np.unwrap(fine[:, 2])) / step_s])  # (F,)
    longitudinal = np.concatenate([[0.0], np.diff(speed) / step_s])  # (F,)
    return np.stack([speed, longitudinal, speed * yaw_rate, yaw_rate], axis=1)


def pose_messages(ego: EgoTrack, first_timestamp_us: int) -> list[dict]:
    """The ego's pose messages, one per integration step from ``first_timestamp_us`` (the first key frame)."""
    fine = ego.fine_states  # (F, 4) x, y, yaw, speed
    speed, longitudinal, lateral, yaw_rate = ego_dynamics(ego).T  # (F,) each
    messages = []
    for index in range(len(fine)):
        x, y, heading, _ = fine[index]
        messages.append(
            {
                "utime": int(first_timestamp_us) + index * STEP_US,
                "pos": [float(x), float(y), 0.0],
                "orientation": [float(v) for v in Quaternion(axis=[0.0, 0.0, 1.0], angle=float(heading)).elements],
                "vel": [float(speed[index]), 0.0, 0.0],
                "accel": [float(longitudinal[index]), float(lateral[index]), 0.0],
                "rotation_rate": [0.0, 0.0, float(yaw_rate[index])],
            }
        )
    return messages
