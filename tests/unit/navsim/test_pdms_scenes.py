"""PDM scene files score with the repository's PDM scorer."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np

from onedrive.data.navsim.infos import create_navsim_infos
from onedrive.evaluation.pdms import score_tokens
from onedrive.evaluation.pdms.scene import LIGHT_FRAMES
from onedrive.evaluation.pdms.scene_file import load_pdms_scenes


def test_pdms_scenes_load_and_the_logged_trajectory_beats_standing_still(navsim_infos, navsim_root):
    scenes = load_pdms_scenes(navsim_infos / "navsim_pdms_navtest.json", data_root=navsim_root)
    infos = json.loads((navsim_infos / "navsim_infos_navtest.json").read_text())["infos"]
    assert [scene.token for scene in scenes] == [record["token"] for record in infos]
    human = {record["token"]: record["ego_fut_traj"] for record in infos}
    still = {record["token"]: np.zeros((8, 3)) for record in infos}
    per_token, summary = score_tokens(scenes, human)
    _, standing = score_tokens(scenes, still)
    assert all(result["DAC"] == 1.0 for result in per_token.values())  # the logged ego stays on the road
    assert summary["navsim/PDMS"] > standing["navsim/PDMS"] and summary["navsim/EP"] > standing["navsim/EP"] + 0.5
    assert all(len(scene.objects) > 0 for scene in scenes)


def test_scene_file_carries_the_epdms_inputs_of_the_logs(navsim_root, tmp_path):
    """History (3 past frames), the logged future (the human agent) and the red lights of frames 0 … 8."""
    root = tmp_path / "data"
    shutil.copytree(navsim_root, root)
    log_path = next((root / "navsim_logs" / "test").glob("*.pkl"))
    frames = pickle.loads(log_path.read_bytes())
    for index, frame in enumerate(frames):
        frame["traffic_lights"] = [[frame["roadblock_ids"][0], index % 2 == 1], [frame["roadblock_ids"][-1], False]]
    log_path.write_bytes(pickle.dumps(frames))
    create_navsim_infos(root, "test", root / "scene_filters" / "navtest.yaml", tmp_path, progress=False)
    scenes = load_pdms_scenes(tmp_path / "navsim_pdms_navtest.json", data_root=root)
    infos = json.loads((tmp_path / "navsim_infos_navtest.json").read_text())["infos"]
    by_token = {frame["token"]: index for index, frame in enumerate(frames)}
    for scene, record in zip(scenes, infos, strict=True):
        current = by_token[scene.token]
        np.testing.assert_allclose(scene.extended.human, record["ego_fut_traj"])
        assert scene.extended.log_name == frames[current]["log_name"]
        assert scene.extended.time == frames[current]["timestamp"] / 1e6
        past = frames[current - 3 : current]
        np.testing.assert_allclose(scene.extended.history[:, :2], [f["ego2global_translation"][:2] for f in past])
        np.testing.assert_allclose(scene.extended.history[:, 3:], [f["ego_dynamic_state"] for f in past])
        expected = [
            (frames[i]["roadblock_ids"][0],) if i % 2 == 1 else () for i in range(current, current + LIGHT_FRAMES)
        ]
        assert list(scene.extended.red_lights) == expected
