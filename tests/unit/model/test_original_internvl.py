"""A checkpoint in InternVL's own layout loads to the same model as its transformers-layout twin.

The test writes the original layout itself: a tiny transformers InternVL's tensors are renamed
to InternVL's names (``vision_model.*`` with a fused ``attn.qkv``, ``mlp1.*``, ``language_model.*``)
by the table below, written independently of the loader's map, next to an ``internvl_chat`` config.json.
"""

import json

import pytest
import torch
from model_helpers import IMAGE_TOKEN_ID, load_onedrive, make_prompt
from safetensors.torch import load_file, save_file
from transformers import InternVLForConditionalGeneration

from onedrive.errors import InputError
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

VIT = "model.vision_tower."
# transformers' name (after VIT + "encoder.layer.{i}.") → InternVL's (after "vision_model.encoder.layers.{i}.").
VIT_LAYER_NAMES = {
    "attention.projection_layer.weight": "attn.proj.weight",
    "attention.projection_layer.bias": "attn.proj.bias",
    "lambda_1": "ls1",
    "lambda_2": "ls2",
    "layernorm_before.weight": "norm1.weight",
    "layernorm_before.bias": "norm1.bias",
    "layernorm_after.weight": "norm2.weight",
    "layernorm_after.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.fc1.weight",
    "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight",
    "mlp.fc2.bias": "mlp.fc2.bias",
}
OTHER_NAMES = {
    VIT + "embeddings.cls_token": "vision_model.embeddings.class_embedding",
    VIT + "embeddings.position_embeddings": "vision_model.embeddings.position_embedding",
    VIT + "embeddings.patch_embeddings.projection.weight": "vision_model.embeddings.patch_embedding.weight",
    VIT + "embeddings.patch_embeddings.projection.bias": "vision_model.embeddings.patch_embedding.bias",
    "model.multi_modal_projector.layer_norm.weight": "mlp1.0.weight",
    "model.multi_modal_projector.layer_norm.bias": "mlp1.0.bias",
    "model.multi_modal_projector.linear_1.weight": "mlp1.1.weight",
    "model.multi_modal_projector.linear_1.bias": "mlp1.1.bias",
    "model.multi_modal_projector.linear_2.weight": "mlp1.3.weight",
    "model.multi_modal_projector.linear_2.bias": "mlp1.3.bias",
    "lm_head.weight": "language_model.lm_head.weight",
}


def to_original_layout(state: dict[str, torch.Tensor], vit_layers: int) -> dict[str, torch.Tensor]:
    original = {}
    for hf_name, name in OTHER_NAMES.items():
        original[name] = state[hf_name]
    for key, tensor in state.items():
        if key.startswith("model.language_model."):
            original["language_model.model." + key[len("model.language_model.") :]] = tensor
    for layer in range(vit_layers):
        hf_layer, layer_name = f"{VIT}encoder.layer.{layer}.", f"vision_model.encoder.layers.{layer}."
        for hf_name, name in VIT_LAYER_NAMES.items():
            original[layer_name + name] = state[hf_layer + hf_name]
        for kind in ("weight", "bias"):
            parts = [state[f"{hf_layer}attention.{part}_proj.{kind}"] for part in "qkv"]
            original[f"{layer_name}attn.qkv.{kind}"] = torch.cat(parts, dim=0)  # (3·D, D) / (3·D,)
    assert len(original) == len(state) - 2 * vit_layers * 2  # every tensor placed once (q, k, v → qkv)
    return {name: tensor.contiguous() for name, tensor in original.items()}


def original_config(config) -> dict:
    vision, text = config.vision_config, config.text_config.to_dict()
    text["rope_theta"] = text.pop("rope_parameters")["rope_theta"]  # written by transformers 4.x, as released
    text["rope_scaling"] = None
    return {
        "architectures": ["InternVLChatModel"],
        "model_type": "internvl_chat",
        "downsample_ratio": config.downsample_ratio,
        "select_layer": -1,
        "ps_version": "v2",
        "template": "internvl2_5",
        "force_image_size": vision.image_size[0],
        "dynamic_image_size": True,
        "use_thumbnail": True,
        "vision_config": {
            "architectures": ["InternVisionModel"],
            "model_type": "intern_vit_6b",
            "hidden_size": vision.hidden_size,
            "intermediate_size": vision.intermediate_size,
            "num_attention_heads": vision.num_attention_heads,
            "num_hidden_layers": vision.num_hidden_layers,
            "num_channels": 3,
            "image_size": vision.image_size[0],
            "patch_size": vision.patch_size[0],
            "qkv_bias": True,
            "qk_normalization": False,
            "norm_type": "layer_norm",
            "layer_norm_eps": vision.layer_norm_eps,
            "hidden_act": "gelu",
            "drop_path_rate": 0.0,
        },
        "llm_config": {**text, "architectures": ["Qwen2ForCausalLM"]},
    }


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """(transformers-layout folder, original-layout folder) holding the same tiny InternVL3 (own LM head, qkv bias)."""
    root = tmp_path_factory.mktemp("layouts")
    config = tiny_internvl_config(image_token_id=IMAGE_TOKEN_ID, vision_overrides={"attention_bias": True})
    config.tie_word_embeddings = False
    hf_folder = save_tiny_internvl(root / "hf", config, seed=3)
    reference = InternVLForConditionalGeneration.from_pretrained(hf_folder)
    original = root / "original"
    original.mkdir()
    save_file(
        to_original_layout(reference.state_dict(), config.vision_config.num_hidden_layers),
        original / "model.safetensors",
    )
    (original / "config.json").write_text(json.dumps(original_config(config), indent=2))
    tokens = {"added_tokens_decoder": {str(IMAGE_TOKEN_ID): {"content": "<IMG_CONTEXT>", "special": True}}}
    (original / "tokenizer_config.json").write_text(json.dumps(tokens))
    return hf_folder, original


def text_logits(model, ids, mask) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits[mask.bool()]  # (n_real, V)


def test_original_layout_loads_the_same_model_as_the_hf_layout(twins):
    hf_folder, original = twins
    expected, model = load_onedrive(hf_folder), load_onedrive(original)
    settings, expected_settings = model.config.to_dict(), expected.config.to_dict()
    assert settings.pop("_name_or_path") == str(original) and expected_settings.pop("_name_or_path") == str(hf_folder)
    assert settings == expected_settings
    ours, theirs = model.state_dict(), expected.state_dict()
    assert set(ours) == set(theirs)
    for key, tensor in theirs.items():
        assert torch.equal(ours[key], tensor), key
    ids, mask = make_prompt([5, 9], prefix=0, num_cameras=0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(text_logits(model, ids, mask), text_logits(expected, ids, mask), rtol=0, atol=0)


def copy_with_tensors(original, folder, edit) -> None:
    """``original``'s config files in ``folder``, with its tensors changed by ``edit`` (a dict → None)."""
    folder.mkdir()
    for name in ("config.json", "tokenizer_config.json"):
        (folder / name).write_text((original / name).read_text())
    tensors = load_file(original / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors")


def test_original_layout_missing_a_tensor_names_it(twins, tmp_path):
    copy_with_tensors(twins[1], tmp_path / "broken", lambda tensors: tensors.pop("vision_model.encoder.layers.1.ls2"))
    with pytest.raises(InputError, match=r"missing from the checkpoint.*vision_model\.encoder\.layers\.1\.ls2"):
        load_onedrive(tmp_path / "broken")


def test_original_layout_with_an_unknown_tensor_names_it(twins, tmp_path):
    def add_unknown(tensors):
        tensors["vision_model.encoder.layers.0.attn.extra_gate"] = torch.zeros(2)

    copy_with_tensors(twins[1], tmp_path / "extra", add_unknown)
    with pytest.raises(InputError, match=r"'vision_model\.encoder\.layers\.0\.attn\.extra_gate' has no place"):
        load_onedrive(tmp_path / "extra")
