"""The official optimiser on the tiny model: each parameter's group, learning rate and weight decay; the schedule."""

import json
import math
import re
from pathlib import Path

import pytest
from tiny_run import tiny_experiment

from onedrive.training.config import WHOLE_RUN_COSINE, ConfigError, ParamGroupsConfig, check_config, load_config
from onedrive.training.recipe import lora_target_regex
from onedrive.training.run import prepare_experiment

REPO = Path(__file__).resolve().parents[3]
LR, WEIGHT_DECAY = 1e-3, 1e-4
VIT_LAYERS = 2  # TinyInternVLConfig's ViT depth

# Scales written out from the official configs (paramwise_cfg of stage{1,2,3}_*.py and the vit_wise rule of
# layer_decay_optimizer_constructor.py), independently of onedrive.training.optimizer.
VIT_LAYER = re.compile(r"^model\.vision_tower\.encoder\.layer\.(\d+)\.")
TASK_MODULE = re.compile(r"\.(query_self_attn|query_ffns)\.")
LLM = re.compile(r"^model\.language_model\.|^lm_head\.|\.lora_[AB]\.")


def expected_scale(name: str) -> float:
    match = VIT_LAYER.match(name)
    if match:
        return 0.9 ** (VIT_LAYERS + 1 - (int(match.group(1)) + 1))
    if name.startswith(("model.vision_tower.", "model.multi_modal_projector.")):
        return 0.9 ** (VIT_LAYERS + 1)
    if TASK_MODULE.search(name):
        return 2.0
    return 4.0  # the LLM (LoRA, full-FT attention) and every head, query and position encoder


def official_experiment(drive_data, out):
    config = tiny_experiment(drive_data, out, stage="joint")
    config.model.task["task_layers"] = [0]  # layer 1 is no task layer: LoRA on its q/k/v/o
    config.recipe.lora_ffn = False
    config.train.learning_rate, config.train.weight_decay = LR, WEIGHT_DECAY
    config.train.param_groups = ParamGroupsConfig()
    config.train.lr_scheduler, config.train.warmup_start_rate = WHOLE_RUN_COSINE, 1 / 3
    config.train.warmup_steps, config.train.min_lr_rate = 2, 1e-3
    return config


def test_each_parameter_reads_its_group_and_learning_rate(drive_data, tmp_path):
    run = prepare_experiment(official_experiment(drive_data, tmp_path / "out"))
    model = run.applied.model
    optimizer = run.trainer.create_optimizer()
    group_of = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    assert len(group_of) == sum(len(group["params"]) for group in optimizer.param_groups)  # one group each
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    assert len(group_of) == len(trainable)
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            assert id(parameter) not in group_of, name
            continue
        group = group_of[id(parameter)]
        assert group["lr"] == pytest.approx(LR * expected_scale(name)), (name, group["group_name"])
        no_decay = parameter.ndim == 1 or name.endswith(".bias")
        assert group["weight_decay"] == (0.0 if no_decay else WEIGHT_DECAY), name
    names = {group["group_name"].rsplit(".", 1)[0] for group in optimizer.param_groups}
    assert names == {"vit.embeddings", "vit.layer_1", "vit.layer_2", "projector", "task_modules", "llm", "heads"}
    # LoRA sits on q/k/v/o of the non-task layer only; the task layer's attention trains in full, FFNs are frozen.
    lora = sorted({re.sub(r"\.lora_[AB]\..*", "", n) for n in trainable if ".lora_" in n})
    assert lora == [f"model.language_model.layers.1.self_attn.{p}_proj" for p in "koqv"]
    assert "model.language_model.layers.0.self_attn.q_proj.weight" in trainable
    assert not any(n.startswith("model.language_model.") and ".mlp." in n for n in trainable)

    run.trainer.train()  # three real steps through the Trainer with these groups and the schedule
    assert run.trainer.optimizer.optimizer is optimizer or run.trainer.optimizer is optimizer
    logged = [entry["learning_rate"] for entry in run.trainer.state.log_history if "learning_rate" in entry]
    first_scale = optimizer.param_groups[0]["lr_scale"]
    assert logged[0] == pytest.approx(LR * first_scale / 3)  # step 0 of the warm-up: lr / 3


def mmcv_cosine_with_linear_warmup(step, total, warmup, ratio, min_ratio, base):
    """mmcv CosineAnnealingLrUpdaterHook + linear warm-up, as the official lr_config sets it."""
    regular = base * min_ratio + 0.5 * (base - base * min_ratio) * (1 + math.cos(math.pi * step / total))
    if step >= warmup:
        return regular
    return regular * (1 - (1 - step / warmup) * (1 - ratio))


def test_whole_run_cosine_follows_the_official_schedule(drive_data, tmp_path):
    config = official_experiment(drive_data, tmp_path / "out")
    config.train.warmup_steps = 5
    trainer = prepare_experiment(config).trainer
    optimizer = trainer.create_optimizer()
    bases = [group["lr"] for group in optimizer.param_groups]
    scheduler = trainer.create_scheduler(num_training_steps=40)
    for step in range(41):
        for group, base in zip(optimizer.param_groups, bases):
            assert group["lr"] == pytest.approx(mmcv_cosine_with_linear_warmup(step, 40, 5, 1 / 3, 1e-3, base))
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * bases[0])


def test_default_trainer_keeps_one_learning_rate(drive_data, tmp_path):
    """Without train.param_groups (the demo configs) the Trainer's own two groups at one learning rate remain."""
    run = prepare_experiment(tiny_experiment(drive_data, tmp_path / "out", stage="joint"))
    optimizer = run.trainer.create_optimizer()
    assert len(optimizer.param_groups) == 2 and {g["lr"] for g in optimizer.param_groups} == {1e-3}


def test_deepspeed_sections_that_would_replace_the_optimizer_are_refused(drive_data, tmp_path):
    config = official_experiment(drive_data, tmp_path / "out")
    for shipped in ("zero2.json", "zero3.json"):
        config.train.deepspeed = str(REPO / "configs" / "deepspeed" / shipped)
        check_config(config)
    sections = json.loads((REPO / "configs" / "deepspeed" / "zero2.json").read_text())
    with_optimizer = tmp_path / "with_optimizer.json"
    with_optimizer.write_text(json.dumps({**sections, "optimizer": {"type": "AdamW", "params": {"lr": "auto"}}}))
    config.train.deepspeed = str(with_optimizer)
    with pytest.raises(ConfigError, match="has an 'optimizer' section: DeepSpeed would build its own"):
        check_config(config)
    with_scheduler = tmp_path / "with_scheduler.json"
    with_scheduler.write_text(json.dumps({**sections, "scheduler": {"type": "WarmupLR"}}))
    config.train.deepspeed = str(with_scheduler)
    with pytest.raises(ConfigError, match="has a 'scheduler' section"):
        check_config(config)
    config.train.deepspeed, config.train.lr_scheduler = None, "cosine_with_min_lr"
    with pytest.raises(ConfigError, match="warmup_start_rate is used by"):
        check_config(config)


def test_lora_targets():
    regex = re.compile(lora_target_regex(4, [0, 1], ffn=False))
    assert regex.fullmatch("model.language_model.layers.2.self_attn.q_proj")
    assert not regex.fullmatch("model.language_model.layers.1.self_attn.q_proj")
    assert not regex.fullmatch("model.language_model.layers.2.mlp.up_proj")
    with pytest.raises(ValueError, match="LoRA has nothing to adapt"):
        lora_target_regex(2, [0, 1], ffn=False)


@pytest.mark.parametrize(
    "path",
    [
        "nuscenes/onedrive_1b_stage1_perception.py",
        "nuscenes/onedrive_1b_stage2_planning.py",
        "nuscenes/onedrive_1b_stage3_joint.py",
        "navsim/onedrive_2b_navsim.py",
    ],
)
def test_paper_configs_use_the_official_optimiser(path):
    config = load_config(REPO / "configs" / path)
    train = config.train
    assert (train.optimizer, train.learning_rate, train.weight_decay, train.max_grad_norm) == (
        "adamw_torch",
        1e-4,
        1e-4,
        35,
    )
    assert train.param_groups == ParamGroupsConfig(llm=4, heads=4, task_modules=2, vit_layer_decay=0.9)
    assert (train.lr_scheduler, train.warmup_steps, train.warmup_start_rate, train.min_lr_rate) == (
        WHOLE_RUN_COSINE,
        500,
        1 / 3,
        1e-3,
    )
    recipe = config.recipe
    assert (recipe.lora_rank, recipe.lora_alpha, recipe.full_ft_attn, recipe.lora_ffn) == (16, 16, True, False)
    assert config.model.task["task_layers"] == [0, 1, 2, 3, 4, 5]
