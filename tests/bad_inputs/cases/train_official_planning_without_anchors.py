"""tools/train.py on training infos written without the planning mode anchors."""

from pathlib import Path

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("planning queries take their mode anchors", "no plan_mode_anchors", "create_data.py")

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "demo" / "demo_stage1_perception.py"


def arguments(workspace) -> list[str]:
    record = {"token": "t0", "cams": {}, "qa": [{"question": "q", "answer": "a", "type": "description"}]}
    workspace.write_json(
        "data/infos/nuscenes_infos_synthetic_train.json", {"metadata": {"dataset": "nuscenes"}, "infos": [record]}
    )
    return [
        str(CONFIG),
        "--set",
        f"data.root={workspace.tmp / 'data'}",
        "--set",
        f"train.output_dir={workspace.tmp / 'run'}",
    ]
