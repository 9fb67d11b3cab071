"""navsim.json through the evaluator: PDMS and EPDMS; the logged human trajectory scores above standing still."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from onedrive.evaluation import evaluate_predictions
from onedrive.evaluation.baselines import prediction_file
from onedrive.infos import InfoFile


def _write(folder, trajectories):
    folder.mkdir(parents=True, exist_ok=True)
    name, payload = prediction_file(trajectories, navsim=True)
    (folder / name).write_text(json.dumps(payload))
    return folder


def test_logged_trajectory_scores_above_standing_still_in_pdms_and_epdms(navsim_infos, navsim_root, tmp_path):
    infos = navsim_infos / "navsim_infos_navtest.json"
    records = json.loads(infos.read_text())["infos"]
    logged = {r["token"]: np.asarray(r["ego_fut_traj"]) for r in records}
    human = evaluate_predictions(_write(tmp_path / "human", logged), infos, data_root=navsim_root, num_plots=0)
    still = {token: np.zeros((8, 3)) for token in logged}
    standing = evaluate_predictions(_write(tmp_path / "still", still), infos, data_root=navsim_root, num_plots=0)
    assert human["navsim/num_tokens"] == len(records) == human["navsim/EPDMS_num_tokens"]
    assert set(human) >= {"navsim/PDMS", "navsim/NC", "navsim/DAC", "navsim/TTC", "navsim/C", "navsim/EP"}
    assert set(human) >= {f"navsim/EPDMS{name}" for name in ("", "_NC", "_DAC", "_DDC", "_EP", "_TTC", "_LK", "_HC")}
    assert "navsim/EPDMS_TLC" not in human and human["navsim/EPDMS_num_red_light_tokens"] == 0  # no lights logged
    assert human["navsim/EPDMS_num_EC_tokens"] == len(records) - 1  # one log: every token but the first has one
    assert human["navsim/DAC"] == 1.0 and human["navsim/EPDMS_DAC"] == 1.0
    assert human["navsim/PDMS"] > standing["navsim/PDMS"]
    assert human["navsim/EPDMS"] > standing["navsim/EPDMS"]
    assert "navsim" in human["conventions"] and "EPDMS" in human["conventions"]["navsim_epdms"]


def test_missing_token_in_navsim_predictions_is_named(navsim_infos, navsim_root, tmp_path):
    infos = navsim_infos / "navsim_infos_navtest.json"
    records = json.loads(infos.read_text())["infos"]
    logged = {r["token"]: np.asarray(r["ego_fut_traj"]) for r in records[1:]}
    with pytest.raises(ValueError, match=records[0]["token"]):
        evaluate_predictions(_write(tmp_path / "partial", logged), infos, data_root=navsim_root, num_plots=0)


def test_eval_baselines_score_the_human_constant_velocity_and_mean_trajectory_with_pdms_and_epdms(
    navsim_infos, navsim_root, tmp_path
):
    spec = importlib.util.spec_from_file_location(
        "eval_tool", Path(__file__).resolve().parents[3] / "tools" / "eval.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    split = {
        "infos": str(navsim_infos / "navsim_infos_navtest.json"),
        "train_infos": str(navsim_infos / "navsim_infos_navtrain.json"),
        "out": str(tmp_path),
        "data_root": str(navsim_root),
        "version": None,
        "eval_split": None,
    }
    metrics = tool.score_baselines(split, InfoFile.read(split["infos"]))
    tokens = len(json.loads((navsim_infos / "navsim_infos_navtest.json").read_text())["infos"])
    for name in ("human", "constant_velocity", "mean_trajectory"):
        assert metrics[f"baseline/{name}/navsim/num_tokens"] == tokens
        assert metrics[f"baseline/{name}/navsim/EPDMS_num_tokens"] == tokens
        assert 0.0 <= metrics[f"baseline/{name}/navsim/EPDMS"] <= 1.0
    assert metrics["baseline/human/navsim/DAC"] == 1.0
