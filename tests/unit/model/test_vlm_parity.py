"""With no driving inputs, OneDrive is the pretrained InternVL: same logits, same keys."""

import pytest
import torch
from model_helpers import load_onedrive, logits_through_the_images, make_batch, make_prompt
from transformers import InternVLForConditionalGeneration

from onedrive.model.internvl_weights import task_module_keys


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_logits_equal_internvl(internvl_dir, attn_implementation):
    reference = InternVLForConditionalGeneration.from_pretrained(
        internvl_dir, attn_implementation=attn_implementation
    ).eval()
    model = load_onedrive(internvl_dir, attn_implementation)
    ids, mask = make_prompt([7, 12], generator=torch.Generator().manual_seed(3))
    pixels = torch.randn(2 * 6, 3, 56, 56)
    with torch.no_grad():
        expected = reference(input_ids=ids, pixel_values=pixels, attention_mask=mask).logits
        got = model(input_ids=ids, pixel_values=pixels, attention_mask=mask).logits
    real = mask.bool()
    assert got.shape == expected.shape
    torch.testing.assert_close(got[real], expected[real], rtol=0, atol=1e-5)


def test_every_checkpoint_tensor_lands(internvl_dir):
    reference = InternVLForConditionalGeneration.from_pretrained(internvl_dir)
    model = load_onedrive(internvl_dir)
    ours = model.state_dict()
    for key, tensor in reference.state_dict().items():
        assert torch.equal(ours[key], tensor), key


def test_only_new_parameters_are_the_task_modules(internvl_dir):
    reference_keys = set(InternVLForConditionalGeneration.from_pretrained(internvl_dir).state_dict())
    model = load_onedrive(internvl_dir)
    new_keys = set(model.state_dict()) - reference_keys
    per_layer = {
        f"model.language_model.layers.{layer}.{name}"
        for layer in (0, 1)
        for name in (
            "query_self_attn.norm.weight",
            *(f"query_self_attn.{p}_proj.{w}" for p in "qkv" for w in ("weight", "bias")),
            "query_self_attn.o_proj.weight",
            *(f"query_ffns.{t}.{p}_proj.weight" for t in ("det", "lane", "plan") for p in ("gate", "up", "down")),
        )
    }
    top_level_modules = {
        "queries",
        "image_position",
        "det_position",
        "lane_position",
        "det_head",
        "lane_head",
        "plan_head",
    }
    top_level = {key for key in new_keys if key.split(".")[0] in top_level_modules}
    assert new_keys - top_level == per_layer
    assert {key.split(".")[0] for key in top_level} == top_level_modules
    assert {
        "queries.det_embed",
        "queries.det_reference",
        "queries.lane_embed",
        "queries.lane_reference",
        "queries.official_plan.timestep_embed.weight",
        "queries.official_plan.ego_encoder.0.weight",
    } <= top_level
    assert task_module_keys(model) == new_keys


def test_query_ffns_start_random_by_default_or_as_the_pretrained_ffn(internvl_dir):
    """The official start: every query FFN drawn from N(0, 0.02); ``task_ffn_init="pretrained"`` copies the layer's FFN."""
    model = load_onedrive(internvl_dir)
    weights = []
    for layer in model.model.language_model.layers:
        for ffn in layer.query_ffns.values():
            for name in ("gate_proj", "up_proj", "down_proj"):
                weight = getattr(ffn, name).weight
                assert not torch.equal(weight, getattr(layer.mlp, name).weight)
                weights.append(weight.flatten())
    drawn = torch.cat(weights)  # 2 layers x 3 FFNs x 3 projections of 64 x 128: ~150k values
    assert abs(drawn.mean().item()) < 1e-3 and abs(drawn.std().item() - 0.02) < 5e-4
    copied = load_onedrive(internvl_dir, task_ffn_init="pretrained")
    for layer in copied.model.language_model.layers:
        for ffn in layer.query_ffns.values():
            assert torch.equal(ffn.gate_proj.weight, layer.mlp.gate_proj.weight)
            assert torch.equal(ffn.down_proj.weight, layer.mlp.down_proj.weight)


def test_save_and_from_pretrained_round_trip(internvl_dir, tmp_path):
    from model_helpers import make_batch

    from onedrive import OneDriveForDriving

    model = load_onedrive(internvl_dir)
    model.save_pretrained(tmp_path)
    loaded = OneDriveForDriving.from_pretrained(tmp_path).eval()
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    batch = make_batch()
    first, second = model.predict(batch), loaded.predict(batch)
    assert torch.equal(first.trajectory, second.trajectory)
    assert torch.equal(first.detections[0].boxes, second.detections[0].boxes)


def test_new_modules_start_as_no_ops_after_transformers_init(internvl_dir):
    """transformers initialises every Linear after the constructors ran; the zero starts and priors must survive it."""
    model = load_onedrive(internvl_dir)
    zero_started = {
        name: p
        for name, p in model.named_parameters()
        if name.split(".")[-2] in ("to_query", "to_key") or "query_self_attn.o_proj" in name
    }
    assert len(zero_started) == 3 * 4 + 2  # 3 encoders x (query, key) x (weight, bias) + o_proj of 2 layers
    assert all(torch.count_nonzero(p) == 0 for p in zero_started.values()), [
        n for n, p in zero_started.items() if p.any()
    ]
    for head in (model.det_head, model.lane_head):
        bias = head.classifier[-1].bias
        torch.testing.assert_close(bias.sigmoid(), torch.full_like(bias, 0.01))
    # The image tokens carry 3D embeddings, which start at zero: InternVL's logits over them are unchanged.
    batch = make_batch(text_lengths=(4,))
    torch.testing.assert_close(
        logits_through_the_images(model, batch, driving=True),
        logits_through_the_images(model, batch, driving=False),
        rtol=0,
        atol=1e-5,
    )
    with torch.no_grad():
        model.image_position.head.to_key.weight.normal_(std=0.5)
    assert not torch.allclose(
        logits_through_the_images(model, batch, driving=True),
        logits_through_the_images(model, batch, driving=False),
        atol=1e-3,
    )
