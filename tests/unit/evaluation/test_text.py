"""Text metrics through pycocoevalcap's scorers."""

from __future__ import annotations

import json

import pytest

from onedrive.errors import InputError
from onedrive.evaluation.runner import evaluate_predictions
from onedrive.evaluation.text import asked_class, count_phrase, counting_metrics, text_metrics, tokenize

ANSWERS = [
    "There are three cars ahead of the ego vehicle.",
    "The nearest object is a pedestrian on the left side.",
    "The ego vehicle should slow down because a bus is stopping.",
]


def test_identical_answers_reach_the_maxima():
    metrics = text_metrics(ANSWERS, [[a] for a in ANSWERS])
    for n in range(1, 5):
        assert metrics[f"text/BLEU-{n}"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["text/ROUGE-L"] == pytest.approx(1.0)
    assert metrics["text/CIDEr"] == pytest.approx(10.0)  # pycocoevalcap's x10 CIDEr-D scale
    assert metrics["text/num_pairs"] == 3


def test_tokenisation_ignores_case_and_punctuation():
    assert tokenize("Turn LEFT, then stop!") == "turn left then stop"
    shouted = [a.upper().replace(".", " !!") for a in ANSWERS]
    assert text_metrics(shouted, [[a] for a in ANSWERS])["text/BLEU-4"] == pytest.approx(1.0, abs=1e-6)


def test_wrong_answers_score_lower_and_multiple_references_help():
    wrong = ["no", "a tree", "keep going"]
    worse = text_metrics(wrong, [[a] for a in ANSWERS])
    assert worse["text/BLEU-1"] < 0.2 and worse["text/CIDEr"] < 1.0
    one_ref = text_metrics(["there are three cars ahead"], [["three cars are ahead of us"]])
    two_refs = text_metrics(
        ["there are three cars ahead"], [["three cars are ahead of us", "there are three cars ahead"]]
    )
    assert two_refs["text/ROUGE-L"] > one_ref["text/ROUGE-L"]


def test_empty_inputs_raise():
    with pytest.raises(ValueError, match="no question/answer pairs"):
        text_metrics([], [])
    with pytest.raises(ValueError, match="pair 0 has no reference"):
        text_metrics(["a"], [[]])


# Counting questions and references as onedrive/synthetic/qa.py writes them.
BUS_QUESTION = "How many buses are within 30 meters of the ego vehicle?"
BUS_ANSWER = "There are 2 buses within 30 meters."
CONE_QUESTION = "How many traffic cones are within 30 meters of the ego vehicle?"
CONE_ANSWER = "There is 1 traffic cone within 30 meters."
CAR_QUESTION = "How many cars are within 30 meters of the ego vehicle?"
CAR_ANSWER = "There are no cars within 30 meters."


def test_counting_metrics_on_hand_made_answers():
    questions = [BUS_QUESTION, BUS_QUESTION, CONE_QUESTION, CAR_QUESTION, CAR_QUESTION, CONE_QUESTION]
    references = [[BUS_ANSWER], [BUS_ANSWER], [CONE_ANSWER], [CAR_ANSWER], [CAR_ANSWER], [CONE_ANSWER]]
    predictions = [
        "There are 2 buses within 30 meters.",  # right class, right count
        "There are 2 pedestrians within 30 meters.",  # wrong class
        "There are 3 traffic cones within 30 meters.",  # right class, wrong count
        "The lane ahead is clear.",  # no count phrase: unparseable, not followed
        "There are zero cars nearby.",  # count in words: right class, right count
        "A traffic cone is there.",  # names the class but gives no count: unparseable
    ]
    metrics = counting_metrics(questions, predictions, references)
    assert metrics["text/num_counting_questions"] == 6
    assert metrics["text/counting_class_named"] == pytest.approx(3 / 6)
    assert metrics["text/counting_correct"] == pytest.approx(2 / 6)


def test_count_phrase_and_asked_class():
    assert count_phrase("There are no construction vehicles within 30 meters.") == ("construction_vehicle", 0)
    assert count_phrase("THERE IS 1 TRAFFIC CONE.") == ("traffic_cone", 1)
    assert count_phrase("There are 4 cars and 1 bus.") == ("car", 4)  # the first count phrase is the answer
    assert count_phrase("Cars and buses.") is None
    assert asked_class(CONE_QUESTION) == "traffic_cone"
    assert asked_class("Describe the current driving scene.") is None


def test_counting_questions_the_metric_cannot_read_raise():
    assert counting_metrics([], [], []) == {"text/num_counting_questions": 0}
    with pytest.raises(InputError, match="counting question 'How many lanes"):
        counting_metrics(["How many lanes are there?"], ["Two."], [["Two lanes."]])
    with pytest.raises(InputError, match="references giving '<count> <class>'"):
        counting_metrics([BUS_QUESTION], ["x"], [["Some buses."]])


def test_evaluation_scores_exactly_the_counting_questions(tmp_path):
    records = [
        {
            "token": "s0",
            "qa": [
                {"question": "Describe the current driving scene.", "answer": "A road.", "type": "description"},
                {"question": BUS_QUESTION, "answer": BUS_ANSWER, "type": "counting"},
                {"question": CONE_QUESTION, "answer": CONE_ANSWER, "type": "counting"},
            ],
        },
        {"token": "s1", "qa": [{"question": CAR_QUESTION, "answer": CAR_ANSWER, "type": "counting"}]},
    ]
    infos = tmp_path / "synthetic_infos_val.json"
    infos.write_text(json.dumps({"metadata": {}, "infos": records}))
    predictions = {
        ("s0", BUS_QUESTION): "There are 2 buses within 30 meters.",
        ("s0", CONE_QUESTION): "There are 2 cars within 30 meters.",
        ("s1", CAR_QUESTION): "No idea.",
    }
    (tmp_path / "preds").mkdir()
    (tmp_path / "preds" / "text.jsonl").write_text(
        "\n".join(
            json.dumps(
                {
                    "sample_token": r["token"],
                    "question": qa["question"],
                    "reference": qa["answer"],
                    "prediction": predictions.get((r["token"], qa["question"]), "There are 2 buses."),
                }
            )
            for r in records
            for qa in r["qa"]
        )
    )
    metrics = evaluate_predictions(tmp_path / "preds", infos, out_dir=tmp_path / "eval", num_plots=0)
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["text/num_pairs"] == 4 and saved["text/num_counting_questions"] == 3
    assert saved["text/counting_class_named"] == pytest.approx(1 / 3) == metrics["text/counting_class_named"]
    assert saved["text/counting_correct"] == pytest.approx(1 / 3)
    assert "text/counting" in saved["conventions"]
