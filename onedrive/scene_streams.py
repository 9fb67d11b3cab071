"""The order in which a model with a temporal memory sees an evaluation split: each scene's key frames in
time order, the scenes spread over the batch slots.

``scene_slots(frames, slots)`` takes ``(token, scene token, timestamp)`` per key frame and returns, per
batch slot, the tokens that slot walks through: whole scenes one after another, each in time order. The
scenes go longest first to the slot with the fewest frames so far (ties: the lower slot), so the slots end
at about the same step; every key frame appears exactly once.
"""

from __future__ import annotations

from collections import defaultdict

from onedrive.errors import InputError


def scene_slots(frames: list[tuple[str, str, float]], slots: int) -> list[list[str]]:
    """frames: (sample token, scene token, timestamp) → per slot, the sample tokens in walking order."""
    if slots < 1:
        raise InputError(f"the number of batch slots must be >= 1, got {slots}")
    scenes: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for token, scene, timestamp in frames:
        scenes[scene].append((timestamp, token))
    for scene, members in scenes.items():
        members.sort()
        times = [timestamp for timestamp, _ in members]
        if len(set(times)) != len(times):
            raise InputError(
                f"scene {scene!r} has two key frames with the same timestamp; a stream needs distinct times"
            )
    order = sorted(scenes, key=lambda scene: (-len(scenes[scene]), scene))
    walks: list[list[str]] = [[] for _ in range(min(slots, len(scenes)))]
    for scene in order:
        shortest = min(range(len(walks)), key=lambda slot: (len(walks[slot]), slot))
        walks[shortest].extend(token for _, token in scenes[scene])
    return walks
