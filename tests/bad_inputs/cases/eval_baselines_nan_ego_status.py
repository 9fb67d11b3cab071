"""tools/eval.py CONFIG --baselines where the evaluation split's info file has NaN in a sample's ego_status."""

TOOL = "eval"
EXIT_CODE = 2
MESSAGE = ("nuscenes_infos_synthetic_val.json", "sample 's1'", "ego_status holds NaN")


def arguments(workspace) -> list[str]:
    records = [
        workspace.info_record("s0"),
        workspace.info_record("s1", ego_status=[float("nan"), 0.0, 0.0, 0.0, 0.0, 5.0]),
    ]
    workspace.write_infos("infos/nuscenes_infos_synthetic_val.json", records)
    workspace.write_infos("infos/nuscenes_infos_synthetic_train.json", [workspace.info_record("t0")], split="train")
    workspace.write_planning("predictions/planning.json", records)
    return workspace.eval_config_argv(
        "--baselines",
        "--set",
        f"data.infos_dir={workspace.tmp / 'infos'}",
        "--set",
        f"data.root={workspace.tmp}",
        "--num-plots",
        "0",
    )
