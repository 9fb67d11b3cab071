"""The planning queries in a training run: the anchors come from the training split's info file."""

import json

import numpy as np
import pytest
from tiny_run import tiny_experiment

from onedrive.errors import InputError
from onedrive.training.build import build_model
from onedrive.training.run import train_experiment


def test_the_model_takes_the_training_split_anchors_and_trains(drive_data, tmp_path):
    metadata = json.loads((drive_data / "infos" / "tiny_infos_train.json").read_text())["metadata"]
    config = tiny_experiment(drive_data, tmp_path / "run", stage="planning")
    model, _ = build_model(config)
    np.testing.assert_allclose(model.config.task_config.plan_mode_anchors, metadata["plan_mode_anchors"])
    assert model.config.task_config.num_plan_tokens == 1 + 3 * 2 * 6
    config.train.max_steps = 1
    train_experiment(config)  # planning losses of every task layer through the Trainer, ego_history collated
    saved = json.loads((tmp_path / "run" / "final" / "config.json").read_text())
    np.testing.assert_allclose(saved["task_config"]["plan_mode_anchors"], metadata["plan_mode_anchors"])


def test_an_info_file_without_anchors_is_refused(drive_data, tmp_path):
    content = json.loads((drive_data / "infos" / "tiny_infos_train.json").read_text())
    del content["metadata"]["plan_mode_anchors"]
    infos = tmp_path / "infos"
    infos.mkdir()
    (infos / "tiny_infos_train.json").write_text(json.dumps(content))
    config = tiny_experiment(drive_data, tmp_path / "run", stage="planning")
    config.data.infos_dir = str(infos)
    with pytest.raises(InputError, match="has no plan_mode_anchors"):
        build_model(config)
