"""tools/train.py --resume from a checkpoint without rng_state.pth (dropout and shuffling would not replay)."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("rng_state.pth", "missing")


def arguments(workspace) -> list[str]:
    config = workspace.train_config()
    workspace.checkpoint("out/checkpoint-2", omit=("rng_state.pth",))
    return [str(config), "--resume"]
