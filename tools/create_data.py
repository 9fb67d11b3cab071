"""Convert a dataset on disk into OneDrive info files (docs/design.md §4, "Info files").

nuScenes (v1.0-trainval / v1.0-mini / v1.0-test, the map expansion, optionally the
CAN bus expansion and the OmniDrive-nuScenes QA files):

    python tools/create_data.py nuscenes --data-root data/nuscenes --version v1.0-trainval --out data/nuscenes/infos \\
        --can-bus data/nuscenes --qa data/omnidrive
    python tools/create_data.py nuscenes --data-root data/nuscenes --version v1.0-mini --out data/nuscenes/infos \\
        --split mini_val --can-bus data/nuscenes --qa data/omnidrive --workers 2

Lanes come from the map expansion unless ``--openlane`` names OpenLane-V2 subset_B pickles (as OmniDrive
trains and scores them; the val pickle is what the published DET_l numbers are measured on):

    python tools/create_data.py nuscenes --data-root data/nuscenes --version v1.0-trainval --out data/nuscenes/infos \\
        --can-bus data/nuscenes --openlane data/OpenLane-V2/data_dict_subset_B_train.pkl \\
        --openlane data/OpenLane-V2/data_dict_subset_B_val.pkl

CPU example on the synthetic world, which writes its lanes in the OpenLane-V2 layout too (seconds):

    python tools/make_synthetic.py --out /tmp/synthetic
    python tools/create_data.py nuscenes --data-root /tmp/synthetic --version v1.0-synthetic --out /tmp/infos \\
        --can-bus /tmp/synthetic --openlane /tmp/synthetic/openlane_v2/data_dict_subset_B_train.pkl \\
        --openlane /tmp/synthetic/openlane_v2/data_dict_subset_B_val.pkl

Writes ``<out>/nuscenes_infos_<split>.json`` for each split (default: the version's
standard splits, or every split of ``<data-root>/<version>/splits.json``) and prints, per
file, how many key frames took their ego status from the CAN bus and how many fell back
to past poses, and why. Files are written only after every split converted, each atomically; bad data stops the run
with an error naming the file or token and leaves no file behind.

Workers: each process loads its own copy of the nuScenes tables (several GB for
v1.0-trainval), so choose ``--workers`` by free memory, not only by cores.

NAVSIM / OpenScene logs: a log folder (``<data-root>/navsim_logs/<logs>/*.pkl``, images
under ``<data-root>/sensor_blobs/<logs>/``) and a scene filter (the devkit's YAML, e.g.
``navtest.yaml`` over the ``test`` logs, ``navtrain.yaml`` over ``trainval``, or a file of
tokens, one a line) → ``<out>/navsim_infos_<split>.json`` plus the PDM scene file
``<out>/navsim_pdms_<split>.json`` (needs ``<data-root>/maps/<location>.json`` in the PDM
map format; ``--no-pdms`` skips it); ``<split>`` is the filter's file name unless
``--split`` names it. Real data (filters from the devkit's
``navsim/planning/script/config/common/train_test_split/scene_filter/``):

    python tools/create_data.py navsim --data-root data/navsim --logs test --scene-filter $FILTERS/navtest.yaml \
        --out data/infos --no-pdms
    python tools/create_data.py navsim --data-root data/navsim --logs trainval --scene-filter $FILTERS/navtrain.yaml \
        --out data/infos --no-pdms

CPU example on the synthetic world, which writes its filters the same way (seconds):

    python tools/make_synthetic.py --format navsim --out /tmp/navsim
    python tools/create_data.py navsim --data-root /tmp/navsim --logs test \
        --scene-filter /tmp/navsim/scene_filters/navtest.yaml --out /tmp/infos
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onedrive.data.nuscenes.converter import DEFAULT_BEV_RANGE, ConverterSettings
from onedrive.data.nuscenes.ego_status import check_can_bus_root
from onedrive.data.nuscenes.pipeline import create_infos
from onedrive.errors import run_tool


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    datasets = parser.add_subparsers(dest="dataset", required=True)
    nuscenes = datasets.add_parser("nuscenes", help="nuScenes (devkit layout) → nuscenes_infos_<split>.json")
    nuscenes.add_argument("--data-root", required=True, help="folder holding <version>/, samples/, maps/")
    nuscenes.add_argument("--version", required=True, help="e.g. v1.0-trainval, v1.0-mini")
    nuscenes.add_argument("--out", required=True, help="output folder for the info files")
    nuscenes.add_argument(
        "--split", action="append", help="split to write (repeatable); default: every split of the version"
    )
    nuscenes.add_argument("--workers", type=int, default=1, help="worker processes (each loads the tables)")
    nuscenes.add_argument(
        "--can-bus",
        help="folder holding can_bus/ (CAN bus expansion; recommended); default: ego status from past poses only",
    )
    nuscenes.add_argument("--qa", help="OmniDrive-nuScenes QA folder (keywords/, desc/, vqa/, conv/)")
    nuscenes.add_argument(
        "--check-images",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open every camera image with PIL and verify it (default on)",
    )
    nuscenes.add_argument("--lane-points", type=int, default=11, help="points per lane centerline")
    nuscenes.add_argument(
        "--openlane",
        action="append",
        default=[],
        metavar="PKL",
        help="OpenLane-V2 subset_B data_dict pickle (data_dict_subset_B_train.pkl, ..._val.pkl; repeatable): key "
        "frames it holds take their lanes from it (joined by the CAM_FRONT timestamp), the others from the map "
        "expansion",
    )
    nuscenes.add_argument(
        "--bev-range",
        type=float,
        nargs=6,
        default=list(DEFAULT_BEV_RANGE),
        metavar=("X_MIN", "Y_MIN", "Z_MIN", "X_MAX", "Y_MAX", "Z_MAX"),
        help="ego-frame range for lanes and drivable area, metres",
    )
    navsim = datasets.add_parser("navsim", help="NAVSIM / OpenScene logs → navsim_infos_<split>.json (+ PDM scenes)")
    navsim.add_argument("--data-root", required=True, help="folder holding navsim_logs/, sensor_blobs/, maps/")
    navsim.add_argument("--logs", required=True, help="log folder under navsim_logs/: trainval, test, mini, ...")
    navsim.add_argument(
        "--scene-filter",
        required=True,
        help="the devkit's scene filter YAML (navtrain.yaml, navtest.yaml, all_scenes.yaml, ...) "
        "or a token list file (one token a line)",
    )
    navsim.add_argument("--split", help="name of the written split (default: the filter's file name)")
    navsim.add_argument("--out", required=True, help="output folder for the info files")
    navsim.add_argument(
        "--pdms",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write the per-token PDM scene file (needs maps/<location>.json; default on)",
    )
    navsim.add_argument(
        "--check-images",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="decode every current-frame camera image (default on; off: read the headers only)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.dataset == "navsim":
        from onedrive.data.navsim.infos import create_navsim_infos

        for path in create_navsim_infos(
            args.data_root,
            args.logs,
            args.scene_filter,
            args.out,
            split=args.split,
            pdms=args.pdms,
            verify_images=args.check_images,
        ):
            print(f"wrote {path}")
        return 0
    if args.can_bus:
        check_can_bus_root(args.can_bus)  # before the tables load (minutes on v1.0-trainval)
    for path in args.openlane:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--openlane {path}: no such file (an OpenLane-V2 data_dict_subset_B_*.pkl)")
    settings = ConverterSettings(
        data_root=args.data_root,
        version=args.version,
        bev_range=tuple(args.bev_range),
        lane_points=args.lane_points,
        check_images=args.check_images,
        can_bus_root=args.can_bus,
        qa_root=args.qa,
        openlane=tuple(args.openlane),
    )
    for path in create_infos(settings, args.out, splits=args.split, workers=args.workers):
        print(f"wrote {path}")
        print_ego_status_summary(path)
    return 0


def print_ego_status_summary(path) -> None:
    """One line per info file: key frames by ego-status source and why the CAN bus was not used."""
    import json

    from onedrive.data.nuscenes.ego_status import CAN_FALLBACK_REASONS

    with open(path, encoding="utf-8") as handle:
        metadata = json.load(handle)["metadata"]
    sources = ", ".join(f"{count} {source}" for source, count in metadata["ego_status_sources"].items())
    print(f"  ego status: {sources}")
    for reason, count in metadata["can_bus_fallbacks"].items():
        print(f"  {count} key frames fell back to poses: {CAN_FALLBACK_REASONS[reason]}")
    print("  lanes: " + ", ".join(f"{count} {source}" for source, count in metadata["lane_sources"].items()))


if __name__ == "__main__":
    sys.exit(run_tool(main))
