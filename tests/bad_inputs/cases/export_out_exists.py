"""tools/export.py --out naming a folder that exists, without --overwrite."""

TOOL = "export"
EXIT_CODE = 2
MESSAGE = ("exported exists", "--overwrite")


def arguments(workspace) -> list[str]:
    out = workspace.write_text("exported/README.md", "an earlier export").parent
    return [str(workspace.tmp / "run" / "checkpoint-9"), "--out", str(out)]
