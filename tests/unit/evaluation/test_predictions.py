"""Prediction files are checked against the split: missing samples, NaN, wrong shapes → ValueError naming them."""

from __future__ import annotations

import json
import math

import pytest

from onedrive.evaluation.predictions import load_infos, load_lanes, load_planning, load_text

TOKENS = [f"tok-{i}" for i in range(8)]
TRAJ = [[2.5 * (t + 1), 0.0] for t in range(6)]


def write(path, payload):
    path.write_text(json.dumps(payload))
    return path


def test_planning_extra_samples_are_ignored_and_order_follows_the_split(tmp_path):
    data = {t: {"trajectory": [[i, 0.0]] * 6} for i, t in enumerate(TOKENS)}
    data["not-in-split"] = {"trajectory": [[0.0, 0.0]]}  # wrong shape but not scored
    trajs = load_planning(write(tmp_path / "planning.json", data), TOKENS[::-1])
    assert trajs.shape == (8, 6, 2)
    assert trajs[0, 0, 0] == 7.0


def test_planning_missing_samples_are_named_with_their_count(tmp_path):
    data = {t: {"trajectory": TRAJ} for t in TOKENS[:2]}
    with pytest.raises(
        ValueError, match=r"no prediction for 6 split sample\(s\), e.g. \['tok-2', 'tok-3', 'tok-4', 'tok-5', 'tok-6'\]"
    ):
        load_planning(write(tmp_path / "planning.json", data), TOKENS)


def test_planning_nan_and_wrong_shape(tmp_path):
    data = {t: {"trajectory": TRAJ} for t in TOKENS}
    data["tok-3"] = {"trajectory": [[math.nan, 0.0]] + TRAJ[1:]}
    with pytest.raises(ValueError, match=r"NaN/inf for 1 split sample\(s\), e.g. \['tok-3'\]"):
        load_planning(write(tmp_path / "planning.json", data), TOKENS)
    data["tok-3"] = {"trajectory": TRAJ[:4]}
    with pytest.raises(ValueError, match=r"shape is not \(6, 2\) for 1 split sample\(s\), e.g. \['tok-3 \(4, 2\)'\]"):
        load_planning(write(tmp_path / "planning.json", data), TOKENS)
    data["tok-3"] = [TRAJ]
    with pytest.raises(ValueError, match=r"not \{'trajectory'.* e.g. \['tok-3'\]"):
        load_planning(write(tmp_path / "planning.json", data), TOKENS)


def test_planning_file_that_is_not_json(tmp_path):
    path = tmp_path / "planning.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="planning.json: not valid JSON"):
        load_planning(path, TOKENS)
    path.write_bytes(b"\xff\xfe\x00binary")  # e.g. an image saved under the wrong name
    with pytest.raises(ValueError, match="planning.json: not valid JSON"):
        load_planning(path, TOKENS)


def test_lanes_checks(tmp_path):
    lane = {"points": [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]], "score": 0.9}
    data = {t: [lane] for t in TOKENS}
    data["tok-0"] = []  # no lanes predicted is valid
    lanes, scores = load_lanes(write(tmp_path / "lanes.json", data), TOKENS)
    assert len(lanes[0]) == 0 and lanes[1][0].shape == (2, 3) and scores[1][0] == 0.9
    data["tok-5"] = [{"points": [[0.0, 0.0], [1.0, 1.0]], "score": 0.5}]
    with pytest.raises(ValueError, match=r"not \(K >= 2, 3\) for 1 split sample\(s\), e.g. \['tok-5 \(2, 2\)'\]"):
        load_lanes(write(tmp_path / "lanes.json", data), TOKENS)
    data["tok-5"] = [{"points": lane["points"], "score": math.inf}]
    with pytest.raises(ValueError, match=r"NaN/inf for 1 split sample\(s\), e.g. \['tok-5'\]"):
        load_lanes(write(tmp_path / "lanes.json", data), TOKENS)
    del data["tok-5"]
    with pytest.raises(ValueError, match=r"no prediction for 1 split sample\(s\), e.g. \['tok-5'\]"):
        load_lanes(write(tmp_path / "lanes.json", data), TOKENS)


def records_with_qa():
    return [
        {
            "token": "a",
            "qa": [
                {"question": "How many cars?", "answer": "Two cars.", "type": "count"},
                {"question": "What next?", "answer": "Go straight.", "type": "plan"},
            ],
        },
        {"token": "b", "qa": [{"question": "How many cars?", "answer": "None.", "type": "count"}]},
        {"token": "c", "qa": []},
    ]


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_text_pairs_follow_the_info_file(tmp_path):
    rows = [
        {"sample_token": "a", "question": "How many cars?", "prediction": "two", "reference": "Two cars."},
        {"sample_token": "a", "question": "What next?", "prediction": "straight"},
        {"sample_token": "b", "question": "How many cars?", "prediction": "none", "reference": "None."},
        {"sample_token": "other-split", "question": "?", "prediction": "x"},
    ]
    pairs = load_text(write_jsonl(tmp_path / "text.jsonl", rows), records_with_qa())
    assert pairs.predictions == ["two", "straight", "none"]
    assert pairs.references == [["Two cars."], ["Go straight."], ["None."]]
    assert pairs.tokens == ["a", "a", "b"]
    assert pairs.questions == ["How many cars?", "What next?", "How many cars?"]
    assert pairs.kinds == ["count", "plan", "count"]

    with pytest.raises(ValueError, match=r"no prediction for a question .* e.g. \[\"b 'How many cars\?'\"\]"):
        load_text(write_jsonl(tmp_path / "text.jsonl", rows[:2]), records_with_qa())
    bad_reference = rows[:2] + [{**rows[2], "reference": "Three."}]
    with pytest.raises(ValueError, match="reference differs from the info file's answer"):
        load_text(write_jsonl(tmp_path / "text.jsonl", bad_reference), records_with_qa())
    with pytest.raises(ValueError, match="hold no 'qa' pairs"):
        load_text(write_jsonl(tmp_path / "text.jsonl", rows), [{"token": "a", "qa": []}])


def test_info_file_checks(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_infos(tmp_path / "missing.json")
    path = write(tmp_path / "infos.json", {"metadata": {}, "infos": [{"token": "a"}, {"token": "a"}]})
    with pytest.raises(ValueError, match=r"duplicated tokens \['a'\]"):
        load_infos(path)
    metadata, records = load_infos(
        write(tmp_path / "infos.json", {"metadata": {"split": "val"}, "infos": [{"token": "a"}]})
    )
    assert metadata == {"split": "val"} and records == [{"token": "a"}]
