"""Intrinsics after resize / crop describe the processed pixels.

Two checks: (1) a 3D point projected with the original K, mapped by the box's relative
position, lands where the updated K projects it; (2) independent of any formula, a
blob drawn at a point's projection in the original image is found (centroid) at the
updated K's projection in the processed pixels PIL produced.
"""

import numpy as np
import pytest
from PIL import Image

from onedrive.model.image_processing_onedrive import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CropBox,
    crop_resize_image,
    crop_resize_intrinsics,
    random_crop_box,
)

WIDTH, HEIGHT = 160, 96
OUT_HW = (56, 112)
BOXES = [
    CropBox.full(WIDTH, HEIGHT),  # plain (anisotropic) resize
    CropBox(30.0, 20.0, 70.0, 40.0),  # 2.8× upscaling crop: a half-pixel error shows as ~1 px
    CropBox(12.3, 7.9, 141.7, 90.2),  # sub-pixel box
]


def project(intrinsics: np.ndarray, cam2ego: np.ndarray, point_ego: np.ndarray) -> np.ndarray:
    point_cam = np.linalg.inv(cam2ego) @ np.append(point_ego, 1.0)
    assert point_cam[2] > 0, "point must be in front of the camera"
    uvw = intrinsics @ point_cam[:3]
    return uvw[:2] / uvw[2]


def back_project(intrinsics: np.ndarray, cam2ego: np.ndarray, box: CropBox, depth: float) -> np.ndarray:
    """Ego-frame point at ``depth`` seen at 40 % / 60 % of the box (centre-convention pixels)."""
    u = box.left + 0.4 * (box.right - box.left) - 0.5
    v = box.top + 0.6 * (box.bottom - box.top) - 0.5
    point_cam = depth * np.linalg.solve(intrinsics, [u, v, 1.0])
    return (cam2ego @ np.append(point_cam, 1.0))[:3]


def blob_image(centre: np.ndarray, sigma: float = 2.5) -> Image.Image:
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]  # pixel centres at integer coordinates
    blob = np.exp(-((cols - centre[0]) ** 2 + (rows - centre[1]) ** 2) / (2 * sigma**2))
    return Image.fromarray(np.repeat((blob * 255).round().astype(np.uint8)[:, :, None], 3, axis=2))


def centroid(gray: np.ndarray, near: np.ndarray, radius: int) -> np.ndarray:
    rows, cols = np.mgrid[0 : gray.shape[0], 0 : gray.shape[1]]
    window = (np.abs(cols - near[0]) <= radius) & (np.abs(rows - near[1]) <= radius)
    weight = np.where(window, np.clip(gray, 0, None), 0.0)
    assert weight.sum() > 0, f"no blob near {near}"
    return np.array([(weight * cols).sum(), (weight * rows).sum()]) / weight.sum()


@pytest.mark.parametrize("box", BOXES)
def test_projection_maps_with_the_box(records, box):
    intrinsics, cam2ego = records.intrinsics(WIDTH, HEIGHT), records.cam2ego(0.0)
    new_intrinsics = crop_resize_intrinsics(intrinsics, box, OUT_HW)
    rng = np.random.default_rng(0)
    for point in np.c_[rng.uniform(5, 40, 20), rng.uniform(-3, 3, 20), rng.uniform(0, 3, 20)]:
        u, v = project(intrinsics, cam2ego, point)
        relative_u = (u + 0.5 - box.left) / (box.right - box.left)  # 0 / 1 at the box's outer pixel edges
        relative_v = (v + 0.5 - box.top) / (box.bottom - box.top)
        expected = np.array([relative_u * OUT_HW[1] - 0.5, relative_v * OUT_HW[0] - 0.5])
        np.testing.assert_allclose(project(new_intrinsics, cam2ego, point), expected, atol=1e-9)


@pytest.mark.parametrize("box", BOXES)
def test_blob_lands_at_the_updated_projection(records, box):
    intrinsics, cam2ego = records.intrinsics(WIDTH, HEIGHT), records.cam2ego(0.0)
    point = back_project(intrinsics, cam2ego, box, depth=12.0)  # ego frame, seen inside the box
    original_uv = project(intrinsics, cam2ego, point)
    processed = np.asarray(crop_resize_image(blob_image(original_uv), box, OUT_HW), dtype=np.float64)[:, :, 0]
    expected_uv = project(crop_resize_intrinsics(intrinsics, box, OUT_HW), cam2ego, point)
    scale = OUT_HW[1] / (box.right - box.left)
    found = centroid(processed, expected_uv, radius=int(np.ceil(4 * 2.5 * scale)))
    np.testing.assert_allclose(found, expected_uv, atol=0.1)


def test_processor_augmentation_updates_intrinsics(processor, records):
    """Through the processor: random crops per camera, blob found from the pixel values."""
    intrinsics = np.tile(records.intrinsics(WIDTH, HEIGHT), (6, 1, 1))
    cam2ego = np.stack([records.cam2ego(0.0)] * 6)
    point = np.array([15.0, -0.3, 1.0])
    images = [blob_image(project(intrinsics[0], cam2ego[0], point))] * 6
    sample = processor(images, intrinsics, cam2ego, "Where?", augment=True, rng=np.random.default_rng(3))
    rows, cols = processor.camera_tiles
    size = processor.tile_size
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    tiles = sample.pixel_values.numpy().reshape(6, processor.tiles_per_camera, 3, size, size)
    assert not np.allclose(sample.intrinsics[0].numpy(), sample.intrinsics[1].numpy())  # independent crops
    for camera in range(6):
        grid = tiles[camera, : rows * cols].reshape(rows, cols, 3, size, size)
        image = grid.transpose(0, 3, 1, 4, 2).reshape(rows * size, cols * size, 3)  # (H, W, 3) from row-major tiles
        red = (image[:, :, 0] * std[0] + mean[0]) * 255.0
        expected_uv = project(sample.intrinsics[camera].double().numpy(), cam2ego[camera], point)
        np.testing.assert_allclose(centroid(red, expected_uv, radius=12), expected_uv, atol=0.1)


def test_random_crop_box_stays_inside_the_image():
    rng = np.random.default_rng(0)
    for _ in range(200):
        box = random_crop_box((HEIGHT, WIDTH), (0.3, 1.0), (0.5, 2.0), rng)
        assert 0 <= box.left < box.right <= WIDTH and 0 <= box.top < box.bottom <= HEIGHT
        area = (box.right - box.left) * (box.bottom - box.top) / (WIDTH * HEIGHT)
        assert area <= 1.0 + 1e-9
