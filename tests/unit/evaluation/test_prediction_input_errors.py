"""Bad prediction folders and files are refused naming the culprit: a key twice, numbers as strings, unknown files."""

from __future__ import annotations

import json

import pytest

from onedrive.errors import InputError
from onedrive.evaluation import evaluate_predictions
from onedrive.evaluation.predictions import load_detection, load_lanes, load_planning, load_text

TOKENS = ["tok-0", "tok-1"]
TRAJ = [[2.5 * (t + 1), 0.0] for t in range(6)]


def test_a_sample_token_given_twice_in_planning_json_is_an_error(tmp_path):
    path = tmp_path / "planning.json"
    far = [[x, 4.0] for x, _ in TRAJ]
    entries = [("tok-0", TRAJ), ("tok-1", TRAJ), ("tok-0", far)]  # the last copy of tok-0 would win silently
    path.write_text(
        "{" + ", ".join(f'"{token}": {{"trajectory": {json.dumps(traj)}}}' for token, traj in entries) + "}"
    )
    with pytest.raises(InputError, match=r"planning.json: key\(s\) \['tok-0'\] appear twice"):
        load_planning(path, TOKENS)


def test_a_key_twice_in_a_text_jsonl_line_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "text.jsonl"
    path.write_text('{"sample_token": "a", "question": "Q?", "prediction": "yes", "prediction": "no"}\n')
    records = [{"token": "a", "qa": [{"question": "Q?", "answer": "yes"}]}]
    with pytest.raises(InputError, match=r"text.jsonl line 1: key\(s\) \['prediction'\] appear twice"):
        load_text(path, records)


def test_numbers_given_as_strings_are_refused(tmp_path):
    planning = tmp_path / "planning.json"
    planning.write_text(
        json.dumps({"tok-0": {"trajectory": TRAJ}, "tok-1": {"trajectory": [[str(x), "0.0"] for x, _ in TRAJ]}})
    )
    with pytest.raises(InputError, match=r"JSON numbers \(not strings\) for 1 split sample\(s\), e.g. \['tok-1'\]"):
        load_planning(planning, TOKENS)
    lanes = tmp_path / "lanes.json"
    points = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]]
    lanes.write_text(json.dumps({"tok-0": [{"points": points, "score": "0.9"}], "tok-1": []}))
    with pytest.raises(InputError, match=r"not strings\) for 1 split sample\(s\), e.g. \['tok-0'\]"):
        load_lanes(lanes, TOKENS)


def test_detection_values_given_as_strings_are_refused(tmp_path):
    box = {
        "sample_token": "tok-0",
        "translation": [1.0, 2.0, 0.0],
        "size": [2.0, 4.0, 1.5],
        "rotation": [1.0, 0.0, 0.0, 0.0],
        "velocity": [0.0, 0.0],
        "detection_name": "car",
        "detection_score": "0.5",
        "attribute_name": "",
    }
    path = tmp_path / "detection.json"
    path.write_text(json.dumps({"meta": {}, "results": {"tok-0": [box], "tok-1": []}}))
    with pytest.raises(InputError, match=r"missing a field or has the wrong length.*\['tok-0'\]"):
        load_detection(path, TOKENS)
    box["detection_score"], box["translation"] = 0.5, ["1.0", 2.0, 0.0]
    path.write_text(json.dumps({"meta": {}, "results": {"tok-0": [box], "tok-1": []}}))
    with pytest.raises(InputError, match=r"\['tok-0'\]"):
        load_detection(path, TOKENS)


def test_unknown_files_in_a_predictions_folder_are_named_with_the_expected_names(infos, info_factory, tmp_path):
    info_path = info_factory([infos.make(token) for token in TOKENS])
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "planning.json").write_text(json.dumps({t: {"trajectory": TRAJ} for t in TOKENS}))
    (folder / "lane.json").write_text("{}")
    (folder / "plan.json").write_text("{}")
    with pytest.raises(
        InputError,
        match=r"holds \['lane.json', 'plan.json'\], which are not prediction files; "
        r"the files it may hold are \['detection.json', 'lanes.json', 'navsim.json', "
        r"'planning.json', 'text.jsonl'\]",
    ):
        evaluate_predictions(folder, info_path)
    (folder / "lane.json").unlink()
    (folder / "plan.json").unlink()
    (folder / ".planning.json.tmp").write_text("")  # hidden: an interrupted atomic write
    assert evaluate_predictions(folder, info_path)["plan/l2_avg"] == 0.0


@pytest.mark.parametrize("name", ["Car", "spaceship"])
def test_unknown_class_names_in_the_info_file_are_an_error(infos, info_factory, tmp_path, name):
    record = infos.add_agent(infos.make("tok-0"), "car", [[x, 0.0] for x, _ in TRAJ])
    record["gt_names"][-1] = name  # what an info file written by hand or by another tool may hold
    info_path = info_factory([record, infos.make("tok-1")])
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "planning.json").write_text(json.dumps({t: {"trajectory": TRAJ} for t in TOKENS}))
    with pytest.raises(
        InputError,
        match=rf"info file {info_path}: 1 box\(es\) with an unknown class name "
        rf"\(sample: name\), e.g. tok-0: '{name}'; the class names are \['car', ",
    ):
        evaluate_predictions(folder, info_path)


def test_info_numbers_given_as_strings_are_refused(infos, info_factory, tmp_path):
    info_path = info_factory(
        [infos.make("tok-0"), infos.make("tok-1", ego_fut_traj=[[str(x), "0.0"] for x, _ in TRAJ])]
    )
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "planning.json").write_text(json.dumps({t: {"trajectory": TRAJ} for t in TOKENS}))
    with pytest.raises(InputError, match=r"info record tok-1: ego_fut_traj must be an array of numbers"):
        evaluate_predictions(folder, info_path)


def test_a_detection_submission_with_nan_is_not_written(tmp_path):
    from onedrive.evaluation.detection import write_submission

    box = {
        "sample_token": "tok-0",
        "translation": [float("nan"), 2.0, 0.0],
        "size": [2.0, 4.0, 1.5],
        "rotation": [1.0, 0.0, 0.0, 0.0],
        "velocity": [0.0, 0.0],
        "detection_name": "car",
        "detection_score": 0.5,
        "attribute_name": "",
    }
    with pytest.raises(ValueError, match=r"cannot write .*detection.json as JSON"):
        write_submission({"tok-0": [box]}, tmp_path / "detection.json")
    assert not (tmp_path / "detection.json").exists()
