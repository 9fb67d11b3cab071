"""tools/create_data.py nuscenes with a map expansion file that lacks its drivable_area layer."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("boston-seaport.json", "'drivable_area'")


def arguments(workspace) -> list[str]:
    return workspace.create_data_argv(map_without=("drivable_area",))
