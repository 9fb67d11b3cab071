"""Bad inputs and bad configs fail with errors that say what was expected and what arrived."""

import pytest
import torch
from model_helpers import load_onedrive, make_batch

from onedrive import OneDriveConfig
from onedrive.errors import InputError
from onedrive.schema import CameraGeometry
from onedrive.tiny import tiny_internvl_config


@pytest.fixture(scope="module")
def model(internvl_dir):
    return load_onedrive(internvl_dir)


def _forward(model, batch):
    with torch.no_grad():
        return model(**batch)


def test_camera_count_must_match_geometry(model):
    batch = make_batch()
    batch.camera = CameraGeometry(batch.camera.intrinsics[:, :1], batch.camera.cam2ego[:, :1], batch.camera.image_hw)
    with pytest.raises(ValueError, match=r"intrinsics must have shape \(2, 2, 3, 3\).*got \(2, 1, 3, 3\)"):
        _forward(model, batch)


def test_missing_intrinsics(model):
    batch = make_batch()
    batch.camera = CameraGeometry(None, batch.camera.cam2ego, batch.camera.image_hw)
    with pytest.raises(ValueError, match="intrinsics"):
        _forward(model, batch)


def test_missing_camera_with_other_driving_inputs(model):
    batch = make_batch()
    batch.camera = None
    with pytest.raises(ValueError, match=r"not \['camera'\]"):
        _forward(model, batch)


def test_image_tokens_must_match_image_features(model):
    batch = make_batch()
    batch.pixel_values = batch.pixel_values[:-1]
    with pytest.raises(ValueError, match="input_ids hold 48 image tokens.*pixel_values give 11 tiles"):
        _forward(model, batch)


def test_nan_in_ego_status(model):
    batch = make_batch()
    batch.ego_status[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"ego_status holds NaN or inf in samples \[1\]"):
        _forward(model, batch)


@pytest.mark.parametrize("entry", ["predict", "generate"])
def test_inference_entries_validate_before_running(model, entry):
    batch = make_batch()
    batch.ego_status[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"ego_status holds NaN or inf in samples \[0\]"):
        getattr(model, entry)(batch)


def test_nan_pixels_are_refused_by_predict_naming_the_sample(model):
    batch = make_batch()
    tiles_per_sample = batch.pixel_values.shape[0] // 2
    batch.pixel_values[tiles_per_sample + 1, 0, 3, 3] = float("nan")  # a tile of sample 1
    with pytest.raises(InputError, match=r"pixel_values hold NaN or inf in 1 of 12 tiles, samples \[1\]"):
        model.predict(batch)


def test_attention_mask_must_match_input_ids(model):
    batch = make_batch()
    batch.attention_mask = batch.attention_mask[:, :-1]
    with pytest.raises(ValueError, match=r"attention_mask must have the shape of input_ids \(2, 37\), got \(2, 36\)"):
        _forward(model, batch)


def test_image_size_must_match_the_tile_grid(model):
    batch = make_batch()
    batch.camera = CameraGeometry(batch.camera.intrinsics, batch.camera.cam2ego, (56, 56))
    with pytest.raises(ValueError, match=r"must be 56x112.*got image_hw \(56, 56\)"):
        _forward(model, batch)


def _settings(**task):
    settings = tiny_internvl_config().to_dict()
    settings.pop("model_type")
    return dict(settings, task_config=task)


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (dict(num_det_queries=0), "num_det_queries': 0"),
        (dict(plan_dims=4), "plan_dims must be 2.*got 4"),
        (dict(position_range=[0, 0, 0, -1, 1, 1]), "position_range"),
        (
            dict(image_position_range=[-1, -1, 0, 1, 1]),
            r"image_position_range must be \[x_min, .* got \[-1.0, -1.0, 0.0, 1.0, 1.0\]",
        ),
        (dict(task_ffn_init="copy"), "task_ffn_init must be 'random' or 'pretrained', got 'copy'"),
        (dict(task_layers=[5]), r"task_layers must be indices in \[0, 1\].*got \[5\]"),
        (dict(det_classes=["car", "car"]), "unique"),
        (dict(camera_tiles=[0, 2]), r"camera_tiles must be \[rows, cols\] >= 1, got \[0, 2\]"),
        (dict(det_reference_init="grid"), "det_reference_init must be 'uniform' or 'sunflower', got 'grid'"),
        (dict(azimuth_prior_logit=-1.0), r"azimuth_prior_logit must be >= 0 \(0: no prior\), got -1.0"),
        (dict(plan_anchor="cv"), "plan_anchor must be 'none' or 'constant_velocity', got 'cv'"),
        (dict(plan_step_seconds=0.0), "plan_step_seconds must be > 0, got 0.0"),
        (
            dict(plan_anchor="constant_velocity", ego_status_dim=1),
            r"reads \(vx, vy\) from ego_status; ego_status_dim is 1",
        ),
        (dict(plan_anchor="constant_velocity", use_ego_status=False), "which use_ego_status=False hides"),
    ],
)
def test_bad_config_values_are_named(task, message):
    with pytest.raises(ValueError, match=message):
        OneDriveConfig(**_settings(**task))


def test_config_round_trip(tmp_path):
    config = OneDriveConfig(**_settings(num_det_queries=12, task_layers=[1]))
    config.save_pretrained(tmp_path)
    loaded = OneDriveConfig.from_pretrained(tmp_path)
    assert loaded.task_config.num_det_queries == 12 and loaded.task_layer_indices == [1]
    assert loaded.to_dict() == config.to_dict()
