"""navsim.json through the evaluator: the logged human trajectory scores above constant velocity."""

import json

import numpy as np
import pytest

from onedrive.evaluation import evaluate_predictions
from onedrive.evaluation.baselines import constant_velocity, prediction_file


def _write(folder, trajectories):
    folder.mkdir(parents=True, exist_ok=True)
    name, payload = prediction_file(trajectories, navsim=True)
    (folder / name).write_text(json.dumps(payload))
    return folder


def test_logged_trajectory_scores_above_constant_velocity(navsim_infos, navsim_root, tmp_path):
    infos = navsim_infos / "navsim_infos_navtest.json"
    records = json.loads(infos.read_text())["infos"]
    logged = {r["token"]: np.asarray(r["ego_fut_traj"]) for r in records}
    human = evaluate_predictions(_write(tmp_path / "human", logged), infos, data_root=navsim_root, num_plots=0)
    const = evaluate_predictions(
        _write(tmp_path / "cv", constant_velocity(records, 8, with_heading=True)),
        infos,
        data_root=navsim_root,
        num_plots=0,
    )
    assert human["navsim/num_tokens"] == len(records)
    assert set(human) >= {"navsim/PDMS", "navsim/NC", "navsim/DAC", "navsim/TTC", "navsim/C", "navsim/EP"}
    assert human["navsim/DAC"] == 1.0
    assert human["navsim/PDMS"] > const["navsim/PDMS"]
    assert "navsim" in human["conventions"]


def test_missing_token_in_navsim_predictions_is_named(navsim_infos, navsim_root, tmp_path):
    infos = navsim_infos / "navsim_infos_navtest.json"
    records = json.loads(infos.read_text())["infos"]
    logged = {r["token"]: np.asarray(r["ego_fut_traj"]) for r in records[1:]}
    with pytest.raises(ValueError, match=records[0]["token"]):
        evaluate_predictions(_write(tmp_path / "partial", logged), infos, data_root=navsim_root, num_plots=0)
