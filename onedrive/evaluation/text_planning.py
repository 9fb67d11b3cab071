"""``text_plan/...``: the planning trajectory the model writes as text, scored like the planning head's.

The answers to the planning-trajectory question (QA type ``"trajectory"``,
``onedrive.data.planning_text``) are parsed as OmniDrive's ``evaluation/eval_planning.py``
does (the first ``[PT, (x, y), ...]`` list; here it must hold exactly 6 waypoints) and scored
by ``planning.planning_metrics`` against the records' ``ego_fut_traj``: the same ST-P3
convention, samples and collision / boundary checks as the head's ``plan/...``.
``text_plan/l2_1s`` … ``l2_avg``, ``collision_*`` and ``boundary_*`` are over the answers that
parse; every question is counted: ``text_plan/num_questions`` = ``num_parsed`` +
``num_unparsed`` (an answer that does not parse is never dropped silently; OmniDrive's
evaluator skips it). With the head's trajectories, ``text_plan/head_l2_avg`` is the head's
``l2_avg`` on the same parsed samples, the fair comparison. With no parsed answer only the
counts are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from onedrive.data.planning_text import PLANNING_TEXT_TYPE, parse_planning_answer
from onedrive.errors import InputError
from onedrive.evaluation import planning

CONVENTIONS = {
    "text_plan": (
        f"answers to the planning-trajectory question (QA type '{PLANNING_TEXT_TYPE}') parsed as OmniDrive's "
        "eval_planning.py (first '[PT, (x, y), ...]' list, here exactly 6 waypoints, ego frame x forward, y left) and "
        "scored like plan/ (ST-P3 L2, collision, boundary) over the parsed answers; num_unparsed answers are counted, "
        "not scored; head_l2_avg = the head's plan/l2_avg on the same parsed samples"
    ),
}
_KEPT = ("plan/l2_", "plan/collision_", "plan/boundary_")


def text_planning_metrics(
    tokens: Sequence[str],
    predictions: Sequence[str],
    records: Sequence[dict],
    head_trajectories: Mapping[str, np.ndarray] | None = None,
) -> dict[str, float | int]:
    """Score the answers ``predictions[i]`` to the planning-trajectory question of sample ``tokens[i]``.

    ``records``: the split's info records (ground truth); ``head_trajectories``: token → (6, 2)
    of the planning head, for ``text_plan/head_l2_avg``. A question on a record without a whole
    6-step future is an ``InputError`` (the converter asks it only when the future exists).
    """
    if len(tokens) != len(predictions):
        raise ValueError(f"{len(tokens)} planning-trajectory questions but {len(predictions)} predictions")
    by_token = {record["token"]: record for record in records}
    parsed_tokens, parsed = [], []
    for token, text in zip(tokens, predictions):
        if not by_token[token]["fut_valid"]:
            raise InputError(
                f"sample {token!r} asks the planning-trajectory question but has no whole 6-step future (fut_valid "
                "false): re-run tools/create_data.py"
            )
        waypoints = parse_planning_answer(text)
        if waypoints is not None:
            parsed_tokens.append(token)
            parsed.append(waypoints)
    metrics: dict[str, float | int] = {
        "text_plan/num_questions": len(tokens),
        "text_plan/num_parsed": len(parsed),
        "text_plan/num_unparsed": len(tokens) - len(parsed),
    }
    if not parsed:
        return metrics
    truth = planning.PlanningGroundTruth.from_infos([by_token[token] for token in parsed_tokens])
    scored = planning.planning_metrics(np.stack(parsed), truth)  # (S, 6, 2) parsed waypoints
    metrics.update(
        {"text_plan/" + key[len("plan/") :]: value for key, value in scored.items() if key.startswith(_KEPT)}
    )
    if head_trajectories is not None:
        head = np.stack([np.asarray(head_trajectories[token]) for token in parsed_tokens])  # (S, 6, 2)
        metrics["text_plan/head_l2_avg"] = planning.planning_metrics(head, truth)["plan/l2_avg"]
    return metrics
