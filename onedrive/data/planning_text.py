"""The planning trajectory as a QA turn, in OmniDrive's text format, and its parser.

OmniDrive (``LoadAnnoatationVQA``; ``evaluation/eval_planning.py``) asks every key frame whose
6-step future exists "Please provide the planning trajectory for the ego car without reasons."
and answers "Here is the planning trajectory [PT, (x1, y1), ..., (x6, y6)]." with the 6 future
ego positions at 2 Hz. Numbers are written with a sign and two decimals (``+4.43``,
``-0.27``); one whose two-decimal value is within 0.01 of zero is written ``0.0``. Frame: the
key frame's ego frame, x forward, y left, metres — the frame of the info records'
``ego_fut_traj``, which the planning head predicts and ``plan/l2`` scores.

Parsing follows OmniDrive's evaluator: the first ``[PT, (x, y), ...]`` list in the text, each
coordinate a signed decimal number; here it must hold exactly 6 waypoints, otherwise the
answer does not parse (``None``) and the evaluator counts it (``text_plan/num_unparsed``).
"""

from __future__ import annotations

import re

import numpy as np

PLANNING_TEXT_QUESTION = "Please provide the planning trajectory for the ego car without reasons."
PLANNING_TEXT_TYPE = "trajectory"
NUM_WAYPOINTS = 6
_NUMBER = r"[+-]?\d+(?:\.\d+)?"
_POINT = rf"\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)"
_POINT_LIST = re.compile(rf"\[PT((?:\s*,\s*{_POINT})+)\s*\]")
_POINTS = re.compile(_POINT)


def format_coordinate(value: float) -> str:
    """``+4.43`` / ``-0.27``; ``0.0`` when the two-decimal value is within 0.01 of zero (OmniDrive's rule)."""
    if abs(round(value, 2)) <= 1e-2:
        return "0.0"
    return f"{value:+.2f}"


def planning_answer(trajectory: np.ndarray) -> str:
    """The answer for (6, 2) ego-frame waypoints (x forward, y left, metres)."""
    trajectory = np.asarray(trajectory, dtype=np.float64)
    if trajectory.shape != (NUM_WAYPOINTS, 2) or not np.isfinite(trajectory).all():
        raise ValueError(f"expected {NUM_WAYPOINTS} finite (x, y) waypoints, got {trajectory.tolist()}")
    points = ", ".join(f"({format_coordinate(x)}, {format_coordinate(y)})" for x, y in trajectory)
    return f"Here is the planning trajectory [PT, {points}]."


def planning_turn(record: dict) -> dict | None:
    """The planning QA turn of an info record with a whole 6-step future (``fut_valid``); None without one."""
    if not record["fut_valid"]:
        return None
    trajectory = np.asarray(record["ego_fut_traj"], dtype=np.float64)[:, :2]
    return {"question": PLANNING_TEXT_QUESTION, "answer": planning_answer(trajectory), "type": PLANNING_TEXT_TYPE}


def parse_planning_answer(text: str) -> np.ndarray | None:
    """(6, 2) waypoints of the first ``[PT, (x, y), ...]`` list in ``text``; None when there is none or it does
    not hold exactly 6 waypoints."""
    match = _POINT_LIST.search(text)
    if match is None:
        return None
    points = [(float(x), float(y)) for x, y in _POINTS.findall(match.group(1))]
    if len(points) != NUM_WAYPOINTS:
        return None
    return np.asarray(points, dtype=np.float64)
