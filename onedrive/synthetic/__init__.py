"""Synthetic driving world written in the real nuScenes and NAVSIM formats (docs/design.md §6).

Modules, one job each: ``roads`` (road grid, lanes, drivable area), ``traffic`` (ego
and object motion), ``classes`` (object classes, sizes, colours), ``cameras`` (sensor
rig), ``render`` (camera images), ``lidar`` (occlusion, point clouds), ``qa``
(question/answer pairs), ``world`` (ties them into a format-free ``World``),
``map_expansion`` and ``nuscenes_writer`` (the nuScenes files), ``pdms_map`` and
``navsim_writer`` (the NAVSIM files), ``build`` (atomic output). CLI: ``tools/make_synthetic.py``.
"""

from onedrive.synthetic.build import make_synthetic
from onedrive.synthetic.navsim_writer import NAVSIM_LOG_FOLDERS, NAVSIM_PADDING, NAVSIM_SPLITS, write_navsim
from onedrive.synthetic.nuscenes_writer import DEFAULT_VERSION, split_names, write_nuscenes
from onedrive.synthetic.world import SyntheticConfig, World, generate_world

__all__ = [
    "DEFAULT_VERSION",
    "NAVSIM_PADDING",
    "NAVSIM_LOG_FOLDERS",
    "NAVSIM_SPLITS",
    "SyntheticConfig",
    "World",
    "generate_world",
    "make_synthetic",
    "split_names",
    "write_navsim",
    "write_nuscenes",
]
