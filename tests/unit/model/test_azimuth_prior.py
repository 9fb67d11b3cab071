"""The azimuth attention prior: a Dirichlet kernel of the azimuth between detection queries and image tokens."""

import math

import torch
from model_helpers import load_onedrive, logits_through_the_images, make_batch, make_camera

from onedrive.model.azimuth_prior import rig_centre
from onedrive.model.queries import initial_det_reference_points

PEAK = 5.0


def test_prior_leaves_the_vlm_path_alone_and_changes_the_image_keys_in_driving_mode(internvl_dir):
    """Without driving inputs the model is InternVL; with them the image tokens' keys carry the harmonics."""
    plain, prior = load_onedrive(internvl_dir), load_onedrive(internvl_dir, azimuth_prior_logit=PEAK)
    batch = make_batch(text_lengths=(4,))
    torch.testing.assert_close(
        logits_through_the_images(prior, batch, driving=False),
        logits_through_the_images(plain, batch, driving=False),
        rtol=0,
        atol=1e-6,
    )
    assert not torch.allclose(
        logits_through_the_images(prior, batch, driving=True),
        logits_through_the_images(prior, batch, driving=False),
        atol=1e-3,
    )


def test_prior_adds_the_dirichlet_kernel_of_the_azimuth_difference(internvl_dir):
    model = load_onedrive(internvl_dir, azimuth_prior_logit=PEAK)
    prior = model.azimuth_prior
    head_dim = model.config.text_config.hidden_size // model.config.text_config.num_attention_heads
    centre = rig_centre(make_camera(1).cam2ego)  # (1, 2): both test cameras sit at (1, 0)
    assert centre.tolist() == [[1.0, 0.0]]
    query_azimuth = 0.7
    query_point = torch.tensor([[1 + 8 * math.cos(query_azimuth), 8 * math.sin(query_azimuth), 0.5]])  # (1, 3) metres
    token_azimuths = torch.linspace(-math.pi, math.pi, 73)[:-1]  # (72,)
    far = torch.stack([1 + 50 * token_azimuths.cos(), 50 * token_azimuths.sin(), torch.zeros(72)], dim=-1)
    frustum = torch.stack([far * 0.1, far], dim=-2)[None, None]  # (1, 1, 72, D=2, 3): rays through the centre
    queries = prior.queries(query_point, centre).view(1, 1, -1, head_dim)  # (1, 1, heads, d)
    keys = prior.keys(frustum, centre).view(1, 72, -1, head_dim)  # (1, 72, kv_heads, d)
    logits = torch.einsum("bqhd,bkd->bhqk", queries, keys[:, :, 0]) / math.sqrt(head_dim)  # (1, heads, 1, 72)
    harmonics = torch.arange(1, head_dim // 2 + 1)
    dirichlet = torch.cos((token_azimuths - query_azimuth)[:, None] * harmonics).sum(-1)  # (72,)
    expected = PEAK * dirichlet / (head_dim // 2)
    for head in range(logits.shape[1]):
        torch.testing.assert_close(logits[0, head, 0], expected, rtol=0, atol=1e-4)
    assert abs(logits[0, 0, 0].max().item() - PEAK) < 0.05  # nearest token, 5° grid
    nearest = int((token_azimuths - query_azimuth).abs().argmin())
    assert int(logits[0, 0, 0].argmax()) == nearest
    assert torch.equal(keys[:, :, 0], keys[:, :, -1])  # every kv head carries the same harmonics


def test_no_prior_by_default(internvl_dir):
    model = load_onedrive(internvl_dir)
    assert model.azimuth_prior is None
    assert not any(name.startswith("azimuth_prior.") for name in model.state_dict())


def test_detection_reference_points_start_evenly_spread_over_the_disc(internvl_dir):
    position_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
    points = initial_det_reference_points(256, position_range)  # (256, 3) normalised
    radius = (points[:, :2] - 0.5).norm(dim=-1)
    assert radius.max() <= 0.48 and radius.min() > 0
    metres_z = points[:, 2] * 8.0 - 5.0
    torch.testing.assert_close(metres_z, torch.ones(256))
    gaps = torch.cdist(points[:, :2], points[:, :2]).fill_diagonal_(1.0).min(dim=1).values  # nearest neighbour
    assert gaps.max() / gaps.min() < 2.5  # even: uniform random points give ratios of 10 and more
    model = load_onedrive(internvl_dir, num_det_queries=16, det_reference_init="sunflower")
    expected = initial_det_reference_points(16, model.config.task_config.position_range)
    torch.testing.assert_close(model.queries.det_reference_points(), expected, rtol=0, atol=1e-5)
