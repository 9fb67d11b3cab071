"""tools/eval.py CONFIG --predictions P where the config's info file of the evaluation split does not exist."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("nuscenes_infos_synthetic_val.json", "not found", "create_data.py")


def arguments(workspace) -> list[str]:
    workspace.write_json("predictions/planning.json", {})
    return workspace.eval_config_argv("--set", f"data.root={workspace.tmp / 'nowhere'}")
