"""score_tokens: aggregation, input checks, worker-count independence, prediction files, benchmark."""

import json

import numpy as np
import pytest

from benchmarks.pdms import benchmark_pdms, synthetic_scenes
from onedrive.evaluation.pdms.runner import read_predictions, score_tokens


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_scenes(6, seed=3)


def test_pdms_is_the_formula_on_the_sub_scores(synthetic):
    scenes, trajectories = synthetic
    per_token, summary = score_tokens(scenes, trajectories)
    assert list(per_token) == [scene.token for scene in scenes]
    for result in per_token.values():
        expected = result["NC"] * result["DAC"] * (5 * result["TTC"] + 5 * result["EP"] + 2 * result["C"]) / 12
        assert result["PDMS"] == pytest.approx(expected, abs=1e-12)
    for name in ("PDMS", "NC", "DAC", "TTC", "C", "EP"):
        assert summary[f"navsim/{name}"] == pytest.approx(np.mean([r[name] for r in per_token.values()]))
    assert summary["navsim/num_tokens"] == 6
    assert len({r["PDMS"] for r in per_token.values()}) > 1  # the scenes are not all alike


def test_workers_do_not_change_results(synthetic):
    scenes, trajectories = synthetic
    serial, serial_summary = score_tokens(scenes, trajectories, workers=1)
    parallel, parallel_summary = score_tokens(scenes, trajectories, workers=2)
    assert serial == parallel and serial_summary == parallel_summary


def test_bad_inputs_name_the_token(road, pdms):
    scenes = [pdms.make_scene(road, 5.0, token="a"), pdms.make_scene(road, 5.0, token="b")]
    good = pdms.straight_poses(5.0)
    with pytest.raises(ValueError, match="'b': no trajectory"):
        score_tokens(scenes, {"a": good})
    with pytest.raises(ValueError, match="'b'.*NaN"):
        score_tokens(scenes, {"a": good, "b": np.where(np.arange(3) == 1, np.nan, good)})
    with pytest.raises(ValueError, match="'a'.*got \\(6, 3\\)"):
        score_tokens(scenes, {"a": good[:6], "b": good})
    with pytest.raises(ValueError, match="'a' appears twice"):
        score_tokens([scenes[0], scenes[0]], {"a": good})
    nan_ego = pdms.make_scene(road, float("nan"), token="c")
    with pytest.raises(ValueError, match="'c'.*ego state"):
        score_tokens([nan_ego], {"c": good})


def test_read_predictions(tmp_path, pdms):
    path = tmp_path / "navsim.json"
    path.write_text(json.dumps({"t1": {"poses": pdms.straight_poses(3.0).tolist()}}), encoding="utf-8")
    predictions = read_predictions(path)
    np.testing.assert_allclose(predictions["t1"], pdms.straight_poses(3.0))
    path.write_text(json.dumps({"t1": {"poses": [[0, 0, 0]] * 7}}), encoding="utf-8")
    with pytest.raises(ValueError, match="navsim.json: token 't1'"):
        read_predictions(path)


def test_benchmark_reports_timing():
    result = benchmark_pdms(num_tokens=4, workers=1)
    assert result["num_tokens"] == 4 and result["seconds"] > 0
    assert result["navsim/num_tokens"] == 4
