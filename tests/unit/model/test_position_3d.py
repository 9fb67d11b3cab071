"""3D position embeddings: frustum geometry of the image tokens."""

import torch
from model_helpers import load_onedrive, make_camera

from onedrive.model.position_3d import image_token_pixel_centres, invert_3x3


def test_token_pixel_centres_follow_tiles_then_thumbnail(internvl_dir):
    config = load_onedrive(internvl_dir).config
    centres = image_token_pixel_centres(config, (56, 112))
    assert centres.shape == (12, 2)
    assert centres[:4].tolist() == [[14, 14], [42, 14], [14, 42], [42, 42]]  # left tile, row-major
    assert centres[4:8].tolist() == [[70, 14], [98, 14], [70, 42], [98, 42]]  # right tile
    assert centres[8:].tolist() == [[28, 14], [84, 14], [28, 42], [84, 42]]  # thumbnail of the whole image


def test_frustum_points_lie_on_the_pixel_rays(internvl_dir):
    encoder = load_onedrive(internvl_dir).image_position
    camera = make_camera(1)
    points = encoder.frustum_points(camera.intrinsics, camera.cam2ego, camera.image_hw)  # (1, 2, 12, D, 3)
    depths = encoder.depths()
    # Front camera, token at pixel (42, 14): ray (u - cx, v - cy, f) / f = (-14, -14, 40) / 40 in OpenCV axes.
    expected = torch.tensor([1.0, 0.0, 1.5]) + depths[:, None] * torch.tensor([1.0, 14 / 40, 14 / 40])
    torch.testing.assert_close(points[0, 0, 1], expected)
    # Back camera looks the other way: x decreases with depth.
    assert torch.all(points[0, 1, :, -1, 0] < 0)
    assert torch.all(depths[1:] > depths[:-1]) and abs(depths[0].item() - 1.0) < 1e-6


def test_closed_form_inverse_equals_linalg_inverse():
    generator = torch.Generator().manual_seed(0)
    intrinsics = torch.eye(3).repeat(2, 3, 1, 1)  # (B, N_cam, 3, 3)
    intrinsics[..., :2, :] += torch.rand(2, 3, 2, 3, generator=generator) * torch.tensor(
        [[800.0, 5.0, 900.0], [0.0, 800.0, 500.0]]
    )
    inverse = invert_3x3(intrinsics)
    torch.testing.assert_close(inverse, torch.linalg.inv(intrinsics.double()).float(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(inverse @ intrinsics, torch.eye(3).expand(2, 3, 3, 3), rtol=0, atol=1e-5)
    rotation = torch.linalg.qr(torch.randn(4, 3, 3, generator=generator)).Q  # a general (non-triangular) case
    torch.testing.assert_close(invert_3x3(rotation), rotation.transpose(-1, -2), rtol=0, atol=1e-5)


def test_the_official_ranges_are_the_defaults_and_the_image_frustum_uses_its_own(internvl_dir):
    """Image tokens' frustum points normalised over ±61.2 m / z ±10 m (64 depth bins from 1 to 61.2 m); the
    reference points of the det / lane queries keep the heads' range."""
    from onedrive.model.configuration_onedrive import OneDriveTaskConfig

    task = OneDriveTaskConfig()
    assert task.image_position_range == [-61.2, -61.2, -10.0, 61.2, 61.2, 10.0]
    assert task.position_range == [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
    assert (task.depth_range, task.depth_bins) == ([1.0, 61.2], 64)
    assert (task.num_det_queries, task.num_lane_queries) == (600, 600)
    encoder = load_onedrive(internvl_dir).image_position
    seen = []
    encoder.head.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    points = torch.tensor([56.0, -30.0, 8.0]).expand(1, 1, 1, 4, 3)  # (B, N_cam, T_cam, D, 3): beyond ±51.2 m / z 3 m
    encoder(points)
    expected = (torch.tensor([56.0, -30.0, 8.0]) + torch.tensor([61.2, 61.2, 10.0])) / torch.tensor(
        [122.4, 122.4, 20.0]
    )
    torch.testing.assert_close(seen[0].view(4, 3), expected.expand(4, 3))
