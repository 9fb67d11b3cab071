"""tools/create_data.py nuscenes with a map expansion file that lacks its lane layer."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("boston-seaport.json", "'lane'", "scene-0001")


def arguments(workspace) -> list[str]:
    root = workspace.nuscenes(map_without=("lane",))
    return ["nuscenes", "--data-root", str(root), "--version", "v1.0-case", "--out", str(workspace.tmp / "infos")]
