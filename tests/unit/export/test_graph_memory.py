"""The graph of a model with a temporal memory takes the state in and gives the next one out, equal to
``predict(batch, memory=...)`` frame after frame; a reset slot computes what ``memory=None`` computes."""

import math

import pytest
import torch
from model_helpers import graph_inputs, load_onedrive, make_batch

from onedrive.export import (
    GRAPH_INPUTS,
    MEMORY_INPUTS,
    MEMORY_OUTPUTS,
    STRUCTURED_OUTPUTS,
    StructuredGraph,
    check_graph_inputs,
    graph_input_names,
    memory_from_graph_outputs,
    memory_graph_inputs,
)
from onedrive.model.initial_values import randomise_initial_values
from onedrive.model.streaming import continues

MEMORY = dict(memory_size=6, memory_topk=4, memory_propagated=3, memory_max_gap_seconds=2.0)
# Two slots over three frames: slot 0 continues throughout; slot 1 continues at frame 1 and changes scene at 2.
SCENES = (["a", "b"], ["a", "b"], ["a", "c"])
TIMES = ([0.0, 10.0], [0.5, 10.5], [1.0, 11.0])


def pose(x: float, y: float, yaw: float) -> torch.Tensor:
    """(4, 4) float64 ego→global pose."""
    matrix = torch.eye(4, dtype=torch.float64)
    matrix[:2, :2] = torch.tensor([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    matrix[:2, 3] = torch.tensor([x, y])
    return matrix


def frame(index: int):
    batch = make_batch(text_lengths=(6, 10), seed=index)
    batch.labels = None
    batch.scene_tokens = list(SCENES[index])
    batch.timestamps = torch.tensor(TIMES[index], dtype=torch.float64)
    batch.ego_to_global = torch.stack([pose(100 + 2 * index, -20, 0.1 * index), pose(-5, 3 * index, 1 - 0.2 * index)])
    return batch


def step_inputs(model, batch, memory):
    stream = (batch.scene_tokens, batch.timestamps, batch.ego_to_global)
    return graph_inputs(batch) | memory_graph_inputs(model.config, memory, *stream)


@pytest.fixture(scope="module")
def memory_model(internvl_dir):
    model = load_onedrive(internvl_dir, **MEMORY)
    randomise_initial_values(model, std=0.05, seed=7)  # as after training: the memory's layers speak
    with torch.no_grad():  # spread the class scores, so that the memory's top-k has no near ties
        model.det_head.classifier[-1].weight.mul_(100.0)
        model.lane_head.classifier[-1].weight.mul_(100.0)
    return model


def same_outputs(outputs: dict, expected, slots, planning_only: bool, tolerance: float) -> None:
    """Graph outputs equal a ``DrivePrediction`` on the batch slots ``slots``."""
    value = {name: torch.as_tensor(array)[slots] for name, array in outputs.items()}

    def close(got, want):
        torch.testing.assert_close(got.to(want.dtype), want, rtol=tolerance, atol=tolerance)

    close(value["trajectory"], expected.trajectory[slots])
    close(value["mode_logits"], expected.trajectory_modes.mode_logits[slots])
    if planning_only:
        return
    close(value["det_boxes"], torch.stack([expected.detections[slot].boxes for slot in slots]))
    close(value["det_scores"], torch.stack([expected.detections[slot].scores for slot in slots]))
    assert torch.equal(value["det_labels"], torch.stack([expected.detections[slot].labels for slot in slots]))
    close(value["lane_points"], torch.stack([expected.lanes[slot].points for slot in slots]))
    close(value["lane_scores"], torch.stack([expected.lanes[slot].scores for slot in slots]))


def same_memory(got, expected, tolerance: float) -> None:
    assert got.scene_tokens == expected.scene_tokens
    assert torch.equal(got.timestamps, expected.timestamps) and torch.equal(got.ego_to_global, expected.ego_to_global)
    for group, task in expected.tasks.items():
        for field, want in task.__dict__.items():
            have = getattr(got.tasks[group], field)
            assert have.dtype == want.dtype, (group, field)
            if want.dtype == torch.bool:
                assert torch.equal(have, want), (group, field)
            else:
                torch.testing.assert_close(have, want, rtol=tolerance, atol=tolerance, msg=f"{group} {field}")


def run_three_frames(model, step, planning_only: bool, tolerance: float) -> None:
    """``step(batch, state) -> (named outputs, next state)`` runs a graph; fed its own returned state frame after
    frame, it equals ``predict`` carrying its own."""
    tasks = ("plan",) if planning_only else ("det", "lane", "plan")
    graph_state = predict_state = None
    for index in range(len(SCENES)):
        batch = frame(index)
        outputs, next_state = step(batch, graph_state)
        expected = model.predict(batch, tasks=tasks, memory=predict_state)
        same_outputs(outputs, expected, [0, 1], planning_only, tolerance)
        same_memory(next_state, expected.memory, tolerance)
        if index == 2:  # slot 1 changed scene: exactly a first frame; slot 0 read its memory
            gap = MEMORY["memory_max_gap_seconds"]
            assert continues(predict_state, batch.scene_tokens, batch.timestamps, gap).tolist() == [True, False]
            fresh = model.predict(batch, tasks=tasks, memory=None)
            same_outputs(outputs, fresh, [1], planning_only, tolerance)
            assert not torch.allclose(torch.as_tensor(outputs["trajectory"])[0], fresh.trajectory[0])
        graph_state, predict_state = next_state, expected.memory


@pytest.mark.parametrize("planning_only", [False, True])
def test_graph_with_memory_equals_predict_over_three_frames(memory_model, planning_only):
    graph = StructuredGraph(memory_model, planning_only=planning_only).eval()
    names = graph_input_names(memory_model.config)
    assert (
        names == (*GRAPH_INPUTS, "ego_history", *MEMORY_INPUTS)
        and graph.output_names[-len(MEMORY_OUTPUTS) :] == MEMORY_OUTPUTS
    )

    def step(batch, state):
        inputs = step_inputs(memory_model, batch, state)
        check_graph_inputs(memory_model.config, inputs)
        with torch.no_grad():
            outputs = dict(zip(graph.output_names, graph(*(inputs[name] for name in names)), strict=True))
        stream = (batch.scene_tokens, batch.timestamps, batch.ego_to_global)
        return outputs, memory_from_graph_outputs(outputs, *stream)

    run_three_frames(memory_model, step, planning_only, tolerance=1e-5)


def test_memory_inputs_are_checked(memory_model):
    inputs = step_inputs(memory_model, frame(0), None)
    inputs["timestamps"] = inputs["timestamps"].float()
    with pytest.raises(ValueError, match=r"timestamps must be torch.float64 of shape \(2,\).*got torch.float32"):
        check_graph_inputs(memory_model.config, inputs)
    inputs = step_inputs(memory_model, frame(0), None)
    del inputs["memory_lane_valid"]
    with pytest.raises(ValueError, match=r"graph inputs missing: \['memory_lane_valid'\]"):
        check_graph_inputs(memory_model.config, inputs)


def test_graph_without_memory_keeps_its_signature(trained_model):
    assert graph_input_names(trained_model.config) == (*GRAPH_INPUTS, "ego_history")
    assert StructuredGraph(trained_model).output_names == STRUCTURED_OUTPUTS


@pytest.mark.slow
def test_onnx_graph_with_memory_matches_predict(memory_model, tmp_path):
    from onedrive.export.onnx_graph import OnnxDriving, export_onnx

    paths = export_onnx(memory_model, tmp_path)
    for kind, planning_only in (("structured", False), ("planning", True)):
        session = OnnxDriving(paths[kind], memory_model.config)

        def step(batch, state, session=session):
            return session.step(graph_inputs(batch), state, batch.scene_tokens, batch.timestamps, batch.ego_to_global)

        run_three_frames(memory_model, step, planning_only, tolerance=1e-4)
