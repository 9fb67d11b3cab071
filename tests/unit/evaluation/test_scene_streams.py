"""scene_slots: the walking order of a split for a model with a temporal memory."""

import pytest

from onedrive.errors import InputError
from onedrive.scene_streams import scene_slots


def test_whole_scenes_in_time_order_spread_over_the_slots():
    frames = [("a2", "A", 2.0), ("b1", "B", 1.0), ("a1", "A", 1.0), ("c1", "C", 5.0), ("a3", "A", 3.0)]
    frames += [("b2", "B", 2.0)]
    walks = scene_slots(frames, 2)
    assert walks == [["a1", "a2", "a3"], ["b1", "b2", "c1"]]  # longest scene first, then to the shorter walk
    assert scene_slots(frames, 5) == [["a1", "a2", "a3"], ["b1", "b2"], ["c1"]]  # no empty slot
    assert scene_slots(frames, 1) == [["a1", "a2", "a3", "b1", "b2", "c1"]]


def test_bad_walks_are_refused():
    with pytest.raises(InputError, match="scene 'A' has two key frames with the same timestamp"):
        scene_slots([("a1", "A", 1.0), ("a2", "A", 1.0)], 1)
    with pytest.raises(InputError, match="batch slots must be >= 1, got 0"):
        scene_slots([("a1", "A", 1.0)], 0)
