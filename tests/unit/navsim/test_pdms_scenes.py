"""PDM scene files score with the repository's PDM scorer."""

from __future__ import annotations

import json

import numpy as np

from onedrive.evaluation.pdms import score_tokens
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
