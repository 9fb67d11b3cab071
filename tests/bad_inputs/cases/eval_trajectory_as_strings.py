"""tools/eval.py --predictions with trajectory numbers written as strings ("2.5")."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("planning.json", "not strings", "['s0']")


def arguments(workspace) -> list[str]:
    records = [workspace.info_record("s0")]
    infos = workspace.write_infos("x_infos_val.json", records)
    workspace.write_json(
        "predictions/planning.json", {"s0": {"trajectory": [[str(x), str(y)] for x, y in records[0]["ego_fut_traj"]]}}
    )
    return workspace.eval_argv(infos)
