"""tools/create_data.py nuscenes on a scene whose log_token points at no log."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("scene scene-0001", "log_token", "log-9", "log.json")


def arguments(workspace) -> list[str]:
    root = workspace.nuscenes(log="log-9")
    return ["nuscenes", "--data-root", str(root), "--version", "v1.0-case", "--out", str(workspace.tmp / "infos")]
