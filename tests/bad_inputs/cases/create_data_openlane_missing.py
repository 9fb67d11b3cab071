"""tools/create_data.py --openlane naming a pickle that does not exist."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("--openlane", "data_dict_subset_B_val.pkl", "no such file")


def arguments(workspace) -> list[str]:
    return workspace.create_data_argv("--openlane", str(workspace.tmp / "OpenLane-V2" / "data_dict_subset_B_val.pkl"))
