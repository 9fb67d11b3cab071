"""Heads read the task layers: every head is supervised on every task layer (losses summed), and the layers
after the last task layer take no part in any driving loss."""

import torch
from model_helpers import load_onedrive, make_batch

from onedrive.model.initial_values import randomise_initial_values

DRIVING_LOSSES = ("det_cls", "det_box", "lane_cls", "lane_points", "plan_l1", "plan_cls", "plan_status")


def test_each_family_is_the_sum_of_its_losses_on_every_task_layer(three_layer_internvl_dir):
    model = load_onedrive(three_layer_internvl_dir, task_layers=[0, 1])
    randomise_initial_values(model, std=0.05, seed=3)
    batch = make_batch()
    targets = batch.targets
    with torch.no_grad():
        output = model(**batch)
    assert set(output.detection) == set(output.lanes) == set(output.planning) == {0, 1}
    per_layer = {
        layer: {
            **model.det_head.loss(output.detection[layer], targets.boxes, targets.labels),
            **model.lane_head.loss(output.lanes[layer], targets.lanes),
            **model.plan_head.loss(output.planning[layer], targets.trajectory, targets.trajectory_mask),
        }
        for layer in (0, 1)
    }
    for name in DRIVING_LOSSES:
        assert per_layer[0][name] > 0 and per_layer[1][name] > 0, name
        torch.testing.assert_close(output.losses[name], per_layer[0][name] + per_layer[1][name], rtol=1e-6, atol=0)


def test_driving_losses_reach_the_task_layers_only(three_layer_internvl_dir):
    """Without a text loss, no gradient reaches the layer after the last task layer; both task layers get one."""
    model = load_onedrive(three_layer_internvl_dir, task_layers=[0, 1]).train()
    randomise_initial_values(model, std=0.05, seed=3)
    batch = make_batch()
    output = model(**{**dict(batch), "labels": None})
    assert set(output.losses) == set(DRIVING_LOSSES)
    output.loss.backward()

    def gradient(name):
        grad = model.get_parameter(name).grad
        return 0.0 if grad is None else float(grad.abs().sum())

    for layer in (0, 1):
        assert gradient(f"model.language_model.layers.{layer}.self_attn.q_proj.weight") > 0, layer
        assert gradient(f"model.language_model.layers.{layer}.query_ffns.det.up_proj.weight") > 0, layer
    assert gradient("model.language_model.layers.2.self_attn.q_proj.weight") == 0
    assert gradient("model.language_model.layers.2.mlp.up_proj.weight") == 0
