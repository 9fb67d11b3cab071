"""Speed of reading NAVSIM logs into info records (``benchmark_navsim_reading``).

Writes a synthetic NAVSIM set (``make_synthetic(fmt="navsim")``) into a temporary folder,
then times ``filter_scenes`` + ``scene_record`` (log unpickling, pose and camera
conversion, image decoding, agent futures) and ``pdms_entry`` over every token.

    python -c "from onedrive.data.navsim.benchmark import benchmark_navsim_reading; print(benchmark_navsim_reading())"
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from onedrive.data.navsim.infos import scene_record
from onedrive.data.navsim.pdms_scenes import pdms_entry
from onedrive.data.navsim.scene_filter import filter_scenes, load_scene_filter
from onedrive.data.synthetic import NAVSIM_LOG_FOLDERS, SyntheticConfig, make_synthetic


def benchmark_navsim_reading(scenes: int = 3, samples_per_scene: int = 10, image_size: tuple[int, int] = (224, 112),
                             split: str = "navtrain") -> dict:
    """Tokens per second converted from NAVSIM logs to info records (+ PDM scene entries)."""
    config = SyntheticConfig(scenes=scenes, samples_per_scene=samples_per_scene, image_size=image_size)
    with tempfile.TemporaryDirectory() as folder:
        root = make_synthetic(Path(folder) / "navsim", config, fmt="navsim", progress=False)
        start = time.perf_counter()
        folder = NAVSIM_LOG_FOLDERS[split]
        loaded = filter_scenes(root, folder, load_scene_filter(root / "scene_filters" / f"{split}.yaml"))
        for scene in loaded:
            scene_record(scene, folder, root)
            pdms_entry(scene)
        seconds = time.perf_counter() - start
    return {"tokens": len(loaded), "seconds": seconds, "samples_per_s": len(loaded) / seconds,
            "image_size": list(image_size), "cameras": 8}
