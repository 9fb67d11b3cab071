"""Fixtures for the export tests: a tiny OneDrive with "trained" (non-zero) task modules, saved like training saves it.

Shared helpers are handed out as fixtures (``helpers``): with ``--import-mode=importlib`` test
files cannot import each other or this file.
"""

from types import SimpleNamespace

import pytest
import torch
from model_helpers import IMAGE_TOKEN_ID, load_onedrive
from peft import LoraConfig, get_peft_model

from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

LORA_TARGETS = r"model\.language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"


def perturb(
    module: torch.nn.Module, seed: int, names=("to_query", "to_key", "query_self_attn.o_proj", "lora_B")
) -> None:
    """Give zero-initialised weights (3D embeddings, query self-attention output, LoRA B) values, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if any(part in name for part in names):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


@pytest.fixture(scope="session")
def internvl_dir(tmp_path_factory):
    return save_tiny_internvl(
        tmp_path_factory.mktemp("internvl") / "tiny", tiny_internvl_config(image_token_id=IMAGE_TOKEN_ID)
    )


@pytest.fixture
def trained_model(internvl_dir):
    model = load_onedrive(internvl_dir)
    perturb(model, seed=3)
    return model


def save_processor(model, folder) -> OneDriveProcessor:
    processor = OneDriveProcessor.from_config(model.config, build_tokenizer())
    processor.save_pretrained(folder)
    return processor


@pytest.fixture(scope="session")
def final_run(internvl_dir, tmp_path_factory):
    """(folder, model): a stage's ``final/`` folder — save_pretrained of ``model`` plus the processor, as training
    writes it. Tests must not change ``model``."""
    model = load_onedrive(internvl_dir)
    perturb(model, seed=3)
    folder = tmp_path_factory.mktemp("run") / "final"
    model.save_pretrained(folder)
    save_processor(model, folder)
    return folder, model


def same_parameters(loaded, model) -> None:
    expected, got = model.state_dict(), loaded.state_dict()
    assert set(got) == set(expected)
    for name, tensor in expected.items():
        assert torch.equal(got[name], tensor), name


def same_predictions(got, expected, tolerance=1e-5) -> None:
    """Two ``DrivePrediction``s agree: trajectory, boxes, scores, labels, lanes."""
    torch.testing.assert_close(got.trajectory, expected.trajectory, rtol=tolerance, atol=tolerance)
    for x, y in zip(got.detections, expected.detections, strict=True):
        torch.testing.assert_close(x.boxes, y.boxes, rtol=tolerance, atol=tolerance)
        torch.testing.assert_close(x.scores, y.scores, rtol=tolerance, atol=tolerance)
        assert torch.equal(x.labels, y.labels)
    for x, y in zip(got.lanes, expected.lanes, strict=True):
        torch.testing.assert_close(x.points, y.points, rtol=tolerance, atol=tolerance)


def add_lora(model):
    """(peft wrapper, inner model with LoRA injected) with non-zero LoRA B, standing in for a trained stage."""
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=LORA_TARGETS))
    perturb(model, seed=11, names=("lora_B",))
    return peft_model.eval(), model.eval()


@pytest.fixture
def helpers():
    return SimpleNamespace(
        same_parameters=same_parameters,
        same_predictions=same_predictions,
        add_lora=add_lora,
        save_processor=save_processor,
        perturb=perturb,
    )
