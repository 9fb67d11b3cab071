"""Each stage changes exactly the parameters it trains; the chain stage 1 → 2 → 3 runs through `final/` folders."""

import re

import pytest
import torch
from tiny_run import tiny_experiment

from onedrive import OneDriveForDriving
from onedrive.training.run import prepare_experiment, save_final

# Written out independently of onedrive.training.recipe, from the paper's table (docs/design.md §1).
# tiny_experiment uses full_ft_attn with every layer a task layer: LoRA sits on the FFN projections and the
# pretrained attention projections train in full, except in stage 2 (planning), which keeps them frozen.
LORA = [r"\.lora_[AB]\."]
TASK_ATTENTION = [r"^model\.language_model\.layers\.\d+\.self_attn\.[qkvo]_proj\.(weight|bias)$"]
PERCEPTION = [
    r"^queries\.(det|lane)_",
    r"^(image|det|lane)_position\.",
    r"^(det|lane)_head\.",
    r"\.query_self_attn\.",
    r"\.query_ffns\.(det|lane)\.",
]
PLANNING = [
    r"^queries\.official_plan\.",
    r"^plan_head\.",
    r"\.query_ffns\.plan\.",
]
VISION = [r"^model\.vision_tower\.", r"^model\.multi_modal_projector\."]
EXPECTED = {
    "perception": LORA + TASK_ATTENTION + PERCEPTION,
    "planning": LORA + PLANNING,
    "joint": LORA + TASK_ATTENTION + PERCEPTION + PLANNING + VISION,
}


def snapshot(model):
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def run_stage(drive_data, out, stage, init_from=None):
    config = tiny_experiment(drive_data, out, stage=stage)
    config.model.init_from = init_from
    run = prepare_experiment(config)
    before = snapshot(run.applied.model)
    run.trainer.train()
    after = snapshot(run.applied.model)
    return run, before, after


@pytest.fixture(scope="module")
def stage_runs(drive_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    runs = {}
    init_from = None
    for stage in ("perception", "planning", "joint"):
        run, before, after = run_stage(drive_data, root / stage, stage, init_from)
        final = save_final(run.trainer, run.applied, run.final_dir)
        runs[stage] = (before, after, final)
        init_from = str(root / stage)
    return runs


@pytest.mark.parametrize("stage", ["perception", "planning", "joint"])
def test_only_the_stage_parameters_change(stage_runs, stage):
    before, after, _ = stage_runs[stage]
    patterns = [re.compile(p) for p in EXPECTED[stage]]
    expected = {name for name in before if any(p.search(name) for p in patterns)}
    assert expected and len(expected) < len(before)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert sorted(changed - expected) == [], "frozen parameters changed"
    assert sorted(expected - changed) == [], "trainable parameters did not change"


def test_final_folder_is_the_merged_model(stage_runs):
    """`final/` loads with from_pretrained, has no LoRA tensors, and merging changed exactly the LoRA targets."""
    before, after, final = stage_runs["perception"]
    loaded = OneDriveForDriving.from_pretrained(final)
    state = loaded.state_dict()
    assert not [key for key in state if "lora_" in key or "base_layer" in key]
    for name, value in before.items():
        key = name.replace(".base_layer.", ".")
        if ".lora_" in name:
            continue
        if re.search(r"\.mlp\.(gate|up|down)_proj\.weight$", key):  # LoRA targets: W + B A
            assert not torch.equal(state[key], value), key
        elif key in state:
            assert torch.equal(state[key], after[name]), key


def test_init_from_with_a_new_trajectory_shape_reinitialises_only_the_planning_output(stage_runs, drive_data, tmp_path):
    """NAVSIM-style start from a driving checkpoint: 8 x (x, y, heading) waypoints instead of 6 x (x, y); the
    waypoint output and the timestep embedding change shape, every other tensor loads."""
    from plan_query_helpers import anchors

    from onedrive.training.build import build_model

    _, _after, final = stage_runs["perception"]
    config = tiny_experiment(drive_data, tmp_path / "navsim", stage="planning")
    config.model.init_from = str(final.parent)
    config.model.task.update(plan_steps=8, plan_dims=3, plan_mode_anchors=anchors(3, 2, 8, 3))  # NAVSIM's infos'
    model, notes = build_model(config)
    assert model.config.task_config.plan_steps == 8 and model.config.task_config.plan_dims == 3
    reinitialised = [note.rsplit(" ", 1)[-1] for note in notes]
    waypoint_output = {"plan_head.waypoint.4.weight", "plan_head.waypoint.4.bias"}
    assert set(reinitialised) == waypoint_output | {"queries.official_plan.timestep_embed.weight"}, notes
    loaded = OneDriveForDriving.from_pretrained(final).state_dict()
    state = model.state_dict()
    assert all(torch.equal(state[key], loaded[key]) for key in loaded if key not in reinitialised)
