"""tools/eval.py --predictions with a folder holding plan.json and lane.json, names the evaluator does not know."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("plan.json", "lane.json", "planning.json", "lanes.json")


def arguments(workspace) -> list[str]:
    records = [workspace.info_record("s0")]
    infos = workspace.write_infos("x_infos_val.json", records)
    workspace.write_planning("predictions/planning.json", records)
    workspace.write_planning("predictions/plan.json", records)
    workspace.write_json("predictions/lane.json", {"s0": []})
    return workspace.eval_argv(infos)
