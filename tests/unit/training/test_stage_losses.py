"""tools/stage_losses.py's measure: each loss on fixed training samples, at a stage's start and at its end."""

import pytest
from stage_losses import fixed_sample_losses, sample_indices, stage_losses
from tiny_run import tiny_experiment

from onedrive.training.run import train_experiment


def test_sample_indices_spread_over_the_split_or_take_all():
    assert sample_indices(300, 4) == [0, 75, 150, 225]
    assert sample_indices(8, 96) == list(range(8))


def test_start_is_the_model_training_started_from_and_the_trained_stage_ends_lower(drive_data, tmp_path):
    config = tiny_experiment(drive_data, tmp_path / "stage1", stage="perception")
    config.train.max_steps = 12
    before_training, samples = fixed_sample_losses(config)
    train_experiment(config)

    result = stage_losses(config)

    assert result["samples"] == samples == 8  # the tiny split holds 8 samples, fewer than 96: all of them
    # Stage 1 does not supervise planning: zero at both ends, left out.
    assert set(result["start"]) == {"total", "text", "det_cls", "det_box", "lane_cls", "lane_points"}
    assert before_training["plan_l1"] == before_training["plan_cls"] == 0.0
    assert result["start"] == pytest.approx({name: before_training[name] for name in result["start"]}, rel=1e-6)
    assert result["end"]["total"] < result["start"]["total"]
    assert result["end"] != pytest.approx(result["start"], rel=1e-3)


def test_a_stage_without_a_trained_model_is_refused(drive_data, tmp_path):
    config = tiny_experiment(drive_data, tmp_path / "never_trained")
    with pytest.raises(FileNotFoundError, match="no trained model at .*never_trained/final"):
        stage_losses(config)
