"""tools/eval.py --infos naming an info file whose boxes carry a miscased class name ("Car")."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("x_infos_val.json", "s1: 'Car'", "unknown class name")


def arguments(workspace) -> list[str]:
    records = [workspace.info_record("s0"), workspace.info_record("s1", gt_names=["Car"])]
    infos = workspace.write_infos("x_infos_val.json", records)
    workspace.write_planning("predictions/planning.json", records)
    return workspace.eval_argv(infos)
