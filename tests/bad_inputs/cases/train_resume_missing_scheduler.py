"""tools/train.py --resume CHECKPOINT without scheduler.pt (the learning-rate schedule would start over)."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("scheduler.pt", "missing")


def arguments(workspace) -> list[str]:
    config = workspace.train_config()
    checkpoint = workspace.checkpoint("elsewhere/checkpoint-7", omit=("scheduler.pt",))
    return [str(config), "--resume", str(checkpoint)]
