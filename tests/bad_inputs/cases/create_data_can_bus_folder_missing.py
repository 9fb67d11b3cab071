"""tools/create_data.py --can-bus naming a folder without the expansion's can_bus/ folder."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("--can-bus", "can_bus", "does not exist")


def arguments(workspace) -> list[str]:
    expansion = workspace.write_text("expansion/README.txt", "the CAN bus files are not here").parent
    return [
        "nuscenes",
        "--data-root",
        str(workspace.tmp / "nuscenes"),
        "--version",
        "v1.0-mini",
        "--out",
        str(workspace.tmp / "infos"),
        "--can-bus",
        str(expansion),
    ]
