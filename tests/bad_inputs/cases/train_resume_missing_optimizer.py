"""tools/train.py --resume from a checkpoint without optimizer.pt (the Trainer would restart Adam silently)."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("optimizer.pt", "missing", "checkpoint-2")


def arguments(workspace) -> list[str]:
    config = workspace.train_config()
    workspace.checkpoint("out/checkpoint-2", omit=("optimizer.pt",))
    return [str(config), "--resume"]
