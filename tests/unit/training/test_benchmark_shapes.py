"""The training benchmark builds an experiment for every shape name that tools/benchmark.py runs."""

import pytest

from benchmarks.training import TRAINING_SHAPES, _experiment
from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.training.build import new_model_task
from onedrive.training.config import check_config


@pytest.mark.parametrize("shapes", [*TRAINING_SHAPES, "demo"])
def test_every_benchmarked_shape_builds_a_valid_experiment(shapes, tmp_path):
    config, random_settings = _experiment(shapes, tmp_path)
    check_config(config)  # raises ConfigError on a problem
    OneDriveTaskConfig(**new_model_task(config))  # the model's task config, planning mode anchors included
    if shapes == "internvl3_1b_shapes":
        assert random_settings["text_config"]["hidden_size"] == 896
        assert random_settings["vision_config"]["hidden_size"] == 1024


def test_an_unknown_shape_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="internvl3_1b_shapes"):
        _experiment("1b", tmp_path)
