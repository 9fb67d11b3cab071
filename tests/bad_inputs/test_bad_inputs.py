"""Every case in ``cases/``: the tool exits with the case's code and its message holds the case's words."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from onedrive.errors import run_tool

HERE = Path(__file__).parent
TOOLS = HERE.parents[1] / "tools"
CASES = sorted((HERE / "cases").glob("*.py"))


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case_path", CASES, ids=[path.stem for path in CASES])
def test_bad_input(case_path: Path, workspace, capsys, monkeypatch):
    monkeypatch.delenv("ONEDRIVE_DEBUG", raising=False)
    case = load_module(case_path, f"bad_input_case_{case_path.stem}")
    argv = case.arguments(workspace)
    tool = load_module(TOOLS / f"{case.TOOL}.py", f"tool_{case.TOOL}")
    code = run_tool(tool.main, argv)
    stderr = capsys.readouterr().err
    assert code == case.EXIT_CODE, f"{case_path.stem}: exit {code}, expected {case.EXIT_CODE}; stderr:\n{stderr}"
    if case.EXIT_CODE == 2:
        assert "Traceback" not in stderr, f"{case_path.stem}: bad input printed a traceback:\n{stderr}"
    missing = [word for word in case.MESSAGE if word.lower() not in stderr.lower()]
    assert not missing, f"{case_path.stem}: message lacks {missing}:\n{stderr}"


def test_there_are_cases():
    assert CASES, "tests/bad_inputs/cases/ holds no case"
