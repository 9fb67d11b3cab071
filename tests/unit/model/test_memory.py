"""Temporal memory (StreamPETR-style propagated queries): ego-motion compensation, resets, slot independence,
the memory's part in the forward pass and in training."""

import math

import pytest
import torch
from model_helpers import load_onedrive, make_batch

from onedrive.errors import InputError
from onedrive.model.initial_values import randomise_initial_values
from onedrive.model.position_3d import denormalise_points
from onedrive.model.streaming import continues

MEMORY = dict(memory_size=6, memory_topk=4, memory_propagated=3, memory_max_gap_seconds=2.0)


def pose(x: float, y: float, yaw: float) -> torch.Tensor:
    """(4, 4) float64 ego→global pose."""
    matrix = torch.eye(4, dtype=torch.float64)
    matrix[:2, :2] = torch.tensor([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    matrix[:2, 3] = torch.tensor([x, y])
    return matrix


def stream(batch, scenes, times, poses):
    batch.scene_tokens = list(scenes)
    batch.timestamps = torch.tensor(times, dtype=torch.float64)
    batch.ego_to_global = torch.stack(poses)
    return batch


@pytest.fixture(scope="module")
def memory_model(internvl_dir):
    model = load_onedrive(internvl_dir, **MEMORY)
    randomise_initial_values(model, std=0.05, seed=7)  # as after training: the zero-started layers speak
    with torch.no_grad():  # spread the class scores, so that the memory's top-k has no near ties
        model.det_head.classifier[-1].weight.mul_(100.0)
        model.lane_head.classifier[-1].weight.mul_(100.0)
    return model


def frame_batch(scenes, times, poses, seed=0):
    batch = make_batch(text_lengths=(8,) * len(scenes), seed=seed)
    batch.labels = None
    return stream(batch, scenes, times, poses)


def test_static_object_lands_on_its_position_in_the_new_frame(memory_model):
    """A query stored at a static object's position in frame 0 is, at frame 1, at that object's position in
    frame 1's ego frame (the ego moved 3.5 m and turned 0.4 rad)."""
    streaming = memory_model.stream_memory
    pose0, pose1 = pose(100.0, -20.0, 0.3), pose(103.0, -18.2, 0.7)
    static_global = torch.tensor([112.0, -14.0, 0.8], dtype=torch.float64)
    in_frame = [
        (torch.linalg.inv(p) @ torch.cat([static_global, torch.ones(1, dtype=torch.float64)]))[:3]
        for p in (pose0, pose1)
    ]
    hidden = memory_model.config.text_config.hidden_size
    count = 11  # the frame's det / lane queries
    scores = torch.zeros(1, count)
    scores[0, 5] = 0.9  # the object's query scores best: it is the newest, first entry
    det_points = torch.zeros(1, count, 1, 3)
    det_points[0, 5, 0] = in_frame[0].float()
    lane_points = torch.zeros(1, count, memory_model.config.task_config.lane_points, 3)
    frame = {
        "det": (torch.randn(1, count, hidden), scores, det_points),
        "lane": (torch.randn(1, count, hidden), scores, lane_points),
    }
    keep, _ = streaming.align(None, ["scene"], torch.tensor([0.0], dtype=torch.float64), pose0[None], torch.float32)
    state = streaming.update(None, keep, frame, ["scene"], torch.tensor([0.0], dtype=torch.float64), pose0[None])
    keep, aligned = streaming.align(
        state, ["scene"], torch.tensor([0.5], dtype=torch.float64), pose1[None], torch.float32
    )
    assert keep.tolist() == [True]
    landed = denormalise_points(aligned["det"].propagated_reference[0, 0, 0], streaming.position_range)
    assert torch.allclose(landed.double(), in_frame[1], atol=1e-4)  # float32 normalised coordinates
    assert not torch.allclose(in_frame[0], in_frame[1], atol=1.0)  # the ego did move


def test_reset_at_scene_change_and_time_gap_per_slot(memory_model):
    """Three slots: one continues, one changes scene, one skips 2.5 s (over the 2 s limit); one stays at the
    same time. Only the first keeps its memory; a first call (no state) keeps nothing."""
    identity = [torch.eye(4, dtype=torch.float64)] * 4
    first = memory_model.predict(frame_batch(["a", "b", "c", "d"], [1.0, 1.0, 1.0, 1.0], identity)).memory
    assert not continues(None, ["a"], torch.zeros(1, dtype=torch.float64), 2.0).any()
    following = frame_batch(["a", "x", "c", "d"], [1.5, 1.5, 3.5, 1.0], identity, seed=1)
    keep = continues(first, following.scene_tokens, following.timestamps, 2.0)
    assert keep.tolist() == [True, False, False, False]
    _, aligned = memory_model.stream_memory.align(
        first, following.scene_tokens, following.timestamps, following.ego_to_global, torch.float32
    )
    for part in aligned.values():
        assert part.key_valid[0].any() and not part.key_valid[1:].any()
    after = memory_model.predict(following, memory=first).memory
    for task in after.tasks.values():  # a reset slot keeps only this frame's queries
        assert task.valid[0].all() and task.valid[1:, : MEMORY["memory_topk"]].all()
        assert not task.valid[1:, MEMORY["memory_topk"] :].any()


def test_batch_slots_are_independent(memory_model):
    """Slot 0's two-frame stream gives the same predictions whatever slot 1 does (continues, resets) and alone."""
    poses = [pose(0.0, 0.0, 0.0), pose(5.0, 1.0, 0.2)]

    def run(second_scene_of_slot1, alone=False):
        one = frame_batch(["a", "b"], [0.0, 0.0], [poses[0]] * 2)
        two = frame_batch(["a", second_scene_of_slot1], [0.5, 0.5], [poses[1]] * 2, seed=1)
        if alone:
            one, two = _first_slot(one), _first_slot(two)
        return memory_model.predict(two, memory=memory_model.predict(one).memory)

    together, reset_beside, alone = run("b"), run("z"), run("b", alone=True)
    for other in (reset_beside, alone):
        assert torch.allclose(together.detections[0].boxes, other.detections[0].boxes, atol=1e-5)
        assert torch.allclose(together.lanes[0].points, other.lanes[0].points, atol=1e-5)
        assert torch.allclose(together.trajectory[0], other.trajectory[0], atol=1e-5)
    assert not torch.allclose(together.detections[1].scores, reset_beside.detections[1].scores)


def _first_slot(batch):
    from model_helpers import select

    batch.labels = batch.input_ids.clone()
    one = select(batch, 0)
    one.labels = None
    return stream(one, batch.scene_tokens[:1], batch.timestamps[:1].tolist(), [batch.ego_to_global[0]])


def test_memory_changes_the_next_frame_and_masked_entries_do_not(memory_model):
    """The carried memory changes the next frame's outputs (it is read); the content of empty (invalid) entries,
    masked out of the query self-attention, does not."""
    poses = [pose(0.0, 0.0, 0.0), pose(2.0, 0.0, 0.1)]
    first = memory_model.predict(frame_batch(["a"], [0.0], poses[:1])).memory
    second = frame_batch(["a"], [0.5], poses[1:], seed=1)
    carried = memory_model.predict(second, memory=first)
    fresh = memory_model.predict(second)
    assert not torch.allclose(carried.detections[0].scores, fresh.detections[0].scores)
    garbage = first.detach()
    for task in garbage.tasks.values():  # the entries after the first topk are still empty
        assert not task.valid[:, MEMORY["memory_topk"] :].any()
        task.embedding[:, MEMORY["memory_topk"] :] = 100.0
        task.reference[:, MEMORY["memory_topk"] :] = torch.randn_like(task.reference[:, MEMORY["memory_topk"] :]) * 20
    changed = memory_model.predict(second, memory=garbage)
    assert torch.equal(changed.detections[0].boxes, carried.detections[0].boxes)


def test_training_step_carries_a_detached_memory(memory_model):
    """Two training steps: the second reads the first's (detached) memory; the motion-aware layer norm learns."""
    memory_model.train()
    try:
        batch = stream(make_batch(text_lengths=(8, 8)), ["a", "b"], [0.0, 0.0], [pose(0, 0, 0)] * 2)
        first = memory_model(**batch)
        state = first.memory.detach()
        assert all(not task.embedding.requires_grad for task in state.tasks.values())
        batch = stream(make_batch(text_lengths=(8, 8), seed=1), ["a", "b"], [0.5, 0.5], [pose(1, 0, 0)] * 2)
        second = memory_model(**batch, memory=state)
        memory_model.zero_grad()
        second.loss.backward()
        gradient = memory_model.stream_memory.motion_norms["det"].reduce[0].weight.grad
        assert gradient is not None and gradient.abs().sum() > 0
    finally:
        memory_model.zero_grad()
        memory_model.eval()


def test_memory_needs_stream_fields_and_a_matching_batch(memory_model, internvl_dir):
    batch = make_batch(text_lengths=(8, 8))
    with pytest.raises(InputError, match="scene_tokens, timestamps and ego_to_global"):
        memory_model.predict(batch)
    state = memory_model.predict(frame_batch(["a", "b"], [0.0, 0.0], [pose(0, 0, 0)] * 2)).memory
    with pytest.raises(InputError, match="memory holds 2 batch slots, the batch has 1"):
        memory_model.predict(frame_batch(["a"], [0.5], [pose(0, 0, 0)]), memory=state)
    with pytest.raises(InputError, match="no temporal memory"):
        load_onedrive(internvl_dir).predict(batch, memory=state)


def test_memory_off_is_the_memory_free_model(internvl_dir):
    """memory_size = 0: no memory module, the stream fields change nothing, no state is returned."""
    model = load_onedrive(internvl_dir)
    randomise_initial_values(model, std=0.05, seed=7)
    assert model.stream_memory is None
    assert not any("stream_memory" in name for name in model.state_dict())
    plain = make_batch(text_lengths=(8, 8))
    plain.labels = None
    streamed = frame_batch(["a", "b"], [0.0, 0.0], [pose(3, 1, 0.2)] * 2)
    a, b = model.predict(plain), model.predict(streamed)
    assert b.memory is None
    assert torch.equal(a.detections[0].boxes, b.detections[0].boxes)
    assert torch.equal(a.trajectory, b.trajectory)


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(memory_topk=2), "need memory_size > 0"),
        (dict(memory_size=4, memory_topk=5), "0 < memory_topk <= memory_size"),
        (dict(memory_size=40, memory_topk=20, memory_propagated=2), "exceeds the queries of a frame"),
        (dict(memory_size=4, memory_topk=2, memory_max_gap_seconds=0), "memory_max_gap_seconds must be > 0"),
    ],
)
def test_memory_settings_are_checked(settings, message):
    from onedrive.model.configuration_onedrive import OneDriveTaskConfig

    with pytest.raises(ValueError, match=message):
        OneDriveTaskConfig(num_det_queries=8, num_lane_queries=4, **settings)
