"""Forward + backward with all four tasks; per-sample independence; gradient checkpointing."""

import torch
from model_helpers import load_onedrive, make_batch, select


def test_all_losses_and_gradients(internvl_dir):
    model = load_onedrive(internvl_dir).train()
    output = model(**make_batch())
    losses = {"text", "det_cls", "det_box", "lane_cls", "lane_points", "plan_l1", "plan_cls", "plan_status"}
    assert set(output.losses) == losses
    assert all(torch.isfinite(value) for value in output.losses.values())
    output.loss.backward()
    for name in (
        "queries.det_embed",
        "det_head.regressor.0.weight",
        "lane_head.classifier.0.weight",
        "plan_head.waypoint.0.weight",
        "queries.official_plan.timestep_embed.weight",
        "model.language_model.layers.1.query_ffns.det.up_proj.weight",
        "model.language_model.layers.0.self_attn.q_proj.weight",
        "image_position.head.to_key.weight",
    ):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_each_sample_is_the_same_alone_as_in_the_batch(internvl_dir):
    model = load_onedrive(internvl_dir)
    batch = make_batch(text_lengths=(5, 11))
    with torch.no_grad():
        together = model(**batch)
        alone = [model(**select(batch, row)) for row in range(2)]
    for name, value in together.losses.items():
        torch.testing.assert_close(value, torch.stack([a.losses[name] for a in alone]).mean(), rtol=1e-5, atol=1e-5)
    for row in range(2):
        for layer in together.planning:
            torch.testing.assert_close(
                together.detection[layer].logits[row], alone[row].detection[layer].logits[0], rtol=1e-5, atol=1e-5
            )
            torch.testing.assert_close(
                together.lanes[layer].points[row], alone[row].lanes[layer].points[0], rtol=1e-5, atol=1e-5
            )
            torch.testing.assert_close(
                together.planning[layer].trajectories[row],
                alone[row].planning[layer].trajectories[0],
                rtol=1e-5,
                atol=1e-5,
            )


def test_gradient_checkpointing_gives_the_same_gradients(internvl_dir):
    batch = make_batch()
    grads = []
    for checkpointing in (False, True):
        model = load_onedrive(internvl_dir).train()
        if checkpointing:
            model.activation_checkpointing_enable({"use_reentrant": False})
        model(**batch).loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-5, atol=1e-6, msg=name)


def test_driving_queries_change_nothing_for_the_prompt_before_them(internvl_dir):
    """Causal attention: tokens before the queries see the same context with or without them."""
    model = load_onedrive(internvl_dir)
    batch = make_batch(text_lengths=(4,))
    with torch.no_grad():
        plain = model(
            input_ids=batch.input_ids, pixel_values=batch.pixel_values, attention_mask=batch.attention_mask
        ).logits
        driving = model(
            input_ids=batch.input_ids,
            pixel_values=batch.pixel_values,
            attention_mask=batch.attention_mask,
            camera=batch.camera,
            ego_status=batch.ego_status,
            command=batch.command,
            ego_history=batch.ego_history,
        ).logits
    prefix = 3  # text tokens before the first image token: no 3D embedding, no query in their past
    torch.testing.assert_close(driving[:, :prefix], plain[:, :prefix], rtol=0, atol=1e-5)
    assert not torch.allclose(driving[:, -1], plain[:, -1])
