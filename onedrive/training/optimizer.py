"""The official optimiser: learning rate per parameter group, and the whole-run cosine schedule.

Parameter groups (``lr_groups``; the official release's layer-decay optimiser constructor,
``vit_wise`` with head / LM-head / end-to-end-head rates 4 and plugin-module rate 2). Every
trainable parameter gets ``learning_rate × scale``:

| group            | parameters (``OneDriveForDriving.parameter_groups``)                | scale |
|------------------|---------------------------------------------------------------------|-------|
| vit.layer_<l>    | ``vit``: ``model.vision_tower.encoder.layer.<l-1>.*`` (l = 1 … L)   | vit_layer_decay ** (L + 1 - l) |
| vit.embeddings   | ``vit``: every other tensor (patch / position embeddings, class token) | vit_layer_decay ** (L + 1) |
| projector        | ``projector``                                                       | vit_layer_decay ** (L + 1) |
| task_modules     | ``task_modules:*``: the query self-attention, every query group's FFN | task_modules (2) |
| llm              | ``llm``, ``embeddings``: base weights trained in full, LoRA, embeddings / LM head | llm (4) |
| heads            | ``heads:*``: queries, ego encoder, position encoders, det / lane / planning heads | heads (4) |

L is the ViT's depth read from the model (``vision_config.num_hidden_layers``; 24 for
InternVL3-1B / 2B, as the official configs' ``num_layers``). Weight decay: 0 for 1-D tensors and
biases, ``weight_decay`` for the rest (the official rule; transformers' default instead exempts
tensors by norm-layer type and name). Frozen parameters are left out. Each group is split into
``<group>.decay`` / ``<group>.no_decay`` and carries its ``group_name`` and ``lr_scale``.

Schedule (``whole_run_cosine_schedule``): mmcv's ``CosineAnnealing`` with ``warmup='linear'``,
as the official configs (``warmup_iters=500, warmup_ratio=1/3, min_lr_ratio=1e-3``). The cosine
runs over every step, warm-up included, from 1 to ``min_lr_rate``; during the first
``warmup_steps`` steps it is multiplied by a ramp from ``warmup_start_rate`` at step 0 to 1 at
step ``warmup_steps``, so the run starts at ``warmup_start_rate × lr`` (lr / 3). It is a
``torch.optim.lr_scheduler.LambdaLR``, like every transformers schedule, so each group keeps its
scale. transformers' ``get_cosine_with_min_lr_schedule_with_warmup_lr_rate`` (warm-up from a
rate) is close but starts its cosine after the warm-up, which would keep the learning rate up
to 5.3 % of the peak higher mid-run than the official schedule (8,780 steps, 500 of warm-up).

    python -c "from onedrive.training.optimizer import lr_groups; help(lr_groups)"
"""

from __future__ import annotations

import math
from functools import partial

from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from onedrive.training.config import ParamGroupsConfig


def lr_group(model_group: str, vit_layer: int, groups: ParamGroupsConfig, vit_layers: int) -> tuple[str, float]:
    """(group, learning-rate scale) of a parameter in the model's group ``model_group`` (``OneDriveForDriving.
    parameter_groups``); ``vit_layer`` is its ViT layer l (1 … L), 0 outside the ViT's layers (module docstring)."""
    if model_group == "vit":
        name = "vit.embeddings" if vit_layer == 0 else f"vit.layer_{vit_layer}"
        return name, groups.vit_layer_decay ** (vit_layers + 1 - vit_layer)
    if model_group == "projector":
        return "projector", groups.vit_layer_decay ** (vit_layers + 1)
    if model_group.startswith("task_modules:"):
        return "task_modules", groups.task_modules
    if model_group in ("llm", "embeddings"):
        return "llm", groups.llm
    return "heads", groups.heads


def vit_layer_of(model: nn.Module) -> dict[int, int]:
    """{id(parameter): ViT layer l (1 … L)} for the parameters of the vision tower's encoder layers."""
    layers = model.model.vision_tower.encoder.layer
    return {id(parameter): index + 1 for index, layer in enumerate(layers) for parameter in layer.parameters()}


def lr_groups(model: nn.Module, groups: ParamGroupsConfig, learning_rate: float, weight_decay: float) -> list[dict]:
    """Optimizer parameter groups of the trainable parameters: params, lr, weight_decay, group_name, lr_scale."""
    vit_layers = model.config.vision_config.num_hidden_layers
    model_group = {name: group for group, names in model.parameter_groups().items() for name in names}
    vit_layer = vit_layer_of(model)
    built: dict[str, dict] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        group, scale = lr_group(model_group[name], vit_layer.get(id(parameter), 0), groups, vit_layers)
        decays = parameter.ndim > 1 and not name.endswith(".bias")
        key = f"{group}.{'decay' if decays else 'no_decay'}"
        entry = built.setdefault(
            key,
            {
                "params": [],
                "lr": learning_rate * scale,
                "weight_decay": weight_decay if decays else 0.0,
                "group_name": key,
                "lr_scale": scale,
            },
        )
        entry["params"].append(parameter)
    return list(built.values())


def _whole_run_cosine(
    step: int, *, warmup_steps: int, total_steps: int, min_lr_rate: float, warmup_start_rate: float
) -> float:
    cosine = min_lr_rate + (1 - min_lr_rate) * 0.5 * (
        1 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps))
    )
    if step >= warmup_steps:
        return cosine
    return cosine * (1 - (1 - step / warmup_steps) * (1 - warmup_start_rate))


def whole_run_cosine_schedule(
    optimizer: Optimizer, warmup_steps: int, total_steps: int, min_lr_rate: float, warmup_start_rate: float
) -> LambdaLR:
    """The official schedule as a ``LambdaLR`` (module docstring): factor at step t of the group's lr."""
    return LambdaLR(
        optimizer,
        partial(
            _whole_run_cosine,
            warmup_steps=warmup_steps,
            total_steps=total_steps,
            min_lr_rate=min_lr_rate,
            warmup_start_rate=warmup_start_rate,
        ),
    )
