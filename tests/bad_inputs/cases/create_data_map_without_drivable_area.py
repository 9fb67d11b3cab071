"""tools/create_data.py nuscenes with a map expansion file that lacks its drivable_area layer."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("boston-seaport.json", "'drivable_area'")


def arguments(workspace) -> list[str]:
    root = workspace.nuscenes(map_without=("drivable_area",))
    return ["nuscenes", "--data-root", str(root), "--version", "v1.0-case", "--out", str(workspace.tmp / "infos")]
