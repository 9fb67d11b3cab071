"""tools/export.py on a checkpoint folder that does not exist."""

TOOL = "export"
EXIT_CODE = 2
MESSAGE = ("checkpoint-9", "not a folder")


def arguments(workspace) -> list[str]:
    return [str(workspace.tmp / "run" / "checkpoint-9"), "--out", str(workspace.tmp / "exported")]
