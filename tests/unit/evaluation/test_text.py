"""Text metrics through pycocoevalcap's scorers."""

from __future__ import annotations

import pytest

from onedrive.evaluation.text import text_metrics, tokenize

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
    two_refs = text_metrics(["there are three cars ahead"], [["three cars are ahead of us", "there are three cars ahead"]])
    assert two_refs["text/ROUGE-L"] > one_ref["text/ROUGE-L"]


def test_empty_inputs_raise():
    with pytest.raises(ValueError, match="no question/answer pairs"):
        text_metrics([], [])
    with pytest.raises(ValueError, match="pair 0 has no reference"):
        text_metrics(["a"], [[]])
