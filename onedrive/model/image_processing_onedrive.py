"""Camera images → InternVL ViT tiles, with the intrinsics kept consistent.

Pixel convention (OpenCV / nuScenes): integer pixel coordinates are pixel *centres*, so
an image of width W spans ``[-0.5, W - 0.5]`` in the coordinates the intrinsics ``K``
project to. PIL resamples in *edge* coordinates (the image spans ``[0, W]``, output
pixel ``j`` samples the source at ``box_left + (j + 0.5) · scale``). A crop box
``(left, top, right, bottom)`` in edge coordinates resized to ``(H', W')`` therefore maps
a centre-convention point ``u`` to ``u' = s_x · (u + 0.5 − left) − 0.5`` with
``s_x = W' / (right − left)`` (same for ``v``), i.e. ``K' = A · K`` with

    A = [[s_x, 0,   s_x · (0.5 − left) − 0.5],
         [0,   s_y, s_y · (0.5 − top)  − 0.5],
         [0,   0,   1                        ]]

Plain resizing is the box ``(0, 0, W, H)``. The tiles follow InternVL's
``dynamic_preprocess`` order (OpenGVLab/InternVL ``internvl_chat/internvl/train/dataset.py``):
the ``rows × cols`` grid in row-major order, then a thumbnail (the processed image
resized to one tile), bicubic resampling, ImageNet mean / std normalisation.
Only PIL + numpy (no torchvision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class CropBox:
    """Source region in PIL edge coordinates (pixels; the image spans [0, W] × [0, H])."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def full(cls, width: int, height: int) -> CropBox:
        return cls(0.0, 0.0, float(width), float(height))

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.left, self.top, self.right, self.bottom)


def crop_resize_matrix(box: CropBox, out_hw: tuple[int, int]) -> np.ndarray:
    """(3, 3) affine map from source to output pixel coordinates (centre convention)."""
    out_h, out_w = out_hw
    scale_x = out_w / (box.right - box.left)
    scale_y = out_h / (box.bottom - box.top)
    return np.array(
        [
            [scale_x, 0.0, scale_x * (0.5 - box.left) - 0.5],
            [0.0, scale_y, scale_y * (0.5 - box.top) - 0.5],
            [0.0, 0.0, 1.0],
        ]
    )


def crop_resize_intrinsics(intrinsics: np.ndarray, box: CropBox, out_hw: tuple[int, int]) -> np.ndarray:
    """Intrinsics (3, 3) of the image cropped to ``box`` and resized to ``out_hw``."""
    return crop_resize_matrix(box, out_hw) @ intrinsics


def crop_resize_image(image: Image.Image, box: CropBox, out_hw: tuple[int, int]) -> Image.Image:
    """Crop ``box`` (sub-pixel allowed) and resize it to ``out_hw`` = (H, W), bicubic."""
    out_h, out_w = out_hw
    return image.resize((out_w, out_h), resample=Image.Resampling.BICUBIC, box=box.as_tuple())


def random_crop_box(
    image_hw: tuple[int, int],
    scale: tuple[float, float],
    ratio: tuple[float, float],
    rng: np.random.Generator,
) -> CropBox:
    """A random crop covering ``scale`` of the image area, aspect = image aspect × ``ratio``.

    Area fraction is uniform in ``scale``, the aspect factor log-uniform in ``ratio``;
    the box is clamped to the image and placed uniformly. Like torchvision's
    ``RandomResizedCrop`` but relative to the image's own aspect, so the crop resized
    to the processed size is distorted as little as the plain resize.
    """
    height, width = image_hw
    area = rng.uniform(*scale) * height * width
    aspect = (width / height) * math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
    crop_w = min(float(width), math.sqrt(area * aspect))
    crop_h = min(float(height), math.sqrt(area / aspect))
    left = rng.uniform(0.0, width - crop_w)
    top = rng.uniform(0.0, height - crop_h)
    return CropBox(left, top, left + crop_w, top + crop_h)


def image_to_tiles(
    image: Image.Image,
    tile_size: int,
    grid: tuple[int, int],
    use_thumbnail: bool,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
) -> np.ndarray:
    """Processed RGB image of size (rows·S, cols·S) → normalised tiles (T, 3, S, S) float32.

    T = rows · cols (row-major) + 1 thumbnail when ``use_thumbnail``. Normalisation
    ``(value / 255 − mean) / std`` goes through a 256-entry table per channel (exact,
    and several times faster than float arithmetic on the whole image).
    """
    rows, cols = grid
    expected = (cols * tile_size, rows * tile_size)
    if image.size != expected:
        raise ValueError(f"image to tile must be {expected} (W, H) for a {rows}×{cols} grid, got {image.size}")
    views = [image]
    if use_thumbnail:
        views.append(image.resize((tile_size, tile_size), resample=Image.Resampling.BICUBIC))
    levels = np.arange(256, dtype=np.float32)[:, None] / 255.0  # (256, 1)
    table = (levels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)  # (256, 3)
    tiles = np.empty((rows * cols + int(use_thumbnail), 3, tile_size, tile_size), dtype=np.float32)  # (T, 3, S, S)
    first = 0
    for view in views:
        pixels = np.asarray(view)  # (r·S, c·S, 3) uint8
        view_rows, view_cols = pixels.shape[0] // tile_size, pixels.shape[1] // tile_size
        grid_view = pixels.reshape(view_rows, tile_size, view_cols, tile_size, 3)  # (r, S, c, S, 3)
        view_tiles = grid_view.transpose(0, 2, 4, 1, 3).reshape(-1, 3, tile_size, tile_size)  # (r·c, 3, S, S)
        for channel in range(3):
            tiles[first : first + len(view_tiles), channel] = table[:, channel][view_tiles[:, channel]]
        first += len(view_tiles)
    return tiles
