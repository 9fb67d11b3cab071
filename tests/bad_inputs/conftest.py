"""What a bad-input case builds its input in: a temporary folder and small shared builders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from checkpoint_files import write_checkpoint
from plan_query_helpers import anchors

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo" / "demo_stage1_perception.py"
CASE_VERSION = "v1.0-case"  # version folder of the hand-written nuScenes data (``nuscenes``)


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

    def write_bytes(self, relative: str, content: bytes) -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def train_config(self, relative: str = "config.py") -> Path:
        """A tiny experiment config (``tiny_experiment``) whose checks pass: data root, an info file, output ``out/``.

        The info file holds one record with a QA turn and hand-made planning mode anchors: enough for the config
        checks (a text loss needs QA, the planning queries anchors), which run before the resume checkpoint is
        checked; nothing else in it is read.
        """
        data = self.tmp / "data"
        record = {"token": "t0", "qa": [{"question": "q", "answer": "a", "type": "description"}]}
        metadata = {"dataset": "nuscenes", "plan_mode_anchors": anchors(3, 2)}
        self.write_json("data/infos/tiny_infos_train.json", {"metadata": metadata, "infos": [record]})
        return self.write_text(
            relative,
            "from tiny_run import tiny_experiment\n\n\n"
            f"def build():\n    return tiny_experiment({str(data)!r}, {str(self.tmp / 'out')!r})\n",
        )

    def checkpoint(
        self, relative: str = "out/checkpoint-2", omit: tuple[str, ...] = (), truncate: tuple[str, ...] = ()
    ) -> Path:
        """A Trainer ``checkpoint-N`` folder (``tests/helpers/checkpoint_files``) without ``omit``, ``truncate`` cut short."""
        return write_checkpoint(self.tmp / relative, omit=omit, truncate=truncate)

    def nuscenes(self, **options) -> Path:
        """A hand-written nuScenes folder (``nuscenes``); returns the data root."""
        return nuscenes(self, **options)

    def info_record(self, token: str, **overrides) -> dict:
        """A hand-written nuScenes info record (docs/design.md §4): a straight 3 s future at 5 m/s, one car beside
        the path, a wide road, one QA turn; ``overrides`` replace keys."""
        record = {
            "token": token,
            "scene_token": "scene",
            "ego2global": np.eye(4).tolist(),
            "command": 2,
            "ego_status": [5.0, 0.0, 0.0, 0.0, 0.0, 5.0],
            "ego_fut_traj": [[2.5 * step, 0.0] for step in range(1, 7)],
            "ego_fut_mask": [1] * 6,
            "fut_valid": True,
            "gt_boxes": [[10.0, 4.0, 0.0, 4.0, 2.0, 1.5, 0.0, 0.0, 0.0]],
            "gt_names": ["car"],
            "gt_fut_traj": [[[10.0, 4.0]] * 6],
            "gt_fut_yaw": [[0.0] * 6],
            "gt_fut_mask": [[1] * 6],
            "obstacle_boxes": [[10.0, 4.0, 0.0, 4.0, 2.0, 1.5, 0.0]],
            "obstacle_categories": ["vehicle.car"],
            "obstacle_fut_traj": [[[10.0, 4.0]] * 6],
            "obstacle_fut_yaw": [[0.0] * 6],
            "obstacle_fut_mask": [[1] * 6],
            "lanes": [],
            "drivable_area": [{"exterior": [[-50, -10], [50, -10], [50, 10], [-50, 10]], "holes": []}],
            "qa": [{"question": "What should the ego do?", "answer": "Go straight.", "type": "plan"}],
        }
        record.update(overrides)
        return record

    def write_infos(self, relative: str, records: list[dict], **metadata) -> Path:
        """An info file ``{"metadata": ..., "infos": records}`` (nuScenes metadata unless overridden)."""
        return self.write_json(
            relative, {"metadata": {"dataset": "nuscenes", "split": "val", **metadata}, "infos": records}
        )

    def write_planning(self, relative: str, records: list[dict]) -> Path:
        """A planning.json that predicts every record's ground-truth future."""
        return self.write_json(relative, {r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records})

    def eval_argv(self, infos: Path, *options: str) -> list[str]:
        """tools/eval.py arguments scoring the folder ``predictions/`` on the info file ``infos``, outputs in
        ``out/``, then ``options``."""
        return [
            "--predictions",
            str(self.tmp / "predictions"),
            "--infos",
            str(infos),
            "--out",
            str(self.tmp / "out"),
            *options,
        ]

    def eval_config_argv(self, *options: str) -> list[str]:
        """tools/eval.py arguments scoring the folder ``predictions/`` on the split of the demo stage-1 config
        (``DEMO_CONFIG``), outputs in ``out/``, then ``options`` (e.g. ``--set data.root=...``)."""
        return [
            str(DEMO_CONFIG),
            "--predictions",
            str(self.tmp / "predictions"),
            "--out",
            str(self.tmp / "out"),
            *options,
        ]

    def create_data_argv(self, *options: str, **nuscenes_options) -> list[str]:
        """tools/create_data.py arguments converting the hand-written nuScenes folder ``nuscenes(**nuscenes_options)``
        into ``infos/``, then ``options``."""
        root = self.nuscenes(**nuscenes_options)
        version = nuscenes_options.get("version", CASE_VERSION)
        return ["nuscenes", "--data-root", str(root), "--version", version, "--out", str(self.tmp / "infos"), *options]


# Every table NuScenes() loads; nuscenes() leaves the ones it does not fill empty.
NUSCENES_TABLES = (
    "category",
    "attribute",
    "visibility",
    "instance",
    "sensor",
    "calibrated_sensor",
    "ego_pose",
    "sample_data",
    "sample_annotation",
)
# Layers NuScenesMap (map expansion v1.3) reads from a map file; nuscenes() writes them empty.
MAP_LAYERS = (
    "polygon",
    "line",
    "node",
    "drivable_area",
    "road_segment",
    "road_block",
    "lane",
    "ped_crossing",
    "walkway",
    "stop_line",
    "carpark_area",
    "lane_connector",
    "road_divider",
    "lane_divider",
    "traffic_light",
    "arcline_path_3",
    "connectivity",
)


def nuscenes(
    workspace: Workspace,
    version: str = CASE_VERSION,
    first_sample: str = "sample-0",
    log: str = "log-0",
    map_without: tuple[str, ...] = (),
) -> Path:
    """A hand-written nuScenes folder: one scene (``scene-0001``, split ``case`` in splits.json) of one key frame
    in boston-seaport, pointing at ``first_sample`` and ``log``, and a map expansion without ``map_without``."""
    root = workspace.tmp / "nuscenes"
    for table in NUSCENES_TABLES:
        workspace.write_json(f"nuscenes/{version}/{table}.json", [])
    workspace.write_json(
        f"nuscenes/{version}/log.json",
        [
            {
                "token": "log-0",
                "logfile": "n015-2018-07-24",
                "vehicle": "n015",
                "date_captured": "2018-07-24",
                "location": "boston-seaport",
            }
        ],
    )
    workspace.write_json(
        f"nuscenes/{version}/map.json",
        [{"token": "map-0", "log_tokens": ["log-0"], "category": "semantic_prior", "filename": ""}],
    )
    workspace.write_json(
        f"nuscenes/{version}/sample.json",
        [{"token": "sample-0", "timestamp": 1_530_000_000_000_000, "prev": "", "next": "", "scene_token": "scene-0"}],
    )
    workspace.write_json(
        f"nuscenes/{version}/scene.json",
        [
            {
                "token": "scene-0",
                "log_token": log,
                "nbr_samples": 1,
                "first_sample_token": first_sample,
                "last_sample_token": "sample-0",
                "name": "scene-0001",
                "description": "",
            }
        ],
    )
    workspace.write_json(f"nuscenes/{version}/splits.json", {"case": ["scene-0001"]})
    layers = {layer: [] for layer in MAP_LAYERS if layer not in map_without}
    workspace.write_json(
        "nuscenes/maps/expansion/boston-seaport.json", {"version": "1.3", "canvas_edge": [100.0, 100.0], **layers}
    )
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
