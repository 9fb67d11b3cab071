"""NAVSIM v1 PDM score (PDMS) on a small JSON map format; see ``runner.score_tokens``.

Modules: ``map`` (map format, loader, geometry queries), ``scene`` (per-token dataclasses),
``trajectory`` (agent poses → 10 Hz), ``tracker`` (LQR + kinematic bicycle), ``observation``
(logged objects at 10 Hz, constant-velocity forecast), ``reference`` (PDM-Closed-style
reference), ``comfort``, ``scorer`` (NC, DAC, TTC, C, EP, aggregation), ``runner`` (per token,
parallel), ``benchmark`` (synthetic scenes, timing); NAVSIM v2's EPDMS: ``extended`` (DDC,
TLC, LK), ``extended_comfort`` (HC, EC), ``epdms`` (human filter, aggregation, per split).
"""

from onedrive.evaluation.pdms.map import PDMSMap, load_map, map_from_dict, map_to_dict, save_map
from onedrive.evaluation.pdms.runner import read_predictions, score_scene, score_tokens
from onedrive.evaluation.pdms.scene import EgoState, ObjectTrack, PDMSScene, VehicleParameters

__all__ = [
    "EgoState",
    "ObjectTrack",
    "PDMSMap",
    "PDMSScene",
    "VehicleParameters",
    "load_map",
    "map_from_dict",
    "map_to_dict",
    "read_predictions",
    "save_map",
    "score_scene",
    "score_tokens",
]
