"""Benchmarks: every number beside a reference measured in the same run; a table and a JSON file.

Sections (``--sections``, default all):
  model      predict latency / peak memory vs InternVLForConditionalGeneration (tiny and
             InternVL3-1B shapes), generate tokens/s vs transformers' generate, FLOP/s over
             the matmul peak (fp32, bf16)
  data       loading + processing samples/s of 6-camera samples (0 and 2 workers), against
             the tiny model's training step time
  synthetic  synthetic-world generation samples/s; conversion (create_data) samples/s
  eval       planning metrics on 6,000 samples; NAVSIM PDMS on 1,000 tokens
  training   training samples/s and peak memory, plain vs DeepSpeed ZeRO-2 (tiny, 1B shapes)
  onnx       onnxruntime vs PyTorch predict latency (tiny)

    python tools/benchmark.py --sections model,eval --out runs/benchmark.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from onedrive.io import write_text_atomic

# benchmarks/ (what this tool measures) and tests/helpers/ (the tiny training fixture) are not installed.
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "helpers")]


def section_model() -> dict:
    from benchmarks.model import benchmark_model

    return benchmark_model()


def section_data() -> dict:
    from benchmarks.data import benchmark_data
    from benchmarks.training import benchmark_training

    loading = benchmark_data()
    step = benchmark_training("tiny", deepspeed=False)
    loading["tiny_training_samples_per_s"] = step["samples_per_s"]
    return loading


def section_synthetic() -> dict:
    from benchmarks.conversion import benchmark_conversion
    from benchmarks.synthetic import benchmark_synthetic
    from onedrive.synthetic import SyntheticConfig, make_synthetic

    results = {"generation": benchmark_synthetic(scenes=20, samples_per_scene=10)}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "world"
        make_synthetic(root, SyntheticConfig(scenes=20, samples_per_scene=10), progress=False)
        for workers in (1, 2):
            results[f"conversion_workers_{workers}"] = benchmark_conversion(root, "v1.0-synthetic", workers=workers)
    return results


def section_eval() -> dict:
    from benchmarks.evaluation import benchmark_planning
    from benchmarks.pdms import benchmark_pdms

    pdms = benchmark_pdms(num_tokens=1000, workers=2)
    return {
        "planning_6000": benchmark_planning(num_samples=6000),
        "pdms_1000": {key: pdms[key] for key in ("num_tokens", "workers", "seconds", "tokens_per_second")},
    }


def section_training() -> dict:
    """Each configuration in its own spawned process: peak RSS is a per-process lifetime maximum."""
    from benchmarks.training import TRAINING_SHAPES, benchmark_training

    results = {}
    for shapes in TRAINING_SHAPES:
        for deepspeed in (False, True):
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                result = pool.submit(benchmark_training, shapes, deepspeed).result()
            results[f"{shapes}_{'zero2' if deepspeed else 'plain'}"] = result
    return results


def section_onnx() -> dict:
    from benchmarks.onnx import benchmark_onnx

    return {"structured": benchmark_onnx(), "planning_only": benchmark_onnx(planning_only=True)}


SECTIONS = {
    "model": section_model,
    "data": section_data,
    "synthetic": section_synthetic,
    "eval": section_eval,
    "training": section_training,
    "onnx": section_onnx,
}


def _rows(prefix: str, value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for key, item in value.items() for row in _rows(f"{prefix}.{key}" if prefix else str(key), item)]
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    return [(prefix, str(value))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {list(SECTIONS)}")
    parser.add_argument("--out", default="runs/benchmark.json", help="JSON file to write")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    results = {"machine": {"cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}}
    for name in names:
        start = time.perf_counter()
        results[name] = SECTIONS[name]()
        results[name]["section_seconds"] = time.perf_counter() - start
    print("| benchmark | value |\n|---|---|")
    for key, value in _rows("", results):
        print(f"| {key} | {value} |")
    print(f"wrote {write_text_atomic(args.out, json.dumps(results, indent=2))}")
    return results


if __name__ == "__main__":
    main()
