"""generate continues the prefill's KV cache; predict and its early exit."""

import torch
from model_helpers import load_onedrive, make_batch, select

from onedrive.model.heads.official_planning import PlanningOutput
from onedrive.model.initial_values import randomise_initial_values
from onedrive.schema import DriveBatch


def _uncached_greedy(model, batch: DriveBatch, steps: int) -> torch.Tensor:
    ids, mask = batch.input_ids, batch.attention_mask
    tokens = []
    for _ in range(steps):
        with torch.no_grad():
            logits = model(
                input_ids=ids,
                attention_mask=mask,
                pixel_values=batch.pixel_values,
                camera=batch.camera,
                ego_status=batch.ego_status,
                command=batch.command,
                ego_history=batch.ego_history,
            ).logits
        token = logits[:, -1].argmax(-1)
        tokens.append(token)
        ids = torch.cat([ids, token[:, None]], dim=1)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
    return torch.stack(tokens, dim=1)


def test_cached_generate_equals_uncached_greedy(internvl_dir):
    model = load_onedrive(internvl_dir, attn_implementation="eager")
    randomise_initial_values(model, std=0.05, seed=7)  # as after training
    for row in range(2):
        sample = select(make_batch(seed=row), row)
        sample.labels = None
        generated = model.generate(sample, max_new_tokens=8).sequences
        assert torch.equal(generated, _uncached_greedy(model, sample, 8))


def test_batched_generate_equals_one_by_one(internvl_dir):
    model = load_onedrive(internvl_dir)
    randomise_initial_values(model, std=0.05, seed=7)  # as after training
    batch = make_batch(text_lengths=(4, 9))
    together = model.generate(batch, max_new_tokens=6)
    for row in range(2):
        alone = model.generate(select(batch, row), max_new_tokens=6)
        assert torch.equal(together.sequences[row], alone.sequences[0])
        torch.testing.assert_close(
            together.prediction.trajectory[row], alone.prediction.trajectory[0], rtol=1e-5, atol=1e-5
        )


def test_generate_returns_the_structured_outputs_of_its_prefill(internvl_dir):
    model = load_onedrive(internvl_dir)
    randomise_initial_values(model, std=0.05, seed=7)  # as after training
    batch = make_batch()
    predicted = model.predict(batch)
    generated = model.generate(batch, max_new_tokens=2).prediction
    torch.testing.assert_close(generated.trajectory, predicted.trajectory, rtol=1e-5, atol=1e-5)
    for a, b in zip(generated.detections, predicted.detections):
        torch.testing.assert_close(a.boxes, b.boxes, rtol=1e-5, atol=1e-5)


def test_predict_shapes_and_scores(internvl_dir):
    model = load_onedrive(internvl_dir)
    prediction = model.predict(make_batch())
    assert prediction.trajectory.shape == (2, 6, 2)
    assert [d.boxes.shape for d in prediction.detections] == [(8, 9), (8, 9)]
    assert [lane.points.shape for lane in prediction.lanes] == [(4, 5, 3), (4, 5, 3)]
    scores = prediction.detections[0].scores
    assert torch.all(scores[:-1] >= scores[1:]) and torch.all((scores > 0) & (scores < 1))


def test_predict_stops_after_the_last_task_layer_and_equals_the_full_pass_there(three_layer_internvl_dir):
    """The paper's shallow-layer inference: predict never runs the layer after the last task layer, and its
    boxes, lanes and trajectory equal, bit for bit, the heads on that layer of a pass through every layer
    (generate's prefill and forward's deep-supervision outputs)."""
    model = load_onedrive(three_layer_internvl_dir, task_layers=[0, 1])
    randomise_initial_values(model, std=0.05, seed=7)  # as after training
    batch = make_batch()
    calls = []
    hook = model.model.language_model.layers[2].register_forward_hook(lambda *args: calls.append(1))
    early = model.predict(batch)
    plan_only = model.predict(batch, tasks=("plan",))
    assert calls == []  # the third layer never ran
    full = model.generate(batch, max_new_tokens=2).prediction
    assert calls  # generate's prefill runs every layer
    hook.remove()
    for a, b in zip(early.detections, full.detections, strict=True):
        assert torch.equal(a.boxes, b.boxes) and torch.equal(a.scores, b.scores) and torch.equal(a.labels, b.labels)
    for a, b in zip(early.lanes, full.lanes, strict=True):
        assert torch.equal(a.points, b.points) and torch.equal(a.scores, b.scores)
    assert torch.equal(early.trajectory, full.trajectory) and torch.equal(plan_only.trajectory, full.trajectory)
    with torch.no_grad():
        deep = model(**batch)
    assert torch.equal(early.trajectory, deep.planning[1].best())
    top_boxes, top_scores, _ = model.det_head.top_boxes(deep.detection[1])
    assert torch.equal(torch.stack([d.boxes for d in early.detections]), top_boxes)
    assert torch.equal(torch.stack([d.scores for d in early.detections]), top_scores)
    # The last layer's heads would have given something else: the predictions are not the final layer's.
    assert not torch.equal(
        deep.planning[1].trajectories,
        model.plan_head(
            deep_final_plan_states(model, batch), batch.ego_status, batch.command, batch.ego_history
        ).trajectories,
    )


def deep_final_plan_states(model, batch):
    """The planning tokens' normed states after the last decoder layer (B, N_plan, H)."""
    with torch.no_grad():
        layout, output = model._prefill(
            batch.input_ids,
            batch.attention_mask,
            batch.pixel_values,
            batch.camera,
            batch.ego_status,
            batch.command,
            driving=True,
            ego_history=batch.ego_history,
        )
    return layout.gather(output.last_hidden_state, layout.group_index("plan"))


def test_best_mode_is_the_highest_scoring_one_per_sample():
    trajectories = torch.arange(2 * 3 * 4 * 2, dtype=torch.float32).view(2, 3, 4, 2)  # (B, M, T, D)
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 1.0]])  # (B, M)
    modes = PlanningOutput(trajectories, logits, status=torch.zeros(2, 1), ego_input=torch.zeros(2, 1))
    assert torch.equal(modes.best(), torch.stack([trajectories[0, 1], trajectories[1, 0]]))
