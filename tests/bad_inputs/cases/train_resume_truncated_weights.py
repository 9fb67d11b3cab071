"""tools/train.py --resume from a checkpoint whose model.safetensors was cut short."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("model.safetensors", "truncated")


def arguments(workspace) -> list[str]:
    config = workspace.train_config()
    workspace.checkpoint("out/checkpoint-2", truncate=("model.safetensors",))
    return [str(config), "--resume"]
