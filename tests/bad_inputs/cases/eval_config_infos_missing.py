"""tools/eval.py CONFIG --predictions P where the config's info file of the evaluation split does not exist."""

from pathlib import Path

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("nuscenes_infos_synthetic_val.json", "not found", "create_data.py")

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "demo" / "demo_stage1_perception.py"


def arguments(workspace) -> list[str]:
    predictions = workspace.write_json("predictions/planning.json", {}).parent
    return [
        str(CONFIG),
        "--predictions",
        str(predictions),
        "--set",
        f"data.root={workspace.tmp / 'nowhere'}",
        "--out",
        str(workspace.tmp / "out"),
    ]
