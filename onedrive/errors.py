"""One way to report bad input, shared by the tools and the loading API.

``InputError`` is what the library raises for input that a user gave and got wrong (a
file, a key, a value, an argument): its message names what was expected and what
arrived. ``run_tool`` runs a tool's ``main``: bad input prints ``error: <message>``
alone on stderr and exits with code 2; a traceback is printed only with ``--debug`` on
the command line or ``ONEDRIVE_DEBUG=1`` in the environment. Anything else (a bug) keeps
Python's traceback and exit code 1.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from onedrive.extras import MissingExtraError

DEBUG_FLAG = "--debug"
DEBUG_ENV = "ONEDRIVE_DEBUG"
BAD_INPUT_EXIT_CODE = 2


class InputError(ValueError):
    """Input a user gave is wrong; the message names the culprit (file, key, sample) and what was expected."""


# Errors that mean the input or the installation is wrong, not the code: the library's own, the file system's for a
# path the user named, the ValueErrors with which the library (and json, numpy) reject values, and a missing extra
# (its message names the pip command).
BAD_INPUT_ERRORS = (
    InputError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    MissingExtraError,
)


def debug_requested(argv: list[str]) -> bool:
    return DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def run_tool(main: Callable[[list[str]], Any], argv: list[str] | None = None) -> int:
    """Run ``main(argv)`` (``--debug`` removed from argv); return its exit code.

    Bad input (``BAD_INPUT_ERRORS``): ``error: <message>`` on stderr and 2, or the traceback first when debugging.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(argv)
    argv = [arg for arg in argv if arg != DEBUG_FLAG]
    try:
        result = main(argv)
    except BAD_INPUT_ERRORS as error:
        if debug:
            traceback.print_exc()
        message = str(error) if not isinstance(error, OSError) or not error.filename else _os_message(error)
        print(f"error: {message}", file=sys.stderr)
        if not debug:
            print(f"(run with {DEBUG_FLAG} or {DEBUG_ENV}=1 for the traceback)", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    return result if isinstance(result, int) else 0


def _os_message(error: OSError) -> str:
    return f"{error.strerror or error}: {error.filename}"
