"""tools/create_data.py --openlane naming a pickle that would call os.system when unpickled."""

TOOL = "create_data"
EXIT_CODE = 2
MESSAGE = ("evil.pkl", "system", "only dicts, lists, strings, numbers and numpy arrays")

# A pickle stream calling os.system("touch pwned") (protocol 0, written by hand so no object is needed).
RUNS_CODE = b"cos\nsystem\n(S'touch pwned'\ntR."


def arguments(workspace) -> list[str]:
    evil = workspace.write_bytes("evil.pkl", RUNS_CODE)
    return workspace.create_data_argv("--openlane", str(evil))
