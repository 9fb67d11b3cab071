"""Stage 2 (planning adaptation) trains the planning modules and LoRA; the perception modules stay bit-identical.

With the paper configs' layout (task modules on the first layers, LoRA on q / k / v / o of the others) the
perception predictions, read at the last task layer, stay bit-identical as well.
"""

import re

import torch
from tiny_run import tiny_experiment

from onedrive.training.run import prepare_experiment

# Written out from the list, independently of onedrive.training.recipe: the perception queries, their
# FFNs, the query self-attention, the 3D position encoders and the det / lane heads.
PERCEPTION = re.compile(
    r"^(queries\.(det|lane)_|(image|det|lane)_position\.|(det|lane)_head\.|.*\.query_self_attn\.|.*\.query_ffns\.(det|lane)\.)"
)
PLANNING = re.compile(r"^(queries\.official_plan\.|plan_head\.|.*\.query_ffns\.plan\.)")


def snapshot(model):
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def test_stage2_steps_change_planning_and_lora_but_no_perception_parameter_or_prediction(drive_data, tmp_path):
    config = tiny_experiment(drive_data, tmp_path / "stage2", stage="planning")
    config.model.task["task_layers"] = [0]  # of the tiny model's 2 layers, as the paper's [0..5] of 24
    config.recipe.lora_ffn = False  # LoRA on q / k / v / o of layer 1 only, as the paper configs
    run = prepare_experiment(config)
    model = run.applied.model
    batch = run.trainer.data_collator([run.trainer.train_dataset[index] for index in range(2)])
    before, predicted_before = snapshot(model), model.eval().predict(batch)
    run.trainer.train()
    after, predicted_after = snapshot(model), model.eval().predict(batch)

    perception = [name for name in before if PERCEPTION.match(name)]
    planning = [name for name in before if PLANNING.match(name)]
    lora = [name for name in before if ".lora_" in name]
    assert perception and planning and lora
    assert [name for name in perception if not torch.equal(before[name], after[name])] == []
    assert [name for name in planning + lora if torch.equal(before[name], after[name])] == []
    attention = [name for name in before if re.match(r"^model\.language_model\.layers\.0\.self_attn\.", name)]
    assert attention and all(torch.equal(before[name], after[name]) for name in attention)

    for a, b in zip(predicted_before.detections, predicted_after.detections, strict=True):
        assert torch.equal(a.boxes, b.boxes) and torch.equal(a.scores, b.scores) and torch.equal(a.labels, b.labels)
    for a, b in zip(predicted_before.lanes, predicted_after.lanes, strict=True):
        assert torch.equal(a.points, b.points) and torch.equal(a.scores, b.scores)
    assert not torch.equal(predicted_before.trajectory, predicted_after.trajectory)
