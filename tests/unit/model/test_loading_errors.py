"""Loading a wrong path or folder, or predicting on a plain dict, names what was given and what was expected."""

import shutil

import pytest
from model_helpers import load_onedrive, make_batch

from onedrive import OneDriveForDriving
from onedrive.errors import InputError
from onedrive.model.pretrained_source import local_folder


@pytest.fixture(scope="module")
def onedrive_dir(internvl_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onedrive") / "final"
    load_onedrive(internvl_dir).save_pretrained(folder)
    return folder


def truncated_copy(folder, destination):
    copy = shutil.copytree(folder, destination)
    weights = copy / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size // 2)
    return weights


def test_from_pretrained_names_a_truncated_weight_file(onedrive_dir, tmp_path):
    weights = truncated_copy(onedrive_dir, tmp_path / "copy")
    with pytest.raises(InputError, match=f"{weights} is not a complete safetensors file"):
        OneDriveForDriving.from_pretrained(weights.parent)


def test_from_internvl_names_a_truncated_weight_file(internvl_dir, tmp_path):
    weights = truncated_copy(internvl_dir, tmp_path / "copy")
    with pytest.raises(InputError, match=f"{weights} is not a complete safetensors file"):
        OneDriveForDriving.from_internvl(str(weights.parent))


@pytest.mark.parametrize("load", [OneDriveForDriving.from_pretrained, OneDriveForDriving.from_internvl])
def test_a_path_that_does_not_exist_is_named(load, tmp_path):
    missing = tmp_path / "runs" / "stage1" / "final"
    with pytest.raises(InputError, match=f"{missing}: no such folder, and not a hub repository id"):
        load(str(missing))


def test_a_hub_repository_id_still_goes_to_the_hub_loader(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no local folder of that name
    assert local_folder("OpenGVLab/InternVL3-1B-hf", "an InternVL3 checkpoint") is None
    assert local_folder("onedrive-tiny", "a OneDrive model") is None


def test_from_internvl_on_a_onedrive_folder_says_what_it_expected(onedrive_dir):
    with pytest.raises(
        InputError,
        match=r"config\.json has model_type 'onedrive'; expected an InternVL3 checkpoint "
        r".*'internvl'.*OneDriveForDriving\.from_pretrained",
    ):
        OneDriveForDriving.from_internvl(str(onedrive_dir))


def test_from_pretrained_on_an_internvl_folder_says_what_it_expected(internvl_dir):
    with pytest.raises(
        InputError,
        match=r"config\.json has model_type 'internvl'; expected a OneDrive model "
        r".*'onedrive'.*OneDriveForDriving\.from_internvl",
    ):
        OneDriveForDriving.from_pretrained(internvl_dir)


@pytest.mark.parametrize("method", ["predict", "generate"])
def test_predict_on_a_dict_says_it_expects_a_drive_batch(internvl_dir, method):
    model = load_onedrive(internvl_dir)
    batch = dict(make_batch())
    with pytest.raises(InputError, match=f"{method} expects a onedrive.schema.DriveBatch .* got dict"):
        getattr(model, method)(batch)
