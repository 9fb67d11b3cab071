"""QA sources, the CAN bus source of the ego status, and the command-line tool."""

import json
import runpy
from pathlib import Path

import numpy as np
import pytest

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.pipeline import convert_splits
from onedrive.data.nuscenes.qa import DESCRIPTION_QUESTION, KEYWORDS_QUESTION
from onedrive.data.planning_text import parse_planning_answer, planning_turn
from onedrive.errors import InputError

TOOL = Path(__file__).resolve().parents[3] / "tools" / "create_data.py"


def test_omnidrive_qa_layout(tiny_world, tmp_path):
    qa = tmp_path / "omnidrive"
    for kind in ("keywords", "desc", "vqa", "conv"):
        (qa / kind / "val").mkdir(parents=True)
    for token in tiny_world.sample_tokens["scene-0002"]:
        (qa / "desc" / "val" / f"{token}.json").write_text(json.dumps({"description": f"scene at {token}"}))
        (qa / "conv" / "val" / f"{token}.json").write_text(json.dumps([{"question": "Why?", "answer": "Lane."}]))
    (qa / "vqa" / "val" / "s2-sample-0.json").write_text(json.dumps([{"question": "Cars?", "answer": "None."}]))
    (qa / "keywords" / "val" / "s2-sample-0.json").write_text(json.dumps("Go straight, keep speed."))
    settings = ConverterSettings(str(tiny_world.root), tiny_world.version, qa_root=str(qa))
    infos = convert_splits(settings, ["tiny_val"], progress=False)["tiny_val"]["infos"]
    assert infos[0]["qa"] == [
        planning_turn(infos[0]),  # the converter's own turn first, from ego_fut_traj, as OmniDrive
        {"question": KEYWORDS_QUESTION, "answer": "Go straight, keep speed.", "type": "keywords"},
        {"question": DESCRIPTION_QUESTION, "answer": "scene at s2-sample-0", "type": "desc"},
        {"question": "Cars?", "answer": "None.", "type": "vqa"},
        {"question": "Why?", "answer": "Lane.", "type": "conv"},
    ]
    np.testing.assert_allclose(
        parse_planning_answer(infos[0]["qa"][0]["answer"]), infos[0]["ego_fut_traj"], atol=0.0051
    )
    assert [turn["type"] for turn in infos[1]["qa"]] == ["trajectory", "desc", "conv"]
    # Key frames without a whole 6-step future (a scene's last ones) have no planning turn.
    assert [record["fut_valid"] for record in infos][-2:] == [False, False]
    assert [turn["type"] for turn in infos[-1]["qa"]] == ["desc", "conv"]


def test_a_keywords_file_must_hold_one_string(tiny_world, tmp_path):
    qa = tmp_path / "omnidrive"
    (qa / "keywords" / "val").mkdir(parents=True)
    bad = qa / "keywords" / "val" / "s2-sample-0.json"
    bad.write_text(json.dumps({"action": "stop"}))
    settings = ConverterSettings(str(tiny_world.root), tiny_world.version, qa_root=str(qa))
    with pytest.raises(ValueError, match=f"{bad}: expected one JSON string"):
        convert_splits(settings, ["tiny_val"], progress=False)


def test_omnidrive_files_are_each_optional_and_samples_without_any_are_counted(tiny_world, tmp_path, caplog):
    qa = tmp_path / "omnidrive"
    tokens = tiny_world.sample_tokens["scene-0001"]
    (qa / "vqa" / "train").mkdir(parents=True)
    (qa / "desc" / "train").mkdir(parents=True)
    for token in tokens[:-2]:  # the last two key frames have no file at all
        (qa / "vqa" / "train" / f"{token}.json").write_text(json.dumps([{"question": "q", "answer": "a"}]))
    (qa / "desc" / "train" / f"{tokens[0]}.json").write_text(json.dumps({"description": "a road"}))
    settings = ConverterSettings(str(tiny_world.root), tiny_world.version, qa_root=str(qa))
    with caplog.at_level("WARNING", logger="onedrive.data.nuscenes.pipeline"):
        document = convert_splits(settings, ["tiny_train"], progress=False)["tiny_train"]
    source_turns = [[turn for turn in record["qa"] if turn["type"] != "trajectory"] for record in document["infos"]]
    assert [len(turns) for turns in source_turns] == [2] + [1] * 7 + [0, 0]
    assert document["metadata"]["qa_source"] == "omnidrive"
    assert document["metadata"]["samples_without_qa"] == 2
    assert "split tiny_train: 2 of 10 samples have no QA turns" in caplog.text and tokens[-2] in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="onedrive.data.nuscenes.pipeline"):
        document = convert_splits(
            ConverterSettings(str(tiny_world.root), tiny_world.version), ["tiny_train"], progress=False
        )["tiny_train"]
    assert (document["metadata"]["qa_source"], document["metadata"]["samples_without_qa"]) == ("none", 10)
    assert "10 of 10 samples have no QA turns (no QA source: pass --qa" in caplog.text


def test_split_qa_file_used_automatically(tiny_world):
    tokens = tiny_world.sample_tokens["scene-0002"]
    (tiny_world.root / "qa").mkdir()
    turns = {token: [{"question": "How many trucks?", "answer": "One.", "type": "count"}] for token in tokens}
    (tiny_world.root / "qa" / "tiny_val.json").write_text(json.dumps(turns))
    documents = convert_splits(ConverterSettings(str(tiny_world.root), tiny_world.version), progress=False)
    for record in documents["tiny_val"]["infos"]:
        assert record["qa"] == [planning_turn(record)] * record["fut_valid"] + turns[record["token"]]
    for record in documents["tiny_train"]["infos"]:  # no qa/tiny_train.json: the planning turn alone
        assert record["qa"] == [planning_turn(record)] * record["fut_valid"]
    del turns[tokens[2]]
    (tiny_world.root / "qa" / "tiny_val.json").write_text(json.dumps(turns))
    with pytest.raises(ValueError, match=f"tiny_val.json has no QA entry for sample {tokens[2]}"):
        convert_splits(ConverterSettings(str(tiny_world.root), tiny_world.version), ["tiny_val"], progress=False)


def test_can_bus_status_where_present(tiny_world, tmp_path):
    can = tmp_path / "expansion" / "can_bus"
    can.mkdir(parents=True)
    start = 1_530_000_100_000_000  # scene-0001's first key frame
    messages = [
        {
            "utime": start - 1_000_000 + 20_000 * i,
            "pos": [0, 0, 0],
            "orientation": [1, 0, 0, 0],
            "vel": [4.0 + 0.001 * i, 0.1, 0.0],
            "accel": [0.2, -0.1, 9.8],
            "rotation_rate": [0.0, 0.0, 0.03],
        }
        for i in range(300)  # 6 s of 50 Hz messages: covers key frames 0-9 up to 4.5 s
    ]
    (can / "scene-0001_pose.json").write_text(json.dumps(messages))
    settings = ConverterSettings(str(tiny_world.root), tiny_world.version, can_bus_root=str(can.parent))
    documents = convert_splits(settings, progress=False)
    first = documents["tiny_train"]["infos"][0]
    assert first["ego_status_source"] == "can_bus"
    expected_speed = float(np.hypot(4.0 + 0.001 * 50, 0.1))  # message 50 is at the key frame's time
    np.testing.assert_allclose(first["ego_status"], [4.05, 0.1, 0.2, -0.1, 0.03, expected_speed], atol=1e-9)
    val = documents["tiny_val"]  # no file for scene-0002: past poses
    assert [r["ego_status_source"] for r in val["infos"][:3]] == ["no_past", "poses_no_accel", "poses"]
    assert {r["can_bus_fallback"] for r in val["infos"]} == {"missing_file"}
    assert val["metadata"]["can_bus_fallbacks"] == {"missing_file": len(val["infos"])}
    assert val["metadata"]["ego_status_sources"] == {"no_past": 1, "poses_no_accel": 1, "poses": len(val["infos"]) - 2}
    with pytest.raises(InputError, match="can_bus"):
        convert_splits(ConverterSettings(str(tiny_world.root), tiny_world.version, can_bus_root=str(tmp_path)))


def test_command_line_tool(tiny_world, tmp_path, monkeypatch, capsys):
    out = tmp_path / "infos"
    argv = [
        "create_data.py",
        "nuscenes",
        "--data-root",
        str(tiny_world.root),
        "--version",
        tiny_world.version,
        "--out",
        str(out),
        "--split",
        "tiny_val",
        "--no-check-images",
        "--lane-points",
        "5",
    ]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(TOOL), run_name="__main__")
    assert exit_info.value.code == 0
    document = json.loads((out / "nuscenes_infos_tiny_val.json").read_text())
    assert document["metadata"]["lane_points"] == 5 and len(document["infos"]) == 8
    assert np.array(document["infos"][0]["lanes"]).shape[1:] == (5, 3)
    printed = capsys.readouterr().out
    assert "wrote" in printed and "ego status: 1 no_past, 6 poses, 1 poses_no_accel" in printed
    assert "8 key frames fell back to poses: no --can-bus folder given" in printed
