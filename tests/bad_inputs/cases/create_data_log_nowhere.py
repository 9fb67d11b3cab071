"""tools/create_data.py nuscenes on a scene whose log_token points at no log."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("scene scene-0001", "log_token", "log-9", "log.json")


def arguments(workspace) -> list[str]:
    return workspace.create_data_argv(log="log-9")
