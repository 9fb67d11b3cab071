"""tools/train.py with a text loss on training infos that hold no QA turn (converted without --qa)."""

from pathlib import Path

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("text loss", "no record of", "has QA turns", "--qa")

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "demo" / "demo_stage1_perception.py"


def arguments(workspace) -> list[str]:
    record = {"token": "t0", "cams": {}, "qa": []}
    workspace.write_json("data/infos/nuscenes_infos_synthetic_train.json", {"metadata": {}, "infos": [record]})
    return [
        str(CONFIG),
        "--set",
        f"data.root={workspace.tmp / 'data'}",
        "--set",
        f"train.output_dir={workspace.tmp / 'run'}",
    ]
