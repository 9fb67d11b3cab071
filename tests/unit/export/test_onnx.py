"""The tensor-in/tensor-out graph equals ``predict``; its ONNX export runs in onnxruntime with the same outputs."""

import pytest
import torch
from model_helpers import graph_inputs, load_onedrive, make_batch

from onedrive.export import GRAPH_INPUTS, StructuredGraph, check_graph_inputs, graph_input_names
from onedrive.model.initial_values import randomise_initial_values


def assert_same_rows(actual, expected, tolerance):
    """(B, K, ...) equal up to the order of the K rows of each sample: the top-k order of scores tied to ~1e-8
    (the tiny model's scores all sit near the focal prior) may differ between PyTorch and onnxruntime."""
    actual, expected = torch.as_tensor(actual).double(), expected.double()
    for got, want in zip(actual, expected):
        nearest = torch.cdist(got.flatten(1), want.flatten(1)).argmin(dim=1)  # (K,)
        assert sorted(nearest.tolist()) == list(range(len(want)))  # a permutation
        torch.testing.assert_close(got, want[nearest], rtol=tolerance, atol=tolerance)


def compare_with_predict(outputs: dict, model, batch, tolerance):
    full = model.predict(batch)
    plan_only = model.predict(batch, tasks=("plan",))
    if "det_boxes" in outputs:
        labelled = [torch.cat([d.boxes, d.labels[:, None].to(d.boxes)], dim=1) for d in full.detections]
        assert_same_rows(
            torch.cat([torch.as_tensor(outputs["det_boxes"]), torch.as_tensor(outputs["det_labels"])[..., None]], -1),
            torch.stack(labelled),
            tolerance,
        )
        torch.testing.assert_close(
            torch.as_tensor(outputs["det_scores"]),
            torch.stack([d.scores for d in full.detections]),
            rtol=tolerance,
            atol=tolerance,
        )
        assert_same_rows(outputs["lane_points"], torch.stack([lane.points for lane in full.lanes]), tolerance)
        torch.testing.assert_close(
            torch.as_tensor(outputs["lane_scores"]),
            torch.stack([lane.scores for lane in full.lanes]),
            rtol=tolerance,
            atol=tolerance,
        )
    expected = plan_only if "det_boxes" not in outputs else full
    torch.testing.assert_close(
        torch.as_tensor(outputs["trajectory"]), expected.trajectory, rtol=tolerance, atol=tolerance
    )
    torch.testing.assert_close(
        torch.as_tensor(outputs["mode_logits"]), expected.trajectory_modes.mode_logits, rtol=tolerance, atol=tolerance
    )


@pytest.fixture(scope="module")
def three_layer_model(tmp_path_factory, request):
    from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

    folder = save_tiny_internvl(
        tmp_path_factory.mktemp("ivl3") / "tiny", tiny_internvl_config(num_hidden_layers=3), seed=1
    )
    model = load_onedrive(folder, task_layers=[0, 1], azimuth_prior_logit=5.0)
    randomise_initial_values(model, std=0.05, seed=5)  # as after training
    return model


@pytest.mark.parametrize("planning_only", [False, True])
def test_graph_equals_predict(three_layer_model, planning_only):
    graph = StructuredGraph(three_layer_model, planning_only=planning_only).eval()
    names = graph_input_names(three_layer_model.config)
    assert names == (*GRAPH_INPUTS, "ego_history")
    batch = make_batch(text_lengths=(6, 10))  # right padding in the second sample
    with torch.no_grad():
        values = graph(*(graph_inputs(batch)[name] for name in names))
    compare_with_predict(dict(zip(graph.output_names, values)), three_layer_model, batch, tolerance=1e-5)


def test_graph_inputs_are_checked(three_layer_model):
    inputs = graph_inputs(make_batch())
    inputs["input_ids"] = inputs["input_ids"].clone()
    inputs["input_ids"][0, 3] = 7  # one image token fewer in sample 0
    with pytest.raises(ValueError, match=r"needs 24 image tokens.*\[23, 24\]"):
        check_graph_inputs(three_layer_model.config, inputs)
    inputs = graph_inputs(make_batch())
    inputs["ego_status"] = inputs["ego_status"].clone()
    inputs["ego_status"][1, 0] = float("nan")
    with pytest.raises(ValueError, match="ego_status must be finite"):
        check_graph_inputs(three_layer_model.config, inputs)
    batch = make_batch()
    batch.ego_history = None
    with pytest.raises(ValueError, match="graph inputs missing: \\['ego_history'\\]"):
        check_graph_inputs(three_layer_model.config, graph_inputs(batch))


@pytest.fixture(scope="module")
def onnx_graphs(three_layer_model, tmp_path_factory):
    from onedrive.export.onnx_graph import export_onnx

    return export_onnx(three_layer_model, tmp_path_factory.mktemp("onnx"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["structured", "planning"])
def test_onnxruntime_matches_pytorch(three_layer_model, onnx_graphs, kind):
    from onedrive.export.onnx_graph import OnnxDriving

    session = OnnxDriving(onnx_graphs[kind], three_layer_model.config)
    for text_lengths, seed in (((6, 10), 0), ((4, 9, 12), 3)):  # traced on batch 2; other batch and lengths
        batch = make_batch(text_lengths=text_lengths, seed=seed)
        compare_with_predict(session.run(graph_inputs(batch)), three_layer_model, batch, tolerance=1e-4)


@pytest.mark.slow
def test_benchmark_onnx_reports_both_runtimes():
    from benchmarks.onnx import benchmark_onnx

    result = benchmark_onnx(repeats=2)
    assert result["torch_predict_ms"] > 0 and result["onnxruntime_ms"] > 0
    assert result["max_abs_difference"] < 1e-4
