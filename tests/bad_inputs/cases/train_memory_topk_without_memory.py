"""tools/train.py --set model.task.memory_topk=4 without a memory size: refused naming the memory settings."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("memory_topk", "memory_size > 0")


def arguments(workspace) -> list[str]:
    return [str(workspace.train_config()), "--set", "model.task.memory_topk=4"]
