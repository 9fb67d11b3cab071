"""The three-stage recipe: which parameters each stage trains, LoRA, the printed table.

Every parameter of ``OneDriveForDriving`` belongs to one group (``parameter_groups``, read from the
model's own ``OneDriveForDriving.parameter_groups``; the perception / planning split follows each
query group's family in ``onedrive.model.query_groups``):

| group       | parameters |
|-------------|------------|
| vit         | ``model.vision_tower.*`` |
| projector   | ``model.multi_modal_projector.*`` |
| embeddings  | ``model.language_model.embed_tokens.*``, ``lm_head.*`` |
| llm         | the pretrained decoder layers (attention, FFN, norms) and the final norm |
| llm_lora    | LoRA adapters (peft) on the LLM's attention / FFN projections |
| perception  | det / lane queries, 3D position encoders, query self-attention, det / lane FFNs, det / lane heads |
| planning    | plan queries, command embedding, ego-status encoder, plan FFNs, planning head |

Stages (paper §3, official release: LoRA rank 16 + ``full_ft_attn``):

| stage      | trains in full (default)                 | task layers' attention (``full_ft_attn``) | LoRA on LLM | loss weights (perc, plan, text) |
|------------|------------------------------------------|----|-------------|---------------------------------|
| perception | perception                                | in full | yes  | 1, 0, 1 |
| planning   | planning                                  | frozen  | yes  | 0, 1, 1 |
| joint      | vit, projector, perception, planning      | in full | yes  | 1, 1, 1 |

Stage 2 leaves every perception parameter bit-identical, and with the task layers' attention
frozen and LoRA only outside the task layers (the paper configs) it cannot change a perception
prediction either: the heads read the last task layer, whose det / lane states depend on
nothing stage 2 trains (the planning tokens come after them in the causal sequence).

LoRA (peft) targets exactly ``model.language_model.layers.N.self_attn.{q,k,v,o}_proj`` and,
with ``lora_ffn``, ``...mlp.{gate,up,down}_proj`` — never the ViT, never the query FFNs or the
query self-attention (the official release: q / k / v / o only). With ``full_ft_attn`` the task layers' self-attention projections carry
no LoRA and train in full in the stages whose ``task_attention`` is set (official release, ``load_uni_model``). At the end of a
stage LoRA is merged into the weights (``merge_and_unload``), so every stage's output is
a plain ``OneDriveForDriving`` folder.

    python -c "from onedrive.training.recipe import STAGES; print(STAGES)"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn

from onedrive.model.query_groups import FAMILIES
from onedrive.training.config import RecipeConfig

GROUPS = ("vit", "projector", "embeddings", "llm", "llm_lora", *FAMILIES)
FULL_GROUPS = ("vit", "projector", "embeddings", "llm", *FAMILIES)  # choosable in recipe.trainable
GROUP_TITLES = {
    "vit": "vit (vision tower)",
    "projector": "projector (MLP)",
    "embeddings": "lm_head / embeddings",
    "llm": "llm (base)",
    "llm_lora": "llm (LoRA)",
    "perception": "perception (queries, modules, heads)",
    "planning": "planning (queries, FFN, head)",
}

_LLM_ATTENTION = re.compile(r"^model\.language_model\.layers\.(\d+)\.self_attn\.(q|k|v|o)_proj\.")


@dataclass(frozen=True)
class Stage:
    """``task_attention``: the task layers' pretrained attention trains in full (with ``recipe.full_ft_attn``)."""

    trainable: tuple[str, ...]
    loss_weights: dict[str, float]
    description: str
    task_attention: bool


STAGES = {
    "perception": Stage(
        ("perception",),
        {"perception_weight": 1.0, "planning_weight": 0.0, "text_weight": 1.0},
        "stage 1, perception-language pretraining: new perception modules + LoRA; ViT and planning frozen",
        task_attention=True,
    ),
    "planning": Stage(
        ("planning",),
        {"perception_weight": 0.0, "planning_weight": 1.0, "text_weight": 1.0},
        "stage 2, planning adaptation: planning queries / FFNs / head + LoRA; ViT, perception modules and the task "
        "layers' attention frozen",
        task_attention=False,
    ),
    "joint": Stage(
        ("vit", "projector", "perception", "planning"),
        {"perception_weight": 1.0, "planning_weight": 1.0, "text_weight": 1.0},
        "stage 3, joint fine-tuning of everything incl. the ViT (LLM through LoRA)",
        task_attention=True,
    ),
}


def check_recipe(recipe: RecipeConfig) -> list[str]:
    """Problems of a recipe config (empty when it is valid)."""
    problems = []
    if recipe.stage not in STAGES:
        problems.append(f"recipe.stage must be one of {sorted(STAGES)}, got {recipe.stage!r}")
    unknown = [group for group in (recipe.trainable or ()) if group not in FULL_GROUPS]
    if unknown:
        problems.append(f"recipe.trainable groups must be among {FULL_GROUPS}, got {unknown}")
    if recipe.lora_rank < 0 or recipe.lora_alpha <= 0 or not 0 <= recipe.lora_dropout < 1:
        problems.append(
            f"recipe.lora_rank >= 0, lora_alpha > 0, 0 <= lora_dropout < 1 required, got "
            f"{recipe.lora_rank}, {recipe.lora_alpha}, {recipe.lora_dropout}"
        )
    if recipe.lora_rank > 0 and "llm" in (recipe.trainable or ()):
        problems.append("recipe.trainable has 'llm' (full LLM fine-tuning) and recipe.lora_rank > 0: choose one")
    return problems


def trainable_groups(recipe: RecipeConfig) -> tuple[str, ...]:
    return tuple(recipe.trainable) if recipe.trainable is not None else STAGES[recipe.stage].trainable


def stage_loss_weights(recipe: RecipeConfig) -> dict[str, float]:
    return dict(STAGES[recipe.stage].loss_weights)


def parameter_groups(model) -> dict[str, str]:
    """{parameter name: recipe group (``GROUPS``)} of an ``OneDriveForDriving`` (peft-injected names allowed).

    Read from the model's own ``parameter_groups``: its ``task_modules:<family>`` and ``heads:<family>`` groups
    go to the family's group (perception / planning), LoRA tensors to ``llm_lora``.
    """
    recipe_groups = {}
    for model_group, names in model.parameter_groups().items():
        group = model_group.split(":")[1] if ":" in model_group else model_group
        for name in names:
            recipe_groups[name] = "llm_lora" if ".lora_" in name else group
    return recipe_groups


def lora_target_regex(num_layers: int, full_attention_layers: list[int], ffn: bool = True) -> str:
    """peft ``target_modules`` regex: attention projections (except fully trained layers) and, with ``ffn``, FFN projections."""
    attention_layers = [index for index in range(num_layers) if index not in set(full_attention_layers)]
    patterns = [r"model\.language_model\.layers\.\d+\.mlp\.(gate|up|down)_proj"] if ffn else []
    if not attention_layers and not patterns:
        raise ValueError(
            f"LoRA has nothing to adapt: all {num_layers} LLM layers are task layers whose attention trains in full "
            "(recipe.full_ft_attn) and recipe.lora_ffn is False; set model.task.task_layers to fewer layers, "
            "recipe.lora_ffn=True, or recipe.lora_rank=0"
        )
    if attention_layers:
        layers = "|".join(str(index) for index in attention_layers)
        patterns.insert(0, rf"model\.language_model\.layers\.({layers})\.self_attn\.(q|k|v|o)_proj")
    return "|".join(f"(?:{pattern})" for pattern in patterns)


def is_full_ft_attention(name: str, full_attention_layers: list[int]) -> bool:
    """A task layer's pretrained self-attention projection (``full_ft_attn``), excluding LoRA tensors."""
    match = _LLM_ATTENTION.match(name)
    return bool(match) and ".lora_" not in name and int(match.group(1)) in full_attention_layers


@dataclass
class AppliedRecipe:
    """The model to train (LoRA injected in place) and the peft wrapper used to merge at the end."""

    model: nn.Module
    peft_model: PeftModel | None
    lora_config: LoraConfig | None
    trainable_groups: tuple[str, ...]


def lora_config(recipe: RecipeConfig, model) -> LoraConfig | None:
    if recipe.lora_rank == 0:
        return None
    full_attention = model.config.task_layer_indices if recipe.full_ft_attn else []
    return LoraConfig(
        r=recipe.lora_rank,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=lora_target_regex(model.config.text_config.num_hidden_layers, full_attention, recipe.lora_ffn),
        bias="none",
    )


def apply_recipe(model, recipe: RecipeConfig) -> AppliedRecipe:
    """Inject LoRA (when ``lora_rank > 0``) and set ``requires_grad`` for the stage.

    ``model`` is changed in place: peft wraps it, but the Trainer trains the inner
    ``OneDriveForDriving`` (so checkpoints hold every tensor, LoRA included).
    """
    problems = check_recipe(recipe)
    if problems:
        raise ValueError("; ".join(problems))
    groups = trainable_groups(recipe)
    config = lora_config(recipe, model)
    peft_model = get_peft_model(model, config) if config is not None else None
    trains_attention = recipe.full_ft_attn and STAGES[recipe.stage].task_attention
    full_attention = model.config.task_layer_indices if trains_attention else []
    recipe_groups = parameter_groups(model)
    for name, parameter in model.named_parameters():
        group = recipe_groups[name]
        parameter.requires_grad_(group in groups or group == "llm_lora" or is_full_ft_attention(name, full_attention))
    return AppliedRecipe(model, peft_model, config, groups)


def parameter_table(model: nn.Module) -> str:
    """Trainable / frozen parameter counts per group, as a text table."""
    counts = {group: [0, 0] for group in GROUPS}
    recipe_groups = parameter_groups(model)
    for name, parameter in model.named_parameters():
        counts[recipe_groups[name]][0 if parameter.requires_grad else 1] += parameter.numel()
    rows = [(GROUP_TITLES[group], *counts[group]) for group in GROUPS]
    rows.append(
        (
            "total",
            sum(c[0] for c in counts.values()),
            sum(c[1] for c in counts.values()),
        )
    )
    width = max(len(row[0]) for row in rows)
    lines = [
        f"{'group':<{width}}  {'trainable':>14}  {'frozen':>14}",
        "-" * (width + 32),
    ]
    lines += [f"{title:<{width}}  {trainable:>14,}  {frozen:>14,}" for title, trainable, frozen in rows]
    return "\n".join(lines)


def merge_lora(applied: AppliedRecipe) -> nn.Module:
    """The trained model with LoRA merged into the base weights (no peft modules left)."""
    if applied.peft_model is None:
        return applied.model
    return applied.peft_model.merge_and_unload()
