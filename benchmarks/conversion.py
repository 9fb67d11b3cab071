"""nuScenes conversion throughput (``tools/create_data.py nuscenes``) on a world on disk.

python -c "from benchmarks.conversion import benchmark_conversion as b; print(b('data/synthetic', 'v1.0-synthetic'))"
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.pipeline import create_infos


def benchmark_conversion(data_root: str | os.PathLike, version: str, workers: int = 1) -> dict:
    """Conversion throughput on ``version`` at ``data_root`` (every default split).

    Returns ``{"samples", "seconds", "samples_per_s", "workers", "version"}``; the time
    covers loading the tables, converting and writing the files (to a temporary folder).
    """
    settings = ConverterSettings(data_root=os.fspath(data_root), version=version)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out_dir:
        paths = create_infos(settings, out_dir, workers=workers, progress=False)
        samples = sum(_count_records(path) for path in paths)
    seconds = time.perf_counter() - start
    return {
        "samples": samples,
        "seconds": seconds,
        "samples_per_s": samples / seconds,
        "workers": workers,
        "version": version,
    }


def _count_records(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return len(json.load(handle)["infos"])
