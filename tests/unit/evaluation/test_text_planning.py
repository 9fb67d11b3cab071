"""The planning trajectory as text: OmniDrive's answer format, its parser and the text_plan/ metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from onedrive.data.planning_text import (
    PLANNING_TEXT_QUESTION,
    parse_planning_answer,
    planning_answer,
    planning_turn,
)
from onedrive.errors import InputError
from onedrive.evaluation.runner import evaluate_predictions
from onedrive.evaluation.text_planning import text_planning_metrics

STRAIGHT = np.array([[2.5 * (t + 1), 0.0] for t in range(6)])  # (6, 2) the records' ground truth


def test_answer_format_and_parse_round_trip():
    waypoints = np.array([[4.431, 0.004], [8.857, -0.0149], [13.2, -0.27], [17.6, 0.5], [22.05, 1.006], [26.4, 2.0]])
    answer = planning_answer(waypoints)
    assert answer == (
        "Here is the planning trajectory [PT, (+4.43, 0.0), (+8.86, 0.0), (+13.20, -0.27), (+17.60, +0.50), "
        "(+22.05, +1.01), (+26.40, +2.00)]."
    )
    parsed = parse_planning_answer(answer)
    expected = np.round(waypoints, 2)
    expected[np.abs(expected) <= 0.01] = 0.0
    np.testing.assert_allclose(parsed, expected, atol=1e-9)
    # Random trajectories come back within the two-decimal rounding.
    rng = np.random.default_rng(0)
    for _ in range(50):
        trajectory = rng.uniform(-30, 30, (6, 2))
        np.testing.assert_allclose(parse_planning_answer(planning_answer(trajectory)), trajectory, atol=0.0101)
    # Text around the list and unsigned numbers are fine (OmniDrive's evaluator reads them too).
    assert parse_planning_answer("Sure. [PT, " + ", ".join(["(1.5, -2)"] * 6) + "] done").tolist() == [[1.5, -2.0]] * 6


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Go straight and keep the speed.",
        "Here is the planning trajectory [PT, (+1.00, +2.00)].",  # 1 waypoint
        "[PT, " + ", ".join(["(+1.00, +2.00)"] * 7) + "]",  # 7 waypoints
        "[PT, " + ", ".join(["(+1.00, +2.00)"] * 5) + ", (+1.00; +2.00)]",  # a broken pair
        "[PT, " + ", ".join(["(+1.00, +2.00)"] * 6),  # never closed (cut by max_new_tokens)
        "[" + ", ".join(["(+1.00, +2.00)"] * 6) + "]",  # no PT marker
    ],
)
def test_malformed_answers_do_not_parse(text):
    assert parse_planning_answer(text) is None


def test_planning_turn_only_with_a_whole_future(infos):
    turn = planning_turn(infos.make("s0"))
    assert turn["question"] == PLANNING_TEXT_QUESTION and turn["type"] == "trajectory"
    np.testing.assert_allclose(parse_planning_answer(turn["answer"]), STRAIGHT)
    assert planning_turn(infos.make("s1", fut_valid=False, ego_fut_mask=[1, 1, 1, 1, 0, 0])) is None


def test_l2_of_hand_made_answers_and_unparsed_counted(infos):
    records = [infos.make(f"s{i}") for i in range(3)]
    shifted = STRAIGHT + [0.0, 1.0]  # 1 m to the left at every step: L2 1 m at every horizon
    farther = STRAIGHT * [1.2, 1.0]  # x error 0.5 m per step: mean over steps 1..2k is 0.25 (2k + 1) m
    answers = [planning_answer(shifted), planning_answer(farther), "I would go straight."]
    metrics = text_planning_metrics(["s0", "s1", "s2"], answers, records, {r["token"]: STRAIGHT for r in records})
    assert metrics["text_plan/num_questions"] == 3
    assert metrics["text_plan/num_parsed"] == 2 and metrics["text_plan/num_unparsed"] == 1
    for seconds in (1, 2, 3):
        assert metrics[f"text_plan/l2_{seconds}s"] == pytest.approx((1.0 + 0.25 * (2 * seconds + 1)) / 2)
    assert metrics["text_plan/l2_avg"] == pytest.approx((1.0 + 0.25 * 5) / 2)
    assert metrics["text_plan/collision_avg"] == 0.0 and metrics["text_plan/boundary_avg"] == 0.0
    assert metrics["text_plan/head_l2_avg"] == 0.0  # the head's trajectories are the ground truth
    none = text_planning_metrics(["s0"], ["no list"], records)
    assert none == {"text_plan/num_questions": 1, "text_plan/num_parsed": 0, "text_plan/num_unparsed": 1}
    with pytest.raises(InputError, match="'s3' asks the planning-trajectory question but has no whole 6-step"):
        text_planning_metrics(["s3"], ["x"], [infos.make("s3", fut_valid=False, ego_fut_mask=[1, 1, 1, 0, 0, 0])])


def test_evaluation_writes_text_plan_beside_plan(tmp_path, infos):
    records = [infos.make(f"s{i}") for i in range(2)]
    for record in records:
        record["qa"] = [planning_turn(record), {"question": "Describe.", "answer": "A road.", "type": "desc"}]
    path = infos.write(tmp_path / "nuscenes_infos_val.json", records)
    preds = tmp_path / "preds"
    preds.mkdir()
    (preds / "planning.json").write_text(
        json.dumps({r["token"]: {"trajectory": (STRAIGHT + [0.0, 2.0]).tolist()} for r in records})
    )
    answers = {"s0": planning_answer(STRAIGHT + [0.0, 1.0]), "s1": "Here is the planning trajectory [PT, (+1.0"}
    rows = [
        {"sample_token": r["token"], "question": turn["question"], "prediction": answers[r["token"]]}
        if turn["type"] == "trajectory"
        else {"sample_token": r["token"], "question": turn["question"], "prediction": "A road."}
        for r in records
        for turn in r["qa"]
    ]
    (preds / "text.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    evaluate_predictions(preds, path, out_dir=tmp_path / "eval", num_plots=0)
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["text/num_pairs"] == 4  # every question of every frame, the planning one included
    assert (saved["text_plan/num_questions"], saved["text_plan/num_parsed"], saved["text_plan/num_unparsed"]) == (
        2,
        1,
        1,
    )
    assert saved["text_plan/l2_avg"] == pytest.approx(1.0)
    assert saved["text_plan/head_l2_avg"] == pytest.approx(2.0) and saved["plan/l2_avg"] == pytest.approx(2.0)
    assert "text_plan" in saved["conventions"]
