"""Splits as NAVSIM defines them: scene filters (the devkit's YAML or a token list) over log folders."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import yaml

from onedrive.data.navsim.logs import load_log, log_paths
from onedrive.data.navsim.scene_filter import SceneFilter, filter_scenes, load_scene_filter
from onedrive.errors import InputError
from tools.create_data import main as create_data

DEVKIT_HEADER = {"_target_": "navsim.common.dataclasses.SceneFilter", "_convert_": "all"}


def _write_yaml(path, **keys):
    path.write_text(yaml.safe_dump({**DEVKIT_HEADER, **keys}), encoding="utf-8")
    return path


def _tokens_written(out, split):
    return [record["token"] for record in json.loads((out / f"navsim_infos_{split}.json").read_text())["infos"]]


def test_synthetic_world_writes_devkit_filters_over_trainval_and_test(navsim_root):
    meta = json.loads((navsim_root / "synthetic.json").read_text())
    for split, folder in (("navtrain", "trainval"), ("navtest", "test")):
        document = yaml.safe_load((navsim_root / "scene_filters" / f"{split}.yaml").read_text())
        assert document["_target_"] == DEVKIT_HEADER["_target_"]
        assert (document["num_history_frames"], document["num_future_frames"], document["frame_interval"]) == (4, 10, 1)
        assert document["tokens"] == meta["tokens"][split]
        assert sorted(document["log_names"]) == sorted(path.stem for path in log_paths(navsim_root, folder))
        assert not (navsim_root / "navsim_logs" / split).exists()


def test_cli_converts_the_filter_tokens_not_every_window(navsim_root, tmp_path):
    every_window = filter_scenes(navsim_root, "test", SceneFilter(frame_interval=1))
    chosen = [scene.token for scene in every_window][::2]
    assert len(chosen) < len(every_window)
    scene_filter = _write_yaml(
        tmp_path / "navtest.yaml",
        num_history_frames=4,
        num_future_frames=10,
        frame_interval=1,
        has_route=True,
        max_scenes=None,
        log_names=None,
        tokens=list(reversed(chosen)),
    )
    assert (
        create_data(
            [
                "navsim",
                "--data-root",
                str(navsim_root),
                "--logs",
                "test",
                "--scene-filter",
                str(scene_filter),
                "--out",
                str(tmp_path / "out"),
                "--no-pdms",
            ]
        )
        == 0
    )
    assert _tokens_written(tmp_path / "out", "navtest") == chosen  # log order, as the devkit's loader
    metadata = json.loads((tmp_path / "out" / "navsim_infos_navtest.json").read_text())["metadata"]
    assert metadata["log_folder"] == "test" and metadata["scene_filter"] == str(scene_filter)


def test_token_list_file_and_split_name(navsim_root, tmp_path):
    tokens = [scene.token for scene in filter_scenes(navsim_root, "trainval", SceneFilter(frame_interval=1))][1:4]
    listing = tmp_path / "few.txt"
    listing.write_text("# three tokens\n" + "\n".join(tokens) + "\n", encoding="utf-8")
    assert (
        create_data(
            [
                "navsim",
                "--data-root",
                str(navsim_root),
                "--logs",
                "trainval",
                "--scene-filter",
                str(listing),
                "--split",
                "navtrain_few",
                "--out",
                str(tmp_path),
                "--no-pdms",
            ]
        )
        == 0
    )
    assert _tokens_written(tmp_path, "navtrain_few") == tokens


def test_null_frame_interval_keeps_non_overlapping_windows_and_max_scenes_stops(navsim_root, tmp_path):
    scene_filter = _write_yaml(
        tmp_path / "all_scenes.yaml",
        num_history_frames=4,
        num_future_frames=10,
        frame_interval=None,
        has_route=True,
        max_scenes=None,
        log_names=None,
        tokens=None,
    )
    expected = []
    for path in log_paths(navsim_root, "trainval"):
        frames = load_log(path)
        expected += [frames[start + 3]["token"] for start in range(0, len(frames) - 13, 14)]
    scenes = filter_scenes(navsim_root, "trainval", load_scene_filter(scene_filter))
    assert [scene.token for scene in scenes] == expected
    limited = SceneFilter(frame_interval=1, max_scenes=2)
    assert len(filter_scenes(navsim_root, "trainval", limited)) == 2


def test_log_names_restrict_and_has_route_drops_windows(navsim_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(navsim_root / "navsim_logs", root / "navsim_logs")
    first, second = log_paths(root, "trainval")[:2]
    only_first = SceneFilter(frame_interval=1, log_names=(first.stem,))
    assert {scene.log_path for scene in filter_scenes(root, "trainval", only_first)} == {first}
    frames = load_log(second)
    frames[4]["roadblock_ids"] = []
    second.write_bytes(pickle.dumps(frames))
    tokens = {scene.token for scene in filter_scenes(root, "trainval", SceneFilter(frame_interval=1))}
    assert frames[4]["token"] not in tokens and frames[3]["token"] in tokens
    loose = SceneFilter(frame_interval=1, has_route=False)
    assert frames[4]["token"] in {scene.token for scene in filter_scenes(root, "trainval", loose)}
    with pytest.raises(InputError, match=f"'{frames[4]['token']}': no route"):
        filter_scenes(root, "trainval", SceneFilter(frame_interval=1, tokens=(frames[4]["token"],)))


def test_filters_that_do_not_fit_the_logs_are_named(navsim_root, tmp_path):
    with pytest.raises(InputError, match="1 of its 2 tokens are no scene.*'not-a-token'"):
        filter_scenes(
            navsim_root,
            "test",
            SceneFilter(
                frame_interval=1,
                tokens=(filter_scenes(navsim_root, "test", SceneFilter(frame_interval=1))[0].token, "not-a-token"),
            ),
        )
    with pytest.raises(InputError, match="log_names have no log.*'missing-log'"):
        filter_scenes(navsim_root, "test", SceneFilter(log_names=("missing-log",)))
    with pytest.raises(ValueError, match="navsim_logs/navtest does not exist"):
        filter_scenes(navsim_root, "navtest", SceneFilter())
    with pytest.raises(InputError, match="unknown keys \\['num_scenes'\\]"):
        load_scene_filter(_write_yaml(tmp_path / "typo.yaml", num_scenes=3))
    with pytest.raises(InputError, match="num_future_frames=10, got 4 and 8"):
        load_scene_filter(_write_yaml(tmp_path / "short.yaml", num_future_frames=8))
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(InputError, match="holds no token"):
        load_scene_filter(tmp_path / "empty.txt")
