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

from onedrive.data.synthetic.traffic import FRAME_DT, SUBSTEPS, EgoTrack

STEP_US = int(round(FRAME_DT * 1e6)) // SUBSTEPS


def pose_messages(ego: EgoTrack, first_timestamp_us: int) -> list[dict]:
    """The ego's pose messages, one per integration step from ``first_timestamp_us`` (the first key frame)."""
    fine = ego.fine_states  # (F, 4) x, y, yaw, speed
    step_s = STEP_US * 1e-6
    yaw = np.unwrap(fine[:, 2])
    speed = fine[:, 3]
    yaw_rate = np.concatenate([[0.0], np.diff(yaw) / step_s])  # (F,) over the step ending at each message
    longitudinal = np.concatenate([[0.0], np.diff(speed) / step_s])  # (F,)
    lateral = speed * yaw_rate  # (F,) centripetal
    messages = []
    for index in range(len(fine)):
        x, y, heading, _ = fine[index]
        messages.append({
            "utime": int(first_timestamp_us) + index * STEP_US,
            "pos": [float(x), float(y), 0.0],
            "orientation": [float(v) for v in Quaternion(axis=[0.0, 0.0, 1.0], angle=float(heading)).elements],
            "vel": [float(speed[index]), 0.0, 0.0],
            "accel": [float(longitudinal[index]), float(lateral[index]), 0.0],
            "rotation_rate": [0.0, 0.0, float(yaw_rate[index])],
        })
    return messages
