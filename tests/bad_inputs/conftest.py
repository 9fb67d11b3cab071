"""What a bad-input case builds its input in: a temporary folder and small shared builders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass
class Workspace:
    tmp: Path

    def write_json(self, relative: str, document) -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        return path

    def write_text(self, relative: str, text: str) -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


    def info_record(self, token: str, **overrides) -> dict:
        """A hand-written nuScenes info record (docs/design.md §4): a straight 3 s future at 5 m/s, one car beside
        the path, a wide road, one QA turn; ``overrides`` replace keys."""
        record = {
            "token": token, "scene_token": "scene", "ego2global": np.eye(4).tolist(), "command": 2,
            "ego_status": [5.0, 0.0, 0.0, 0.0, 0.0, 5.0],
            "ego_fut_traj": [[2.5 * step, 0.0] for step in range(1, 7)], "ego_fut_mask": [1] * 6, "fut_valid": True,
            "gt_boxes": [[10.0, 4.0, 0.0, 4.0, 2.0, 1.5, 0.0, 0.0, 0.0]], "gt_names": ["car"],
            "gt_fut_traj": [[[10.0, 4.0]] * 6], "gt_fut_yaw": [[0.0] * 6], "gt_fut_mask": [[1] * 6],
            "lanes": [], "drivable_area": [{"exterior": [[-50, -10], [50, -10], [50, 10], [-50, 10]], "holes": []}],
            "qa": [{"question": "What should the ego do?", "answer": "Go straight.", "type": "plan"}],
        }
        record.update(overrides)
        return record

    def write_infos(self, relative: str, records: list[dict], **metadata) -> Path:
        """An info file ``{"metadata": ..., "infos": records}`` (nuScenes metadata unless overridden)."""
        return self.write_json(relative, {"metadata": {"dataset": "nuscenes", "split": "val", **metadata},
                                          "infos": records})

    def write_planning(self, relative: str, records: list[dict]) -> Path:
        """A planning.json that predicts every record's ground-truth future."""
        return self.write_json(relative, {r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records})


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
