"""Build a ``OneDriveForDriving`` from a pretrained InternVL3 checkpoint.

The checkpoint is read by transformers' own ``InternVLForConditionalGeneration.
from_pretrained`` (hub id or local folder in the transformers InternVL layout; the hub
cache and ``HF_HUB_OFFLINE`` work as usual); a local folder in InternVL's own layout
(config.json of ``model_type`` ``internvl_chat``, e.g. ReCogDrive's InternVL3-2B) is first
renamed into that layout by ``original_internvl``. OneDrive keeps InternVL's parameter names,
so the key map is the identity: every pretrained tensor (ViT, projector, embeddings,
attention, FFNs, norms, LM head) must land, and the only parameters left are the task
modules (``task_module_keys``: the per-layer query modules, queries, position encoders and heads). The query-type FFNs keep
their random N(0, 0.02) start (``task_ffn_init`` = ``random``, the official release) or start as
copies of their layer's pretrained FFN (``pretrained``). The LM head is tied to the input
embeddings exactly when transformers tied them on loading (``tied_embeddings``), and the
built config says so explicitly. A local folder is checked first (``pretrained_source``):
a OneDrive folder, a truncated weight file or a path that does not exist is named.
"""

from __future__ import annotations

import torch
from transformers import InternVLForConditionalGeneration

from onedrive.errors import InputError
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.original_internvl import ORIGINAL_MODEL_TYPE, is_original_layout, load_original_internvl
from onedrive.model.pretrained_source import check_local_checkpoint, check_pretrained_source, local_folder
from onedrive.model.tied_embeddings import embeddings_tied


def task_module_keys(model) -> set[str]:
    """Parameters that OneDrive adds to InternVL: the model's ``task_modules:*`` and ``heads:*`` groups
    (``OneDriveForDriving.parameter_groups``); everything else comes from the checkpoint."""
    return {name for group, names in model.parameter_groups().items() if ":" in group for name in names}


def from_internvl(
    model_class,
    pretrained: str,
    task_config: dict | None = None,
    attn_implementation: str = "sdpa",
    dtype: torch.dtype | None = None,
    **from_pretrained_kwargs,
):
    """Load InternVL3 from ``pretrained`` and build ``model_class`` (``OneDriveForDriving``) around its weights."""
    expected = "an InternVL3 checkpoint (transformers' InternVL layout or InternVL's own)"
    subfolder = from_pretrained_kwargs.get("subfolder", "")
    folder = local_folder(pretrained, expected, subfolder)
    if folder is not None and is_original_layout(folder):
        check_local_checkpoint(folder, ORIGINAL_MODEL_TYPE, expected)
        internvl = load_original_internvl(folder, attn_implementation, dtype)
    else:
        check_pretrained_source(pretrained, "internvl", expected, subfolder=subfolder)
        internvl = InternVLForConditionalGeneration.from_pretrained(
            pretrained, attn_implementation=attn_implementation, dtype=dtype, **from_pretrained_kwargs
        )
    settings = internvl.config.to_dict()
    for key in ("model_type", "architectures", "transformers_version"):
        settings.pop(key, None)
    settings["tie_word_embeddings"] = embeddings_tied(internvl)
    config = OneDriveConfig(**settings, task_config=task_config or {})
    model = model_class._from_config(config, attn_implementation=attn_implementation, dtype=internvl.dtype)
    pretrained_state = internvl.state_dict()
    missing, unexpected = model.load_state_dict(pretrained_state, strict=False)
    if unexpected:
        raise InputError(f"{pretrained}: checkpoint tensors with no place in OneDrive: {sorted(unexpected)[:10]}")
    added = task_module_keys(model)
    not_task = [key for key in missing if key not in added]
    if not_task:
        raise InputError(f"{pretrained}: pretrained tensors missing from the checkpoint: {sorted(not_task)[:10]}")
    with torch.no_grad():
        for layer in model.model.language_model.layers:
            if layer.has_task_modules and config.task_config.task_ffn_init == "pretrained":
                for ffn in layer.query_ffns.values():
                    ffn.load_state_dict(layer.mlp.state_dict())
    del internvl
    return model
