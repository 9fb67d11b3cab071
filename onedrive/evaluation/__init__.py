"""Evaluation on plain arrays and files (no model imports).

Families: planning (``planning.py``), detection via nuscenes-devkit (``detection.py``), lanes
(``lane.py``), text (``text.py``); prediction-file loading/validation (``predictions.py``),
tables and plots (``report.py``) and the directory scorer ``evaluate_predictions`` (``runner.py``).
"""

from onedrive.evaluation.detection import boxes_to_submission, evaluate_detection, write_submission
from onedrive.evaluation.lane import lane_metrics
from onedrive.evaluation.planning import PlanningGroundTruth, planning_metrics
from onedrive.evaluation.predictions import load_infos
from onedrive.evaluation.runner import evaluate_predictions
from onedrive.evaluation.text import text_metrics

__all__ = [
    "PlanningGroundTruth",
    "boxes_to_submission",
    "evaluate_detection",
    "evaluate_predictions",
    "lane_metrics",
    "load_infos",
    "planning_metrics",
    "text_metrics",
    "write_submission",
]
