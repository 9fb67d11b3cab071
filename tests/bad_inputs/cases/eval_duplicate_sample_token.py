"""tools/eval.py --predictions with a planning.json giving one sample token twice (json would keep the last copy)."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("planning.json", "['s0']", "twice")


def arguments(workspace) -> list[str]:
    records = [workspace.info_record("s0"), workspace.info_record("s1")]
    infos = workspace.write_infos("x_infos_val.json", records)
    entry = '{"trajectory": ' + str(records[0]["ego_fut_traj"]) + "}"
    workspace.write_text("predictions/planning.json", '{"s0": ' + entry + ', "s1": ' + entry + ', "s0": ' + entry + "}")
    return workspace.eval_argv(infos)
