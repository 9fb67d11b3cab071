"""loss_trend: each logged loss's first tenth against its last tenth, from a finished run's trainer_state.json."""

import json

import pytest
from loss_trend import format_loss_trend, loss_trend, read_loss_trend
from tiny_run import tiny_experiment
from train import print_loss_trend

from onedrive.training.run import train_experiment


def history(steps=40):
    """A Trainer log history: text falls linearly, det_cls rises, planning unsupervised (0), plus a summary entry."""
    entries = [
        {
            "step": step,
            "loss": 10.0 - 0.1 * step,
            "loss_text": 5.0 - 0.1 * step,
            "loss_det_cls": 0.5 + 0.01 * step,
            "loss_plan_l1": 0.0,
            "learning_rate": 1e-3,
            "grad_norm": 3.0,
        }
        for step in range(1, steps + 1)
    ]
    return entries + [{"step": steps, "train_loss": 8.0, "train_runtime": 12.0}]


def test_means_over_the_first_and_last_tenth():
    trend = loss_trend(history())
    assert set(trend) == {"loss", "loss_text", "loss_det_cls"}  # loss_plan_l1 is all zeros; train_loss is a summary
    start, end = trend["loss_text"]
    assert start == pytest.approx(5.0 - 0.1 * 2.5)  # steps 1-4
    assert end == pytest.approx(5.0 - 0.1 * 38.5)  # steps 37-40
    assert trend["loss_det_cls"][1] > trend["loss_det_cls"][0]


def test_a_short_run_compares_single_values():
    trend = loss_trend(history(steps=3))
    assert trend["loss"] == pytest.approx((9.9, 9.7))


def test_table_says_which_losses_fell():
    table = format_loss_trend(loss_trend(history()))
    rows = {line.split()[0]: line.split()[-1] for line in table.splitlines()[1:]}
    assert rows == {"loss": "yes", "loss_text": "yes", "loss_det_cls": "NO"}


def test_a_long_name_widens_the_first_column_instead_of_shifting_the_numbers():
    lines = format_loss_trend({"plan_cls: target entropy": (0.34, 0.39), "text": (4.03, 4.02)}).splitlines()
    assert len({len(line.rsplit("  ", 1)[0]) for line in lines}) == 1  # every row: the numbers end in the same column
    assert lines[1].endswith("0.3400      0.3900  NO")


def test_read_from_a_run_folder(tmp_path):
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history()}))
    assert read_loss_trend(tmp_path) == loss_trend(history())


def test_missing_or_empty_history_is_named(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"no trainer_state.json in .*: expected a training run finished by tools/train.py"
    ):
        read_loss_trend(tmp_path)
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": 5, "train_loss": 1.0}]}))
    with pytest.raises(ValueError, match=r"logs no non-zero loss \(1 log entries\)"):
        read_loss_trend(tmp_path)


def test_a_training_run_leaves_its_history_and_prints_the_trend(drive_data, tmp_path, capsys):
    config = tiny_experiment(drive_data, tmp_path / "run", stage="perception")
    config.train.max_steps = 4
    train_experiment(config)
    print_loss_trend(tmp_path / "run")  # what tools/train.py prints after the run
    trend = read_loss_trend(tmp_path / "run")
    assert {"loss", "loss_det_cls", "loss_det_box", "loss_lane_cls", "loss_lane_points", "loss_text"} <= set(trend)
    assert not any(name.startswith("loss_plan") for name in trend)  # stage 1 does not supervise planning
    assert "losses over the run:\n" + format_loss_trend(trend) in capsys.readouterr().out
