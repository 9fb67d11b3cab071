"""tools/create_data.py nuscenes with a map expansion file that lacks its lane layer."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("boston-seaport.json", "'lane'", "scene-0001")


def arguments(workspace) -> list[str]:
    return workspace.create_data_argv(map_without=("lane",))
