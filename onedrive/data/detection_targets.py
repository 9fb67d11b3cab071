"""Which annotated boxes of an info record are detection training targets.

One rule, used by ``DriveDataset`` (through ``record_targets``) and set in the experiment
config as ``data.detection_targets`` (``--set data.detection_targets.min_points=0``). A box
is a target when

* its name is one of the model's detection classes,
* its centre lies strictly inside ``bev_range`` ``(x_min, y_min, x_max, y_max)`` of the
  record's ego frame (mmdet3d's ``ObjectRangeFilter`` with the point-cloud range
  ``[-51.2, -51.2, -5, 51.2, 51.2, 3]`` of the official stage configs; ``None``: no range
  test), and
* it holds at least ``min_points`` lidar + radar points (``gt_num_lidar_pts`` +
  ``gt_num_radar_pts``; the official configs' ``use_valid_flag``, i.e. at least one point;
  ``0``: no test). A box whose counts are unknown (−1, NAVSIM records) passes this test.

The official configs filter boxes in the frame their info files store them in; here the
frame is the key frame's ego frame (``docs/design.md`` §4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_TARGET_RANGE = (-51.2, -51.2, 51.2, 51.2)


@dataclass
class DetectionTargets:
    """The target rule (module docstring)."""

    bev_range: tuple[float, float, float, float] | None = DEFAULT_TARGET_RANGE
    min_points: int = 1

    def __post_init__(self):
        if self.bev_range is not None:
            self.bev_range = tuple(float(v) for v in self.bev_range)
            if len(self.bev_range) != 4 or not (
                self.bev_range[0] < self.bev_range[2] and self.bev_range[1] < self.bev_range[3]
            ):
                raise ValueError(
                    f"detection_targets.bev_range must be (x_min, y_min, x_max, y_max) with min < max, "
                    f"got {self.bev_range}"
                )
        if self.min_points < 0:
            raise ValueError(f"detection_targets.min_points must be >= 0, got {self.min_points}")

    def keep(self, boxes: np.ndarray, num_points: np.ndarray) -> np.ndarray:
        """Boxes that pass the range and point tests. boxes (N, >= 2), num_points (N,) → (N,) bool.

        ``num_points``: lidar + radar points per box, negative when unknown.
        """
        keep = np.ones(len(boxes), dtype=bool)
        if self.bev_range is not None:
            x_min, y_min, x_max, y_max = self.bev_range
            x, y = boxes[:, 0], boxes[:, 1]
            keep &= (x > x_min) & (x < x_max) & (y > y_min) & (y < y_max)
        if self.min_points > 0:
            keep &= (num_points < 0) | (num_points >= self.min_points)
        return keep
