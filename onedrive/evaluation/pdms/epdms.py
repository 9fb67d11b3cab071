"""NAVSIM v2's extended PDM score (EPDMS), stage one (no pseudo-simulation second stage).

Per token (NAVSIM v2 ``navsim/evaluate/pdm_score.py``, ``pdm_scorer.py``,
``run_pdm_score_one_stage.py``, ``docs/metrics.md``):

* The PDM-Closed-style reference and the agent are tracked and scored together: NC, DAC
  and progress as in v1 (``scorer.py``), TTC as in v1 but only from the states whose 0.9 s
  look-ahead stays within the 4 s horizon (states 0 … 31; v1 tests all 41 against objects
  up to 4.9 s), DDC, TLC and LK (``extended.py``), HC (``extended_comfort.py``). EP is v2's: the agent's progress over the largest progress
  among the proposals whose NC·DAC·DDC·TLC is not 0, clipped to [0, 1], when that largest
  progress exceeds 5 m, else 1 (v1 sets EP 0 where the multipliers are 0; v2 does not).
* Human filter (``human_penalty_filter``): the logged future (NAVSIM's human agent) is
  tracked and scored alone, without its past, so its HC is 1 and its EP (its own progress
  over itself) 1; every sub-score the human gets exactly 0 — NC, DAC, DDC, TLC, TTC or LK —
  is set to 1 for the agent: a rule the human broke too is not penalised.
* EC (``extended_comfort.two_frame_comfort``) compares the token's simulated agent states
  with those of the token 0.5 s before it in the same log when that token is scored too
  (``infer_start_adjacent_mapping``); without one, EC is absent and its weight dropped.
* EPDMS = NC·DAC·DDC·TLC · (5·EP + 5·TTC + 2·LK + 2·HC + 2·EC) / 16 (/ 14 without EC),
  averaged over tokens; every sub-score is averaged too, EC over the tokens that have it.

Needs each scene's ``EPDMSInputs`` (``scene.py``; the scene file writes them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from onedrive.evaluation.pdms.extended import (
    driving_direction_compliance,
    lane_keeping,
    red_light_polygons,
    traffic_light_compliance,
)
from onedrive.evaluation.pdms.extended_comfort import PAIR_GAP, history_comfort, two_frame_comfort
from onedrive.evaluation.pdms.observation import log_observation
from onedrive.evaluation.pdms.reference import Path, reference_poses
from onedrive.evaluation.pdms.runner import checked_items, map_chunks
from onedrive.evaluation.pdms.scene import PDMSScene
from onedrive.evaluation.pdms.scorer import PROGRESS_THRESHOLD, TTC_FRAME_OFFSETS, PDMScorer, ego_boxes
from onedrive.evaluation.pdms.tracker import BatchTracker, initial_state
from onedrive.evaluation.pdms.trajectory import NUM_STEPS, agent_states_10hz

MULTIPLIERS = ("NC", "DAC", "DDC", "TLC")
WEIGHTS = {"EP": 5.0, "TTC": 5.0, "LK": 2.0, "HC": 2.0, "EC": 2.0}
FILTERED = ("NC", "DAC", "DDC", "TLC", "EP", "TTC", "LK", "HC")
SUB_SCORES = ("EPDMS", *MULTIPLIERS, "EP", "TTC", "LK", "HC", "EC")
PREFIX = "navsim/EPDMS"
CONVENTION = (
    "NAVSIM v2 extended PDM score, stage one (navsim/evaluate/pdm_score.py, pdm_scorer.py, "
    "run_pdm_score_one_stage.py): EPDMS = NC·DAC·DDC·TLC·(5·EP + 5·TTC + 2·LK + 2·HC + 2·EC)/16 per token "
    "(EC and its weight dropped for a token without the token 0.5 s before it in the split), mean over tokens; "
    "v2's EP normalisation; human filter: a sub-score the logged human gets 0 counts 1; navsim/EPDMS_<name> are "
    "the sub-scores after the filter (EC over navsim/EPDMS_num_EC_tokens tokens); TLC counts 1 on tokens whose "
    "log records no red light on the route (navsim/EPDMS_num_red_light_tokens have one; navsim/EPDMS_TLC is "
    "reported only when some token does); this repository's scorer (onedrive/evaluation/pdms/epdms.py)"
)


def _normalised_progress(progress: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """v2's EP of proposals scored together: progress (P,) m, multiplier (P,) → (P,) in [0, 1]."""
    best = (progress * multiplier).max()
    if best > PROGRESS_THRESHOLD:
        return np.clip(progress / best, 0.0, 1.0)
    return np.ones_like(progress)


def _rules(scene: PDMSScene, states: np.ndarray, centerline: Path, red: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Every sub-score but EP, HC and EC of simulated proposals (P, 41, 11), plus raw progress; each (P,)."""
    scorer = PDMScorer(scene.vehicle, scene.map, centerline.linestring)
    observation = log_observation(scene)
    scores = scorer.score(states, observation)
    corners, centres = ego_boxes(states, scene.vehicle)
    multiple_lanes, non_drivable = scene.map.ego_area_flags(corners)  # (P, T) each
    last = NUM_STEPS - max(TTC_FRAME_OFFSETS) + 1  # states whose look-ahead ends by 4 s
    area = (multiple_lanes | non_drivable)[:, :last]
    ttc = scorer._time_to_collision(states[:, :last], corners[:, :last], centres[:, :last], observation, area)
    return {
        "NC": scores.nc,
        "DAC": scores.dac,
        "DDC": driving_direction_compliance(centres, scene.map),
        "TLC": traffic_light_compliance(corners, red),
        "TTC": ttc,
        "LK": lane_keeping(centres, scene.map, centerline.linestring),
        "progress": scores.progress,
    }


def _with_ep(rules: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    multiplier = np.prod([rules[name] for name in MULTIPLIERS], axis=0)
    return {**rules, "EP": _normalised_progress(rules["progress"], multiplier)}


def score_scene_epdms(scene: PDMSScene, poses: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Sub-scores of the agent's (8, 3) poses after the human filter (EC and EPDMS come later, per split)
    and the agent's simulated states (41, 11)."""
    if scene.extended is None:
        raise ValueError(f"token {scene.token!r}: EPDMS needs the scene's EPDMS inputs (history, human, red lights)")
    centerline = Path(scene.map.route_path())
    tracker = BatchTracker(scene.vehicle)
    proposals = np.stack(
        [
            reference_poses(scene, centerline, tracker),  # (41, 3)
            agent_states_10hz(scene.ego, poses),
            agent_states_10hz(scene.ego, scene.extended.human),
        ]
    )
    states = tracker.simulate(proposals, initial_state(scene.ego))  # (3, 41, 11): reference, agent, human
    red = red_light_polygons(scene.map, scene.extended.red_lights)  # per 2 Hz frame
    rules = _rules(scene, states, centerline, red)
    together = _with_ep({name: values[:2] for name, values in rules.items()})  # reference and agent
    human = _with_ep({name: values[2:] for name, values in rules.items()})  # scored alone
    agent = {name: float(values[1]) for name, values in together.items()}
    agent["HC"] = float(history_comfort(states[1:2], scene.extended.history, scene.ego)[0])
    human_scores = {name: float(values[0]) for name, values in human.items()}
    human_scores["HC"] = 1.0  # NAVSIM scores the human without its past trajectory
    for name in FILTERED:
        if human_scores[name] == 0.0:
            agent[name] = 1.0
    agent["human_filtered"] = float(sum(human_scores[name] == 0.0 for name in FILTERED))
    agent["red_lights"] = float(any(len(polygons) for polygons in red))
    return agent, states[1]


def _score_chunk(items: list[tuple[PDMSScene, np.ndarray]]) -> list[tuple[dict[str, float], np.ndarray]]:
    return [score_scene_epdms(scene, poses) for scene, poses in items]


def _previous_tokens(scenes: Sequence[PDMSScene]) -> dict[str, tuple[str, float]]:
    """{token: (the token before it in its log, gap in s)} for consecutive scored tokens ≤ 0.55 s apart."""
    by_log: dict[str, list[PDMSScene]] = defaultdict(list)
    for scene in scenes:
        by_log[scene.extended.log_name].append(scene)
    previous = {}
    for log_scenes in by_log.values():
        log_scenes.sort(key=lambda scene: scene.extended.time)
        for before, after in zip(log_scenes, log_scenes[1:]):
            gap = after.extended.time - before.extended.time
            if 0.0 < gap <= PAIR_GAP:
                previous[after.token] = (before.token, gap)
    return previous


def token_epdms(scores: Mapping[str, float]) -> float:
    """EPDMS of one token's filtered sub-scores (EC optional)."""
    weights = {name: weight for name, weight in WEIGHTS.items() if name in scores}
    weighted = sum(weight * scores[name] for name, weight in weights.items()) / sum(weights.values())
    return float(np.prod([scores[name] for name in MULTIPLIERS]) * weighted)


def score_tokens_epdms(
    scenes: Sequence[PDMSScene],
    trajectories: Mapping[str, object],
    workers: int = 1,
    show_progress: bool = False,
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """EPDMS of every scene's token with the agent poses ``trajectories[token]`` ((8, 3) each).

    Returns ``(per_token, summary)``: per token the filtered sub-scores, ``EC`` when the token
    0.5 s before it is among ``scenes``, and ``EPDMS``; the summary holds ``navsim/EPDMS``,
    ``navsim/EPDMS_<sub-score>`` means (see ``CONVENTION``) and the token counts.
    """
    items = checked_items(scenes, trajectories, workers)
    missing = [scene.token for scene, _ in items if scene.extended is None]
    if missing:
        raise ValueError(
            f"{len(missing)} tokens have no EPDMS inputs (e.g. {missing[:3]}); write the scene file again with "
            "tools/create_data.py navsim"
        )
    results = map_chunks(_score_chunk, items, workers, show_progress, "EPDMS")
    per_token = {scene.token: scores for (scene, _), (scores, _) in zip(items, results, strict=True)}
    states = {scene.token: simulated for (scene, _), (_, simulated) in zip(items, results, strict=True)}
    for token, (before, gap) in _previous_tokens([scene for scene, _ in items]).items():
        per_token[token]["EC"] = two_frame_comfort(states[token], states[before], gap)
    for scores in per_token.values():
        scores["EPDMS"] = token_epdms(scores)

    values = list(per_token.values())
    with_ec = [scores["EC"] for scores in values if "EC" in scores]
    red_light_tokens = int(sum(scores["red_lights"] for scores in values))
    summary = {PREFIX: float(np.mean([scores["EPDMS"] for scores in values]))}
    for name in SUB_SCORES[1:]:
        if name == "EC":
            if with_ec:
                summary[f"{PREFIX}_EC"] = float(np.mean(with_ec))
        elif name != "TLC" or red_light_tokens:
            summary[f"{PREFIX}_{name}"] = float(np.mean([scores[name] for scores in values]))
    summary[f"{PREFIX}_num_tokens"] = len(values)
    summary[f"{PREFIX}_num_EC_tokens"] = len(with_ec)
    summary[f"{PREFIX}_num_red_light_tokens"] = red_light_tokens
    summary[f"{PREFIX}_num_human_filtered_tokens"] = int(sum(scores["human_filtered"] > 0 for scores in values))
    return per_token, summary
