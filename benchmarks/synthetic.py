"""Synthetic-world generation speed.

python -c "from benchmarks.synthetic import benchmark_synthetic; print(benchmark_synthetic())"
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from onedrive.synthetic import SyntheticConfig, make_synthetic


def benchmark_synthetic(
    scenes: int = 4,
    samples_per_scene: int = 10,
    image_size: tuple[int, int] = (224, 112),
    seed: int = 0,
    fmt: str = "nuscenes",
) -> dict:
    """Generation speed: samples (key frames / tokens) per second for writing a world to a temp dir.

    python -c "from benchmarks.synthetic import benchmark_synthetic; print(benchmark_synthetic())"
    """
    config = SyntheticConfig(scenes=scenes, samples_per_scene=samples_per_scene, seed=seed, image_size=image_size)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        make_synthetic(Path(tmp) / "synthetic", config, fmt=fmt, progress=False)
        seconds = time.perf_counter() - start
    samples = scenes * samples_per_scene
    return {
        "format": fmt,
        "samples": samples,
        "seconds": seconds,
        "samples_per_s": samples / seconds,
        "image_size": list(image_size),
        "cameras": 8 if fmt == "navsim" else 6,
    }
