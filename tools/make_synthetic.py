"""Generate the synthetic driving world as a dataset on disk.

Writes the nuScenes layout (13 tables, 6 rendered cameras + LIDAR_TOP per sample,
map expansion, custom splits, QA files) that nuscenes-devkit loads:

    python tools/make_synthetic.py --out data/synthetic --scenes 6 --samples-per-scene 10

then ``NuScenes(version="v1.0-synthetic", dataroot="data/synthetic")``; evaluate on the
custom split ``synthetic_val`` (or pass ``--version v1.0-trainval`` to use the devkit's
predefined ``train`` / ``val``). Runs in seconds on a CPU.

NAVSIM v1 / OpenScene layout (``navsim_logs/<split>/*.pkl``, 8 cameras under
``sensor_blobs/<split>/``, the PDM map ``maps/synthetic-town.json``; splits ``navtrain`` /
``navtest``; each scene becomes a log with 3 history frames before its first token and
10 future frames after its last):

    python tools/make_synthetic.py --format navsim --out data/navsim_synthetic
"""

from __future__ import annotations

import argparse
import sys

from onedrive.errors import run_tool
from onedrive.synthetic import DEFAULT_VERSION, SyntheticConfig, make_synthetic


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (created; must be empty unless --overwrite)")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--samples-per-scene", type=int, default=10, help="key frames (NAVSIM: tokens) per scene")
    parser.add_argument("--val-scenes", type=int, default=None, help="held-out scenes (default: a third)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, nargs=2, default=(224, 112), metavar=("W", "H"))
    parser.add_argument("--format", choices=("nuscenes", "navsim"), default="nuscenes")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="nuScenes version folder name")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    args = parser.parse_args(argv)
    config = SyntheticConfig(
        scenes=args.scenes,
        samples_per_scene=args.samples_per_scene,
        seed=args.seed,
        image_size=tuple(args.image_size),
        val_scenes=args.val_scenes,
    )
    out = make_synthetic(args.out, config, fmt=args.format, version=args.version, overwrite=args.overwrite)
    print(f"wrote {config.scenes} scenes x {config.samples_per_scene} samples to {out}")


if __name__ == "__main__":
    sys.exit(run_tool(main))
