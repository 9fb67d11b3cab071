"""tools/train.py --resume from a checkpoint whose optimizer.pt was cut short."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("optimizer.pt", "truncated")


def arguments(workspace) -> list[str]:
    config = workspace.train_config()
    workspace.checkpoint("out/checkpoint-2", truncate=("optimizer.pt",))
    return [str(config), "--resume"]
