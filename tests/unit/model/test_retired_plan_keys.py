"""The earlier 'modes' planning design is gone: configs and checkpoints asking for it are refused with a message;
those of the kept design that still carry its keys (this release's earlier checkpoints) load."""

import json

import pytest
import torch
from model_helpers import load_onedrive, make_batch
from tiny_run import tiny_experiment

from onedrive import OneDriveForDriving
from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveTaskConfig
from onedrive.training.build import task_overrides
from onedrive.training.config import apply_overrides

REFUSED = "earlier 'modes' planning design.*cannot be loaded by this release"


@pytest.mark.parametrize("task", [{"plan_queries": "modes"}, {"plan_mode_target": "soft"}])
def test_a_task_config_asking_for_the_modes_design_is_refused(task):
    key = next(iter(task))
    with pytest.raises(InputError, match=f"task_config: {key}='{task[key]}' asks for the {REFUSED}"):
        OneDriveTaskConfig(**task)


def test_the_kept_design_s_values_are_accepted_and_dropped():
    task = OneDriveTaskConfig(plan_queries="official", plan_mode_target="winner", plan_mode_temperature=0.1)
    assert not {"plan_queries", "plan_mode_target", "plan_mode_temperature"} & set(task.to_dict())


@pytest.fixture(scope="module")
def saved(internvl_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("retired") / "final"
    model = load_onedrive(internvl_dir)
    model.save_pretrained(folder)
    return model, folder


def with_task_keys(folder, **keys):
    """Add keys to the saved config.json's task_config, as earlier releases wrote them."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config["task_config"].update(keys)
    path.write_text(json.dumps(config))


def test_a_checkpoint_of_the_modes_design_is_refused(saved, tmp_path):
    _, folder = saved
    copy = tmp_path / "modes"
    copy.mkdir()
    for name in ("config.json", "model.safetensors"):
        (copy / name).write_bytes((folder / name).read_bytes())
    with_task_keys(copy, plan_queries="modes", plan_mode_target="winner", plan_mode_temperature=0.1)
    with pytest.raises(InputError, match=f"plan_queries='modes' asks for the {REFUSED}"):
        OneDriveForDriving.from_pretrained(copy)


def test_a_checkpoint_of_the_official_design_with_the_old_keys_loads(saved, tmp_path):
    model, folder = saved
    copy = tmp_path / "official"
    copy.mkdir()
    for name in ("config.json", "model.safetensors"):
        (copy / name).write_bytes((folder / name).read_bytes())
    with_task_keys(copy, plan_queries="official", plan_mode_target="winner", plan_mode_temperature=0.1)
    loaded = OneDriveForDriving.from_pretrained(copy).eval()
    batch = make_batch()
    assert torch.equal(loaded.predict(batch).trajectory, model.predict(batch).trajectory)


def test_a_training_override_asking_for_the_modes_design_is_refused(tmp_path):
    config = tiny_experiment(tmp_path, tmp_path / "run")
    with pytest.raises(InputError, match=f"model.task.plan_queries: plan_queries='modes' asks for the {REFUSED}"):
        apply_overrides(config, ["model.task.plan_queries=modes"])
    apply_overrides(config, ["model.task.plan_queries=official", "model.task.plan_mode_temperature=0.5"])
    assert "plan_queries" not in config.model.task and "plan_mode_temperature" not in config.model.task


def test_a_config_file_s_task_keeps_none_of_the_old_keys(tmp_path):
    """An earlier release's config file: model.task values reach neither a fresh model's nor a checkpoint's config."""
    config = tiny_experiment(tmp_path, tmp_path / "run")
    config.model.task.update(plan_queries="official", plan_mode_target="winner", plan_mode_temperature=0.1)
    assert not {"plan_queries", "plan_mode_target", "plan_mode_temperature"} & set(task_overrides(config))
    config.model.task["plan_queries"] = "modes"
    with pytest.raises(InputError, match=f"model.task: plan_queries='modes' asks for the {REFUSED}"):
        task_overrides(config)
