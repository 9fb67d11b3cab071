"""3D positional embeddings added to queries and keys after RoPE (docs/design.md §1).

* Image tokens: PETR-style camera frustum. Each image token's pixel centre is lifted at
  ``depth_bins`` depths through the inverse intrinsics and the camera-to-ego transform,
  normalised to ``image_position_range`` and encoded by an MLP.
* Perception queries: their 3D reference points (one point per detection query, P
  points per lane query) through an MLP.
* Planning queries and text: no 3D embedding.

Every encoder reads normalised points through an inverse sigmoid (as PETR does) into an
MLP trunk that ends in a LayerNorm, so its features have unit scale whatever the
initialisation (with transformers' N(0, 0.02) layers and no norm they start ~100x
smaller and Adam's bounded steps keep the embedding near zero for hundreds of steps),
and ends in two zero-initialised projections, one for the attention queries
(``num_attention_heads × head_dim``) and one for the keys (``num_key_value_heads ×
head_dim``): at initialisation the embeddings are zero and the model computes exactly
what the pretrained VLM computes.
"""

from __future__ import annotations

import torch
from torch import nn

from onedrive.model.configuration_onedrive import OneDriveConfig, attention_head_dim
from onedrive.model.initial_values import ZeroLinear


def check_image_hw(config: OneDriveConfig, image_hw: tuple[int, int]) -> None:
    """The processed camera images must fill the configured tile grid exactly."""
    tile = config.vision_config.image_size[0]
    rows, cols = config.task_config.camera_tiles
    if tuple(image_hw) != (rows * tile, cols * tile):
        raise ValueError(
            f"camera images must be {rows * tile}x{cols * tile} (rows x cols tiles of {tile} px), "
            f"got image_hw {tuple(image_hw)}"
        )


def image_token_pixel_centres(config: OneDriveConfig, image_hw: tuple[int, int]) -> torch.Tensor:
    """Pixel centres ``(u, v)`` of one camera's image tokens, in token order → (T_cam, 2).

    A camera image of ``rows·S × cols·S`` pixels is cut into its tile grid (row-major),
    followed by the thumbnail (the whole image resized to S × S); after pixel shuffle a
    tile of S pixels holds ``g × g`` tokens in row-major order (g = sqrt(tokens_per_tile)).
    """
    check_image_hw(config, image_hw)
    task = config.task_config
    tile = config.vision_config.image_size[0]
    rows, cols = task.camera_tiles
    grid = int(round(config.tokens_per_tile**0.5))
    cell = (torch.arange(grid, dtype=torch.float32) + 0.5) * (tile / grid)  # (g,)
    v_in_tile, u_in_tile = torch.meshgrid(cell, cell, indexing="ij")  # (g, g)
    centres = []
    for row in range(rows):
        for col in range(cols):
            centres.append(torch.stack([u_in_tile + col * tile, v_in_tile + row * tile], dim=-1).reshape(-1, 2))
    if task.use_thumbnail:
        scale = torch.tensor([cols, rows], dtype=torch.float32)
        centres.append(torch.stack([u_in_tile, v_in_tile], dim=-1).reshape(-1, 2) * scale)
    return torch.cat(centres, dim=0)


def invert_3x3(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) → inverse, closed form (adjugate / determinant).

    Written out rather than ``torch.linalg.inv`` so that exported graphs keep it: ONNX has
    no matrix-inverse op. Call it in float32; a singular matrix gives inf/NaN.
    """
    a, b, c = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    d, e, f = matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2]
    g, h, i = matrix[..., 2, 0], matrix[..., 2, 1], matrix[..., 2, 2]
    adjugate = torch.stack(
        [
            torch.stack([e * i - f * h, c * h - b * i, b * f - c * e], dim=-1),
            torch.stack([f * g - d * i, a * i - c * g, c * d - a * f], dim=-1),
            torch.stack([d * h - e * g, b * g - a * h, a * e - b * d], dim=-1),
        ],
        dim=-2,
    )  # (..., 3, 3)
    determinant = a * adjugate[..., 0, 0] + b * adjugate[..., 1, 0] + c * adjugate[..., 2, 0]  # (...)
    return adjugate / determinant[..., None, None]


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Logit of values in [0, 1], clamped to [eps, 1 - eps] first (same shape)."""
    x = x.clamp(eps, 1 - eps)
    return torch.log(x / (1 - x))


def normalise_points(points: torch.Tensor, position_range: list[float]) -> torch.Tensor:
    """Metres in the ego frame (..., 3) → [0, 1] over ``position_range`` (clamped)."""
    low = points.new_tensor(position_range[:3])
    high = points.new_tensor(position_range[3:])
    return ((points - low) / (high - low)).clamp(0.0, 1.0)


def denormalise_points(points: torch.Tensor, position_range: list[float]) -> torch.Tensor:
    low = points.new_tensor(position_range[:3])
    high = points.new_tensor(position_range[3:])
    return points * (high - low) + low


class AttentionPositionHead(nn.Module):
    """MLP trunk → separate zero-initialised projections for attention queries and keys."""

    def __init__(self, in_features: int, config: OneDriveConfig):
        super().__init__()
        text = config.text_config
        head_dim = attention_head_dim(text)
        self.trunk = nn.Sequential(
            nn.Linear(in_features, text.hidden_size),
            nn.ReLU(),
            nn.Linear(text.hidden_size, text.hidden_size),
            nn.LayerNorm(text.hidden_size),
        )
        self.to_query = ZeroLinear(text.hidden_size, text.num_attention_heads * head_dim)
        self.to_key = ZeroLinear(text.hidden_size, text.num_key_value_heads * head_dim)

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """points (..., F) normalised coordinates in [0, 1] → query (..., H_q) and key (..., H_k) embeddings.

        The logit is taken in float32 (in bf16, 1 - 1e-5 rounds to 1 and the logit to inf)."""
        hidden = self.trunk(inverse_sigmoid(points.float()).to(self.to_query.weight.dtype))
        return self.to_query(hidden), self.to_key(hidden)


class FrustumPositionEncoder(nn.Module):
    """Image-token 3D embeddings from camera geometry (PETR's frustum points)."""

    def __init__(self, config: OneDriveConfig):
        super().__init__()
        self.config = config
        task = config.task_config
        self.head = AttentionPositionHead(task.depth_bins * 3, config)

    def depths(self) -> torch.Tensor:
        """PETR's linear-increasing depth bins (D,): the gap between bins grows linearly with depth.

        Computed on the fly (D numbers) rather than kept as a buffer, so loading never has to restore it.
        """
        task = self.config.task_config
        near, far = task.depth_range
        index = torch.arange(task.depth_bins, dtype=torch.float32)
        step = (far - near) / (task.depth_bins * (1 + task.depth_bins))
        return near + step * index * (index + 1)

    def frustum_points(self, intrinsics: torch.Tensor, cam2ego: torch.Tensor, image_hw) -> torch.Tensor:
        """(B, N_cam, 3, 3), (B, N_cam, 4, 4) → ego-frame points (B, N_cam, T_cam, D, 3)."""
        centres = image_token_pixel_centres(self.config, image_hw).to(intrinsics)  # (T_cam, 2)
        pixels = torch.cat([centres, torch.ones_like(centres[:, :1])], dim=-1)  # (T_cam, 3)
        rays = torch.einsum("bnij,tj->bnti", invert_3x3(intrinsics), pixels)  # (B, N_cam, T_cam, 3)
        depths = self.depths().to(rays.device)
        points_cam = rays[..., None, :] * depths[:, None]  # (B, N_cam, T_cam, D, 3)
        rotation, translation = cam2ego[..., :3, :3], cam2ego[..., :3, 3]
        return torch.einsum("bnij,bntdj->bntdi", rotation, points_cam) + translation[:, :, None, None, :]

    def forward(self, frustum_points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ego-frame points (B, N_cam, T_cam, D, 3) from ``frustum_points`` → query / key embeddings
        (B, N_cam * T_cam, H_q) and (B, N_cam * T_cam, H_k), token order."""
        points = normalise_points(frustum_points, self.config.task_config.image_position_range)
        batch, cams, tokens = points.shape[:3]
        features = points.reshape(batch, cams * tokens, -1)  # (B, N_cam * T_cam, D * 3)
        return self.head(features)


class ReferencePointEncoder(nn.Module):
    """Query 3D embeddings from normalised reference points (B, Q, K, 3) → (B, Q, H_q), (B, Q, H_k)."""

    def __init__(self, points_per_query: int, config: OneDriveConfig):
        super().__init__()
        self.head = AttentionPositionHead(points_per_query * 3, config)

    def forward(self, reference_points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(reference_points.flatten(-2))
