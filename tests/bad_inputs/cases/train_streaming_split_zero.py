"""tools/train.py --set data.streaming=true --set data.seq_split_num=0: refused by the config checks."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("data.seq_split_num must be >= 1", "got 0")


def arguments(workspace) -> list[str]:
    return [str(workspace.train_config()), "--set", "data.streaming=true", "--set", "data.seq_split_num=0"]
