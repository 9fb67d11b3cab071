"""Atomic file writing (an interrupted run never leaves a half-written file) and JSON reading.

The content goes to a temporary file in the destination folder, is flushed to disk,
then moved over the destination with ``os.replace`` (atomic on POSIX and Windows when
both paths are on one file system). Reading refuses an object that gives a key twice
(Python's ``json`` would keep the last copy silently). Shared by data conversion,
evaluation, inference and the tools.

Temporary files and folders are created private (``tempfile``: 0600 / 0700); before
they take the destination's name they get the modes a plain ``open`` / ``mkdir`` would
give (0666 / 0777 minus the process's umask), so colleagues sharing a dataset or a run
folder can read what was written (``apply_umask``, ``apply_umask_tree``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from onedrive.errors import InputError


def umask() -> int:
    """The process's file-creation mask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike) -> None:
    """Give ``path`` the mode ``open`` / ``mkdir`` would: 0666 (files) or 0777 (folders) minus the umask."""
    base = 0o777 if os.path.isdir(path) else 0o666
    os.chmod(path, base & ~umask())


def apply_umask_tree(folder: str | os.PathLike) -> None:
    """``apply_umask`` on ``folder`` and everything under it (a staged folder before it is moved into place)."""
    apply_umask(folder)
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            apply_umask(os.path.join(root, name))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (parent folders created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        apply_umask(handle.name)
        os.replace(handle.name, path)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise
    return path


def parse_json(text: str, where: str) -> Any:
    """The JSON document in ``text``; malformed JSON or an object with a key twice raise ``InputError`` naming
    ``where`` (a file, a file and line). Python's ``json`` would keep the last copy of a key silently."""
    try:
        return json.loads(text, object_pairs_hook=lambda pairs: _unique_keys(pairs, where))
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: not valid JSON ({error})") from error


def _unique_keys(pairs: list[tuple[str, Any]], where: str) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        twice = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise InputError(f"{where}: key(s) {twice[:5]} appear twice in one object; each key must be given once")
    return document


def read_json(path: str | os.PathLike) -> Any:
    """The JSON document in ``path``; malformed JSON, a duplicated key or non-UTF-8 bytes raise ``InputError``
    naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from error
    return parse_json(text, str(path))


def write_json_atomic(path: str | os.PathLike, document: Any) -> Path:
    """Write ``document`` as compact JSON to ``path`` atomically; return the path.

    NaN and infinity are refused (JSON has no such numbers and readers would choke on
    them): ``ValueError`` naming the path, and the destination is left untouched.
    """
    try:
        text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot write {path} as JSON: {error}") from error
    return write_text_atomic(path, text)
