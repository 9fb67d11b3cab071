"""Every tool command in the README is written as its tool parses it, and names files that exist.

The commands that need GPUs or datasets cannot run here; what can be checked without them is
checked: each ``python tools/X.py …`` (also behind ``torchrun`` / ``deepspeed``) goes through the
tool's own argument parser, and every ``configs/`` or ``tools/`` path it names exists. ``make
demo`` / ``make test`` run in CI as written.
"""

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"


def readme_commands() -> list[list[str]]:
    """The tools/*.py invocations of the README's bash blocks, continuation lines joined, comments dropped."""
    commands = []
    variables = {}
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if len(words) == 1 and "=" in words[0]:
                name, value = words[0].split("=", 1)
                variables[name] = value
                continue
            words = [re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], word) for word in words]
            tool = next((i for i, word in enumerate(words) if re.fullmatch(r"tools/\w+\.py", word)), None)
            if tool is not None:
                commands.append(words[tool:])
    return commands


def tool_parser_result(script: str, argv: list[str]):
    """Parse ``argv`` with the tool's own parser (``parse_args`` or ``build_parser``), without running it."""
    spec = importlib.util.spec_from_file_location(f"readme_tool_{Path(script).stem}", ROOT / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "parse_args"):
        return module.parse_args(argv)
    return module.build_parser().parse_args(argv)


COMMANDS = readme_commands()


def test_the_readme_names_the_tools_it_documents():
    assert {command[0] for command in COMMANDS} >= {
        "tools/create_data.py",
        "tools/train.py",
        "tools/eval.py",
        "tools/export.py",
    }


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(command)[:60] for command in COMMANDS])
def test_each_readme_command_parses_and_names_existing_repository_files(command):
    script, argv = command[0], command[1:]
    assert (ROOT / script).is_file(), f"README runs {script}, which does not exist"
    named = [word for word in argv if word.startswith(("configs/", "tools/"))]
    missing = [word for word in named if not (ROOT / word.split("=", 1)[-1]).exists()]
    for word in argv:
        if "=configs/" in word:
            value = word.split("=", 1)[1]
            if not (ROOT / value).exists():
                missing.append(value)
    assert not missing, f"README command {' '.join(command)} names missing files {missing}"
    try:
        tool_parser_result(script, argv)
    except SystemExit as error:  # argparse rejected the command line
        pytest.fail(f"README command {' '.join(command)} is refused by its parser (exit {error.code})")
