"""Generate a synthetic dataset into a directory, atomically; and time it.

``make_synthetic(out, config, fmt)`` generates the world, writes it (``fmt``:
``nuscenes`` → ``nuscenes_writer`` plus the OpenLane-V2 lane pickles of ``openlane_writer``, ``navsim`` → ``navsim_writer``) into a temporary
directory next to ``out`` and renames it to ``out`` only when complete, so an
interrupted run leaves nothing half-written. A non-empty ``out`` is refused unless
``overwrite=True`` (then it is replaced only after the new copy is complete).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tqdm import tqdm

from onedrive.io import apply_umask_tree
from onedrive.synthetic.navsim_writer import NAVSIM_PADDING, NAVSIM_PARKING_GAP, write_navsim
from onedrive.synthetic.nuscenes_writer import DEFAULT_VERSION, write_nuscenes
from onedrive.synthetic.openlane_writer import write_openlane_v2
from onedrive.synthetic.traffic import PARKING_GAP, TURN_DELAY, navsim_turn_delay
from onedrive.synthetic.world import SyntheticConfig, generate_world

FORMATS = ("nuscenes", "navsim")


def make_synthetic(
    out: str | Path,
    config: SyntheticConfig | None = None,
    fmt: str = "nuscenes",
    version: str = DEFAULT_VERSION,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write the world of ``config`` to ``out`` in format ``fmt``; returns ``out``.

    ``version`` names the nuScenes version folder (ignored for NAVSIM).
    """
    config = config or SyntheticConfig()
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"--out {out} is not empty; pass overwrite=True (--overwrite) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        navsim = fmt == "navsim"
        padding, gap = (NAVSIM_PADDING, NAVSIM_PARKING_GAP) if navsim else ((0, 0), PARKING_GAP)
        delay = navsim_turn_delay(config.samples_per_scene) if navsim else TURN_DELAY
        with tqdm(total=config.scenes, desc="scenes", disable=not progress, leave=False) as bar:
            world = generate_world(config, progress=bar, padding=padding, parking_gap=gap, turn_delay=delay)
        total = sum(scene.n_frames for scene in world.scenes)
        with tqdm(total=total, desc="frames", unit="frame", disable=not progress) as bar:
            if fmt == "navsim":
                write_navsim(world, staging, progress=bar)
            else:
                write_nuscenes(world, staging, version=version, progress=bar)
                write_openlane_v2(world, staging)
        apply_umask_tree(staging)  # mkdtemp made it private; the world gets the modes mkdir would give
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
