"""tools/create_data.py navsim given the split name navtest as the log folder (its logs are in test/)."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("navsim_logs/navtest", "does not exist")


def arguments(workspace) -> list[str]:
    workspace.write_text("navsim_logs/test/README", "logs go here\n")
    scene_filter = workspace.write_text("navtest.txt", "some-token\n")
    return [
        "navsim",
        "--data-root",
        str(workspace.tmp),
        "--logs",
        "navtest",
        "--scene-filter",
        str(scene_filter),
        "--out",
        str(workspace.tmp / "out"),
    ]
