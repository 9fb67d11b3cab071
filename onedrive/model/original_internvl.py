"""Read an InternVL checkpoint in InternVL's own layout (``InternVLChatModel``) as transformers' InternVL.

Many driving VLMs (ReCogDrive's InternVL3-2B among them) are published the way OpenGVLab's
own code saves them: config.json of ``model_type`` ``internvl_chat`` (``vision_config`` of an
InternViT, ``llm_config`` of a Qwen2, ``downsample_ratio``, ``select_layer``, ``ps_version``...) and
tensors named ``vision_model.*``, ``mlp1.*`` and ``language_model.*``, with each ViT layer's
query / key / value in one fused ``attn.qkv`` matrix. transformers 5 ships no importable
converter for this layout (its InternVL conversion script is not part of the installed
package), so the map is written out here, name by name: ``NAME_PAIRS`` renames (and names a
missing tensor the way the folder would), and the fused qkv (3·D, D) is cut into three (D, D)
blocks in q, k, v order. A tensor the map does not
know, or a tensor transformers' InternVL expects and the folder lacks, is an ``InputError``
naming it. The image token id is not in the original config: it is the id of ``<IMG_CONTEXT>``
in the folder's tokenizer_config.json (``added_tokens_decoder``), as InternVL's chat code looks it up.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import torch
from transformers import InternVLConfig, InternVLForConditionalGeneration

from onedrive.errors import InputError
from onedrive.export.weights import read_json, read_state_dict, weight_files

ORIGINAL_MODEL_TYPE = "internvl_chat"
IMAGE_CONTEXT_TOKEN = "<IMG_CONTEXT>"
VIT_LAYER, HF_VIT_LAYER = "vision_model.encoder.layers.{n}.", "model.vision_tower.encoder.layer.{n}."
VIT_ATTENTION, HF_VIT_ATTENTION = VIT_LAYER + "attn.", HF_VIT_LAYER + "attention."
# (InternVL's name, transformers' name): {n} is a layer index, {p} weight or bias, {rest} any name.
NAME_PAIRS = [
    ("vision_model.embeddings.class_embedding", "model.vision_tower.embeddings.cls_token"),
    ("vision_model.embeddings.position_embedding", "model.vision_tower.embeddings.position_embeddings"),
    ("vision_model.embeddings.patch_embedding.{p}", "model.vision_tower.embeddings.patch_embeddings.projection.{p}"),
    (VIT_ATTENTION + "proj.{p}", HF_VIT_ATTENTION + "projection_layer.{p}"),
    (VIT_ATTENTION + "q_norm.{p}", HF_VIT_ATTENTION + "q_norm.{p}"),  # InternViT-6B only (qk_normalization)
    (VIT_ATTENTION + "k_norm.{p}", HF_VIT_ATTENTION + "k_norm.{p}"),
    (VIT_LAYER + "ls1", HF_VIT_LAYER + "lambda_1"),
    (VIT_LAYER + "ls2", HF_VIT_LAYER + "lambda_2"),
    (VIT_LAYER + "norm1.{p}", HF_VIT_LAYER + "layernorm_before.{p}"),
    (VIT_LAYER + "norm2.{p}", HF_VIT_LAYER + "layernorm_after.{p}"),
    (VIT_LAYER + "mlp.fc1.{p}", HF_VIT_LAYER + "mlp.fc1.{p}"),
    (VIT_LAYER + "mlp.fc2.{p}", HF_VIT_LAYER + "mlp.fc2.{p}"),
    ("mlp1.0.{p}", "model.multi_modal_projector.layer_norm.{p}"),
    ("mlp1.1.{p}", "model.multi_modal_projector.linear_1.{p}"),
    ("mlp1.3.{p}", "model.multi_modal_projector.linear_2.{p}"),
    ("language_model.lm_head.{p}", "lm_head.{p}"),
    ("language_model.model.{rest}", "model.language_model.{rest}"),
]
# The fused ViT projection (3·D, D) / (3·D,) and the three transformers' ones it is cut into, in this order.
FUSED_QKV = (VIT_ATTENTION + "qkv.{p}", [HF_VIT_ATTENTION + f"{part}_proj.{{p}}" for part in "qkv"])
PLACEHOLDERS = {"n": r"\d+", "p": "weight|bias", "rest": ".+"}


@functools.cache
def _pattern(template: str) -> re.Pattern:
    """``template`` as a full-match regex whose placeholders are named groups."""
    pattern = re.escape(template)
    for name, group in PLACEHOLDERS.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{group})")
    return re.compile(pattern)


def _rename(name: str, pairs: list[tuple[str, str]]) -> str | None:
    """``name`` matched against each pair's first template, written with its second; None when none matches."""
    for source, target in pairs:
        match = _pattern(source).fullmatch(name)
        if match:
            return target.format(**match.groupdict())
    return None


def original_name(hf_name: str) -> str:
    """InternVL's name of the tensor transformers calls ``hf_name`` (the fused qkv for q, k or v)."""
    fused, parts = FUSED_QKV
    pairs = [(target, source) for source, target in NAME_PAIRS] + [(part, fused) for part in parts]
    return _rename(hf_name, pairs) or hf_name


# InternViT config key → InternVLVisionConfig key (the ones that shape the weights or the forward pass).
VISION_KEYS = {
    "hidden_size": "hidden_size",
    "intermediate_size": "intermediate_size",
    "num_attention_heads": "num_attention_heads",
    "num_hidden_layers": "num_hidden_layers",
    "num_channels": "num_channels",
    "patch_size": "patch_size",
    "qkv_bias": "attention_bias",
    "qk_normalization": "use_qk_norm",
}
VISION_OPTIONAL_KEYS = {
    "layer_norm_eps": "layer_norm_eps",
    "hidden_act": "hidden_act",
    "norm_type": "norm_type",
    "initializer_range": "initializer_range",
    "attention_dropout": "attention_dropout",
}
LLM_DROPPED_KEYS = ("architectures", "auto_map", "_name_or_path", "transformers_version", "torch_dtype")


def is_original_layout(folder: Path) -> bool:
    """Whether ``folder``'s config.json is InternVL's own (``model_type`` ``internvl_chat``)."""
    config_path = folder / "config.json"
    return config_path.is_file() and read_json(config_path).get("model_type") == ORIGINAL_MODEL_TYPE


def _required(section: dict, key: str, where: str):
    if key not in section:
        raise InputError(f"{where}: no {key!r}; expected InternVL's own config (InternVLChatConfig)")
    return section[key]


def image_token_id(folder: Path) -> int:
    """The id of ``<IMG_CONTEXT>`` among the added tokens of ``folder``'s tokenizer_config.json."""
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        raise InputError(
            f"{folder} has no tokenizer_config.json; expected one whose added tokens hold {IMAGE_CONTEXT_TOKEN}"
        )
    added = read_json(path).get("added_tokens_decoder", {})
    ids = [int(token_id) for token_id, token in added.items() if token.get("content") == IMAGE_CONTEXT_TOKEN]
    if not ids:
        raise InputError(f"{path}: no {IMAGE_CONTEXT_TOKEN} in added_tokens_decoder; expected InternVL's image token")
    return ids[0]


def hf_config(folder: Path) -> InternVLConfig:
    """transformers' ``InternVLConfig`` for the original-layout config.json of ``folder``."""
    config_path = folder / "config.json"
    original = read_json(config_path)
    where = str(config_path)
    vision = _required(original, "vision_config", where)
    llm = dict(_required(original, "llm_config", where))
    if llm.get("model_type") != "qwen2":
        raise InputError(f"{where}: llm_config model_type {llm.get('model_type')!r}; expected 'qwen2' (InternVL3)")
    if original.get("ps_version", "v2") != "v2":
        raise InputError(f"{where}: ps_version {original['ps_version']!r}; expected 'v2' (transformers' pixel shuffle)")
    vision_settings = {new: _required(vision, old, f"{where} vision_config") for old, new in VISION_KEYS.items()}
    vision_settings.update({new: vision[old] for old, new in VISION_OPTIONAL_KEYS.items() if old in vision})
    vision_settings["image_size"] = original.get("force_image_size") or _required(
        vision, "image_size", f"{where} vision_config"
    )
    vision_settings["use_mean_pooling"] = True  # InternViT has no norm after its last layer
    for key in LLM_DROPPED_KEYS:
        llm.pop(key, None)
    return InternVLConfig(
        vision_config=vision_settings,
        text_config=llm,
        downsample_ratio=_required(original, "downsample_ratio", where),
        vision_feature_layer=original.get("select_layer", -1),
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
        image_token_id=image_token_id(folder),
        tie_word_embeddings=llm.get("tie_word_embeddings", False),
    )


def hf_state_dict(original: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """The tensors of ``original`` under transformers' InternVL names (fused ViT qkv cut into q, k, v)."""
    fused, parts = FUSED_QKV
    converted = {}
    for name, tensor in original.items():
        match = _pattern(fused).fullmatch(name)
        if match:
            for part, chunk in zip(parts, tensor.chunk(3, dim=0)):
                converted[part.format(**match.groupdict())] = chunk.clone()  # (D, D) / (D,)
            continue
        new_name = _rename(name, NAME_PAIRS)
        if new_name is None:
            raise InputError(f"{source}: tensor {name!r} has no place in transformers' InternVL layout")
        converted[new_name] = tensor
    return converted


def load_original_internvl(folder: Path, attn_implementation: str, dtype: torch.dtype | None):
    """``InternVLForConditionalGeneration`` holding the weights of the original-layout checkpoint ``folder``."""
    config = hf_config(folder)
    state = hf_state_dict(read_state_dict(weight_files(folder, allow_pickle=True)), str(folder))
    internvl, info = InternVLForConditionalGeneration.from_pretrained(
        None,
        config=config,
        state_dict=state,
        attn_implementation=attn_implementation,
        dtype=dtype,
        output_loading_info=True,
    )
    missing = sorted(set(info["missing_keys"]) - ({"lm_head.weight"} if config.tie_word_embeddings else set()))
    if missing:
        named = sorted({original_name(name) for name in missing})
        raise InputError(f"{folder}: tensors of InternVL missing from the checkpoint: {named[:10]}")
    internvl.config._name_or_path = str(folder)
    return internvl
