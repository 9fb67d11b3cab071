"""tools/train.py given a run's experiment.json instead of the Python config file."""

TOOL = "train"
EXIT_CODE = 2
MESSAGE = ("experiment.json", "expected a Python file", "build()")


def arguments(workspace) -> list[str]:
    return [str(workspace.write_json("runs/x/experiment.json", {"name": "x", "train": {"learning_rate": 1e-4}}))]
