"""tools/train.py with data.streaming on and data.qa_mode=all (several items per frame): refused by the config checks."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("data.streaming needs one item per frame", "qa_mode='all'")


def arguments(workspace) -> list[str]:
    return [str(workspace.train_config()), "--set", "data.streaming=true", "--set", "data.qa_mode=all"]
