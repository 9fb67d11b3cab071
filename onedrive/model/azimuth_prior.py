"""Azimuth attention prior: a detection query looks first at the image tokens in its own direction.

The learned 3D embeddings (``position_3d.py``) start at zero and are slow to find where a
query should look; on the demo's tiny model, detection had not started after 4,000 steps
without this prior, and did with it (README, "Detection"). The prior adds a fixed kernel of
the azimuth difference Δθ to the attention logit between a detection query and an image
token, in every head of every layer:

    bias(Δθ) = s² Σ_{m=1..M} cos(m Δθ) / √d      (a Dirichlet kernel, largest at Δθ = 0)

θ is measured around the camera rig's centre (the mean camera position, per sample): of the
query's reference point, and of the token's viewing ray. It is written as harmonics
``s·[cos mθ, sin mθ]`` (M = head_dim / 2) added to the detection queries' attention
queries and to the image tokens' keys, after RoPE, beside the learned 3D embeddings;
``s`` makes the peak ``azimuth_prior_logit``. The query side also enters the perception
queries' own self-attention, where it favours queries at a similar azimuth.

Not a no-op at initialisation: every query that reads the image tokens (text, image tokens)
sees the changed keys too. That is why it is off by default (``azimuth_prior_logit = 0``)
and on in the demo configs (``DEMO_TASK`` in ``configs/demo/demo_stage1_perception.py``),
whose InternVL is random. A learned gate on the key side, starting at zero, would keep the
pretrained logits; tried on the demo, it went negative (−0.24 after 2,000 steps; every
query reading the image tokens pulls on it, not only the detection queries) and det/mAP was
0.002 instead of 0.004 with the fixed prior.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from onedrive.model.configuration_onedrive import OneDriveConfig, attention_head_dim


def rig_centre(cam2ego: torch.Tensor) -> torch.Tensor:
    """(B, N_cam, 4, 4) camera-to-ego transforms → (B, 2) mean camera position in the ego x-y plane."""
    return cam2ego[..., :2, 3].mean(dim=1)


class AzimuthPrior(nn.Module):
    def __init__(self, config: OneDriveConfig):
        super().__init__()
        text = config.text_config
        head_dim = attention_head_dim(text)
        self.num_heads = text.num_attention_heads
        self.num_kv_heads = text.num_key_value_heads
        self.harmonics = head_dim // 2
        peak = config.task_config.azimuth_prior_logit
        self.scale = math.sqrt(peak * math.sqrt(head_dim) / self.harmonics)

    def embed(self, xy: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Points (B, ..., 2) in ego metres, centre (B, 2) → harmonics of their azimuth (B, ..., 2M), float32."""
        offset = xy.float() - centre.float().view(centre.shape[0], *([1] * (xy.dim() - 2)), 2)
        theta = torch.atan2(offset[..., 1], offset[..., 0])  # (B, ...)
        orders = torch.arange(1, self.harmonics + 1, device=xy.device, dtype=torch.float32)  # (M,)
        angles = theta[..., None] * orders  # (B, ..., M)
        return torch.cat([angles.cos(), angles.sin()], dim=-1) * self.scale

    def queries(self, reference_metres: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Detection reference points (N_det, 3) or (B, N_det, 3) in metres → query embeddings
        (B, N_det, heads × head_dim)."""
        points = reference_metres[..., :2].expand(centre.shape[0], -1, -1)  # (B, N, 2)
        harmonics = self.embed(points, centre)  # (B, N, 2M)
        return harmonics.repeat(1, 1, self.num_heads)

    def keys(self, frustum_metres: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Frustum points (B, N_cam, T_cam, D, 3) in metres → key embeddings (B, N_cam·T_cam, kv_heads × head_dim).

        A token's viewing ray is the line through its frustum points; its farthest point fixes the azimuth.
        """
        batch, cams, tokens = frustum_metres.shape[:3]
        harmonics = self.embed(frustum_metres[..., -1, :2], centre)  # (B, N_cam, T_cam, 2M)
        return harmonics.reshape(batch, cams * tokens, -1).repeat(1, 1, self.num_kv_heads)
