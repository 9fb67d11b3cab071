"""Generate a synthetic dataset into a directory, atomically; and time it.

``make_synthetic(out, config)`` generates the world, writes it into a temporary
directory next to ``out`` and renames it to ``out`` only when complete, so an
interrupted run leaves nothing half-written. A non-empty ``out`` is refused unless
``overwrite=True`` (then it is replaced only after the new copy is complete).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from onedrive.data.synthetic.nuscenes_writer import DEFAULT_VERSION, write_nuscenes
from onedrive.data.synthetic.world import SyntheticConfig, generate_world

FORMATS = ("nuscenes", "navsim")


def make_synthetic(
    out: str | Path,
    config: SyntheticConfig | None = None,
    fmt: str = "nuscenes",
    version: str = DEFAULT_VERSION,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write the world of ``config`` to ``out`` in format ``fmt``; returns ``out``."""
    config = config or SyntheticConfig()
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "navsim":
        raise NotImplementedError("the NAVSIM writer of the synthetic world is not implemented yet; use --format nuscenes")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"--out {out} is not empty; pass overwrite=True (--overwrite) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        total = config.scenes * config.samples_per_scene
        with tqdm(total=config.scenes, desc="scenes", disable=not progress, leave=False) as bar:
            world = generate_world(config, progress=bar)
        with tqdm(total=total, desc="samples", unit="sample", disable=not progress) as bar:
            write_nuscenes(world, staging, version=version, progress=bar)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(retired / out.name)
            staging.rename(out)
            shutil.rmtree(retired)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def benchmark_synthetic(scenes: int = 4, samples_per_scene: int = 10, image_size: tuple[int, int] = (224, 112),
                        seed: int = 0) -> dict:
    """Generation speed: samples per second for writing a nuScenes-format world to a temp dir."""
    config = SyntheticConfig(scenes=scenes, samples_per_scene=samples_per_scene, seed=seed, image_size=image_size)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        make_synthetic(Path(tmp) / "synthetic", config, progress=False)
        seconds = time.perf_counter() - start
    samples = scenes * samples_per_scene
    return {"samples": samples, "seconds": seconds, "samples_per_s": samples / seconds,
            "image_size": list(image_size), "cameras": 6}
