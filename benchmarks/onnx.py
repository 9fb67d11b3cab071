"""``benchmark_onnx``: onnxruntime vs PyTorch latency of the structured path on a CPU, tiny config.

python -c "from benchmarks.onnx import benchmark_onnx; print(benchmark_onnx(repeats=3))"
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.model import with_plan_anchors
from onedrive.export.graph import StructuredGraph, graph_input_names
from onedrive.export.onnx_graph import OnnxDriving, _export_one, example_inputs
from onedrive.model.initial_values import randomise_initial_values
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.schema import CameraGeometry, DriveBatch
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

TINY_TASK = with_plan_anchors(
    {
        "num_det_queries": 16,
        "num_lane_queries": 8,
        "max_boxes": 16,
        "max_lanes": 8,
        "lane_points": 5,
        "depth_bins": 4,
        "num_cameras": 2,
    }
)


def _median_ms(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def benchmark_onnx(
    repeats: int = 10, threads: int = 2, batch: int = 1, text_tokens: int = 32, planning_only: bool = False
) -> dict:
    """Export the tiny model's graph, then time ``model.predict`` (eager) and onnxruntime on the same inputs.

    Returns median milliseconds per call, the speed-up, the export time and the largest output difference.
    """
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as folder:
        internvl = save_tiny_internvl(Path(folder) / "internvl", tiny_internvl_config())
        torch.manual_seed(0)
        model = OneDriveForDriving.from_internvl(
            str(internvl), task_config=TINY_TASK, attn_implementation="sdpa"
        ).eval()
        # As after training: untrained, every det score is 0.01 up to rounding and float noise would pick the top-k.
        randomise_initial_values(model, std=0.5)
        graph = StructuredGraph(model, planning_only=planning_only).eval()
        path = Path(folder) / "graph.onnx"
        start = time.perf_counter()
        with torch.no_grad():
            _export_one(graph, example_inputs(model.config), path)
        export_s = time.perf_counter() - start
        session = OnnxDriving(path, model.config, threads=threads)

        inputs = example_inputs(model.config, batch=batch, text_tokens=text_tokens, seed=1)
        tile = model.config.vision_config.image_size[0]
        rows, cols = model.config.task_config.camera_tiles
        drive_batch = DriveBatch(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            pixel_values=inputs["pixel_values"],
            camera=CameraGeometry(inputs["intrinsics"], inputs["cam2ego"], (rows * tile, cols * tile)),
            ego_status=inputs["ego_status"],
            command=inputs["command"],
            ego_history=inputs.get("ego_history"),
        )
        tasks = ("plan",) if planning_only else ("det", "lane", "plan")
        torch_ms = _median_ms(lambda: model.predict(drive_batch, tasks=tasks), repeats)
        onnx_ms = _median_ms(lambda: session.run(inputs), repeats)
        with torch.no_grad():
            reference = graph(*(inputs[name] for name in graph_input_names(model.config)))
        produced = session.run(inputs)
        difference = max(
            float((torch.as_tensor(produced[name]).double() - value.double()).abs().max())
            for name, value in zip(graph.output_names, reference)
        )
    return {
        "graph": "planning" if planning_only else "structured",
        "batch": batch,
        "prompt_tokens": int(inputs["input_ids"].shape[1]),
        "threads": threads,
        "torch_predict_ms": torch_ms,
        "onnxruntime_ms": onnx_ms,
        "speedup": torch_ms / onnx_ms,
        "export_s": export_s,
        "max_abs_difference": difference,
    }
