"""tools/create_data.py --openlane naming a pickle that does not exist."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("--openlane", "data_dict_subset_B_val.pkl", "no such file")


def arguments(workspace) -> list[str]:
    root = workspace.nuscenes()
    missing = workspace.tmp / "OpenLane-V2" / "data_dict_subset_B_val.pkl"
    return [
        "nuscenes",
        "--data-root",
        str(root),
        "--version",
        "v1.0-case",
        "--out",
        str(workspace.tmp / "infos"),
        "--openlane",
        str(missing),
    ]
