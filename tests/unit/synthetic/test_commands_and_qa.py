"""Driving commands (from the devkit's ego poses) and the QA files."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
from pyquaternion import Quaternion

from onedrive.data.nuscenes.qa import KEYWORDS_QUESTION
from onedrive.synthetic.qa import command_from_endpoint, direction_word

QA_TYPES = {"keywords", "description", "counting", "nearest", "planning"}


def _ego_pose(nusc, sample):
    pose = nusc.get("ego_pose", nusc.get("sample_data", sample["data"]["LIDAR_TOP"])["ego_pose_token"])
    return np.array(pose["translation"]), Quaternion(pose["rotation"])


def _commands(nusc):
    """VAD/UniAD rule on the 3 s future end point in the ego frame, per sample with 6 future samples."""
    commands = {}
    for sample in nusc.sample:
        future, token = [], sample["next"]
        while token and len(future) < 6:
            future.append(nusc.get("sample", token))
            token = future[-1]["next"]
        if len(future) < 6:
            continue
        translation, rotation = _ego_pose(nusc, sample)
        end, _ = _ego_pose(nusc, future[-1])
        lateral = rotation.inverse.rotate(end - translation)[1]
        commands[sample["token"]] = command_from_endpoint(float(lateral))
    return commands


def test_all_three_commands_occur(nusc):
    counts = Counter(_commands(nusc).values())
    assert set(counts) == {"left", "right", "straight"}, counts


def test_qa_files_cover_each_split_and_agree_with_the_command(nusc, synthetic_root):
    commands = _commands(nusc)
    splits = json.loads((synthetic_root / "v1.0-synthetic" / "splits.json").read_text())
    for split, scene_names in splits.items():
        qa = json.loads((synthetic_root / "qa" / f"{split}.json").read_text())
        expected = {s["token"] for s in nusc.sample if nusc.get("scene", s["scene_token"])["name"] in scene_names}
        assert set(qa) == expected
        for token, pairs in qa.items():
            assert pairs and all(set(p) == {"question", "answer", "type"} and p["type"] in QA_TYPES for p in pairs)
            if token in commands:
                planning = next(p["answer"] for p in pairs if p["type"] == "planning")
                verb = {"left": "turn left", "right": "turn right", "straight": "go straight"}[commands[token]]
                assert verb in planning, (planning, commands[token])
                keywords = next(p for p in pairs if p["type"] == "keywords")  # OmniDrive's short driving action
                assert keywords["question"] == KEYWORDS_QUESTION and keywords["answer"].startswith(verb.capitalize())


def test_direction_words():
    assert direction_word(10.0, 0.0) == "front"
    assert direction_word(5.0, 5.0) == "front-left"
    assert direction_word(0.0, -3.0) == "right"
    assert direction_word(-4.0, 0.1) == "back"
    assert direction_word(-4.0, -4.0) == "back-right"
