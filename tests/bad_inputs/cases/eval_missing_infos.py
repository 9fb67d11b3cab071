"""tools/eval.py --infos naming a file that does not exist."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("nowhere.json",)


def arguments(workspace) -> list[str]:
    workspace.write_json("predictions/planning.json", {"token": {"trajectory": [[1.0, 0.0]] * 6}})
    return workspace.eval_argv(workspace.tmp / "nowhere.json")
