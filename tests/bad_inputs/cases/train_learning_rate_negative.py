"""tools/train.py --set train.learning_rate=-1: refused with the config checks, before the run folder exists."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("train.learning_rate must be > 0", "-1")


def arguments(workspace) -> list[str]:
    return [str(workspace.train_config()), "--set", "train.learning_rate=-1"]
