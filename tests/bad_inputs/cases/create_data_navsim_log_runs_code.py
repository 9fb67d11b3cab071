"""tools/create_data.py navsim on a crafted log whose unpickling would call os.system."""

import os
import pickle

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("crafted.pkl", "refused to load posix.system", "numpy arrays")


class RunsCode:
    def __reduce__(self):
        return os.system, ("true",)


def arguments(workspace) -> list[str]:
    log = workspace.tmp / "navsim" / "navsim_logs" / "test" / "crafted.pkl"
    log.parent.mkdir(parents=True)
    log.write_bytes(pickle.dumps([{"token": RunsCode()}]))
    tokens = workspace.write_text("navtest_tokens.txt", "a" * 16 + "\n")  # a token list as the scene filter
    return [
        "navsim",
        "--data-root",
        str(workspace.tmp / "navsim"),
        "--logs",
        "test",
        "--scene-filter",
        str(tokens),
        "--out",
        str(workspace.tmp / "infos"),
    ]
