"""NAVSIM v1 / OpenScene data: log reader, scenes, info records, PDM scenes, devkit agent.

Modules: ``logs`` (``navsim_logs/<log folder>/*.pkl`` → checked frame dicts), ``scenes``
(4 history + 10 future frames per token; future poses, ego status, command, cameras),
``scene_filter`` (NAVSIM's scene filters: which windows of which logs make a split),
``infos`` (scenes → info records + PDM scene file, ``tools/create_data.py navsim``),
``pdms_scenes`` (per-token scenes for ``onedrive.evaluation.pdms``), ``agent`` (official
devkit agent, import-guarded), ``benchmark``. Steps: ``README.md`` in this folder.
"""

from onedrive.data.navsim.infos import create_navsim_infos, scene_record
from onedrive.data.navsim.logs import CAMERA_NAMES, load_log, log_paths
from onedrive.data.navsim.scene_filter import SceneFilter, filter_scenes, load_scene_filter, write_scene_filter
from onedrive.data.navsim.scenes import NavsimScene, command, ego_status, future_poses
from onedrive.evaluation.pdms.scene_file import load_pdms_scenes

__all__ = [
    "CAMERA_NAMES",
    "NavsimScene",
    "SceneFilter",
    "command",
    "create_navsim_infos",
    "ego_status",
    "filter_scenes",
    "future_poses",
    "load_log",
    "load_pdms_scenes",
    "load_scene_filter",
    "log_paths",
    "scene_record",
    "write_scene_filter",
]
