"""The synthetic ego's sensors report the present and the past: the CAN bus messages (nuScenes)
and ``ego_dynamic_state`` (NAVSIM) of a frame do not change when the ego's later motion does."""

from dataclasses import replace

import numpy as np

from onedrive.synthetic import SyntheticConfig, generate_world
from onedrive.synthetic.can_bus import pose_messages
from onedrive.synthetic.navsim_writer import dynamic_state
from onedrive.synthetic.traffic import SUBSTEPS


def test_sensors_ignore_the_later_motion():
    ego = generate_world(SyntheticConfig(scenes=2, samples_per_scene=6)).scenes[0].traffic.ego
    np.testing.assert_array_equal(ego.fine_states[::SUBSTEPS], ego.states)
    messages, dynamics = pose_messages(ego, 0), dynamic_state(ego)  # (F,), (T, 4)
    assert len(messages) == len(ego.fine_states) and messages[SUBSTEPS]["utime"] == 500_000
    for frame in range(len(ego.states) - 1):
        cut = frame * SUBSTEPS  # fine step of the frame
        moved = ego.fine_states.copy()
        moved[cut + 1 :, :3] += np.array([2.0, -1.0, 0.3])
        moved[cut + 1 :, 3] *= 1.5
        later = replace(ego, fine_states=moved, states=moved[::SUBSTEPS])
        assert pose_messages(later, 0)[: cut + 1] == messages[: cut + 1]
        assert pose_messages(later, 0)[cut + 1 :] != messages[cut + 1 :]
        np.testing.assert_array_equal(dynamic_state(later)[: frame + 1], dynamics[: frame + 1])
