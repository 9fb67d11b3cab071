"""The BEV range as geometry: its rectangle in the ego frame and the global patch
that covers it (the map API searches axis-aligned global rectangles)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from onedrive.data.nuscenes.geometry import transform_points


def check_bev_range(bev_range: Sequence[float]) -> tuple[float, ...]:
    """``[x_min, y_min, z_min, x_max, y_max, z_max]`` with each min < max."""
    values = tuple(float(v) for v in bev_range)
    if len(values) != 6 or any(low >= high for low, high in zip(values[:3], values[3:])):
        raise ValueError(
            f"bev_range must be [x_min, y_min, z_min, x_max, y_max, z_max] with min < max, got {bev_range}"
        )
    return values


def bev_rectangle(bev_range: Sequence[float]) -> shapely.Polygon:
    """The BEV range's x-y rectangle in the ego frame."""
    x_min, y_min, _, x_max, y_max, _ = bev_range
    return shapely.box(x_min, y_min, x_max, y_max)


def global_patch(ego2global: np.ndarray, bev_range: Sequence[float]) -> tuple[float, float, float, float]:
    """Axis-aligned global ``(x_min, y_min, x_max, y_max)`` covering the rotated BEV rectangle."""
    x_min, y_min, _, x_max, y_max, _ = bev_range
    corners = np.array([[x_min, y_min, 0.0], [x_min, y_max, 0.0], [x_max, y_min, 0.0], [x_max, y_max, 0.0]])
    corners_global = transform_points(ego2global, corners)  # (4, 3)
    low, high = corners_global[:, :2].min(axis=0), corners_global[:, :2].max(axis=0)
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def global_to_ego_affine(global2ego: np.ndarray) -> list[float]:
    """Shapely ``affine_transform`` coefficients mapping global ground points (z = 0)
    to ego-frame x, y: ``[a, b, d, e, x_off, y_off]``."""
    return [
        global2ego[0, 0],
        global2ego[0, 1],
        global2ego[1, 0],
        global2ego[1, 1],
        global2ego[0, 3],
        global2ego[1, 3],
    ]
