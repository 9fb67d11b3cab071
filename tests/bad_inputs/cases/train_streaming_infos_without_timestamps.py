"""tools/train.py --set data.streaming=true on an info file whose records lack scene_token / timestamp: refused
by the config checks (before any model is built), naming the record and the keys."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("data.streaming orders frames by scene_token and timestamp", "record 't0'", "'timestamp'")


def arguments(workspace) -> list[str]:
    return [str(workspace.train_config()), "--set", "data.streaming=true"]
